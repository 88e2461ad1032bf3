// Platform profiles: every path, unit and package name that differs between distributions,
// as data in one place. Modules read these, never a literal path of their own.
import type { HostFs } from '@invis/host';
import { SetupError } from './errors';

/** Paths, units and packages of one platform. */
export interface PlatformProfile {
  /** `debian-12`, `debian-13`. */
  id: string;
  /** For people: `Debian 12 (bookworm)`. */
  name: string;
  /** Packages each module needs installed (checked by the `check` module, installed by the admin). */
  packages: Readonly<Record<string, readonly string[]>>;
  ssh: { unit: string; sshd: string; dropInDir: string };
  chrony: { unit: string; chronyd: string; confDir: string };
  network: {
    sysctlDir: string;
    resolvConf: string;
    /** How the LAN address is configured; see the README for why Debian uses ifupdown. */
    stack: 'ifupdown';
    interfacesDir: string;
  };
  /** The internal CA (`ca` module): the PKI store and where certificates are deployed for the services. */
  ca: { pkiDir: string; certsDir: string; privateDir: string; statusFile: string };
  samba: {
    unit: string;
    config: string;
    /** The folder of the signing socket (Samba's `ntp signd socket directory`). */
    ntpSigndSocket: string;
    sambaTool: string;
    testparm: string;
    /** Every folder the DC writes; named in smb.conf, so a staging root can hold a whole DC. */
    dirs: {
      private: string;
      state: string;
      lock: string;
      cache: string;
      bindDns: string;
      pid: string;
      ncalrpc: string;
      winbindd: string;
      log: string;
    };
  };
  bind: {
    unit: string;
    config: string;
    checkconf: string;
    /** BIND's working folder (`directory`). */
    cacheDir: string;
    /** Folder of the pid and session-key files. */
    runDir: string;
    /** The DDNS TSIG key file BIND includes (0640 root:`group`). */
    ddnsKey: string;
    /** Samba's DLZ module for this BIND version. */
    dlzModule: string;
    group: string;
  };
  kea: {
    unit: string;
    config: string;
    keaDhcp4: string;
    controlSocket: string;
    leaseFile: string;
  };
  dhcpd: { unit: string; config: string; dhcpd: string };
  firewalld: { unit: string; configDir: string; firewallCmd: string; offlineCmd: string };
  systemd: { unitDir: string; analyze: string };
  /** How systemd units start invis-setup itself (the DHCP sync and DDNS timers). */
  setupCommand: readonly string[];
  /** Status files the portal's status page reads. */
  spool: { inetcheck: string };
  /** OpenVPN (`openvpn` module): the VPN PKI, Debian's `openvpn-server@` instances, the connect check. */
  openvpn: {
    /** The VPN's @invis/ovpn-pki store (the portal's PORTAL_PKI_DIR). */
    pkiDir: string;
    /** Debian's `openvpn-server@<name>` reads `<serverDir>/<name>.conf`. */
    serverDir: string;
    /** CA, server certificate and key, tls-crypt-v2 key and the CRL OpenVPN reads (crl.pem: the portal's PORTAL_VPN_CRL_FILE). */
    keysDir: string;
    /** The site server's client-config-dir (one iroute entry per branch). */
    ccdDir: string;
    unitTemplate: string;
    /** Config names: road-warrior and site server. */
    roadWarrior: string;
    site: string;
    openvpn: string;
    /** The group OpenVPN drops to; it may read the connect check's LDAP password copy. */
    group: string;
    /** Folder of that copy (0750 root:group). */
    configDir: string;
    /** What OpenVPN runs at every road-warrior connect. */
    connectCommand: readonly string[];
    /** Expiry warnings go out through it when it is installed. */
    sendmail: string;
    /** Postfix's maildrop, where sendmail leaves the mail. */
    maildrop: string;
  };
  /** Background jobs' state files (`@invis/host` recordJobRun), read by the portal's status page. */
  jobsDir: string;
  ddns: { stateDir: string };
  portal: {
    unit: string;
    user: string;
    /** `/etc/invis/portal.env`: the PORTAL_* environment. */
    envFile: string;
    /** Folder of the LDAP password file (0750 root:invis-portal). */
    configDir: string;
    dataDir: string;
    /** Node.js ≥ 22.19 and the installed portal. */
    execStart: readonly string[];
  };
  /**
   * The file server (`fileserver` module): the invis share layout, homes, Samba's share file and the
   * tools that set ownership and ACLs. Other modules (webdav, nfs, print, backup) read the layout here.
   */
  shares: {
    /** `/srv/shares`: every share folder lives below it. */
    root: string;
    aktuell: string;
    archiv: string;
    projektarchiv: string;
    sicherungen: string;
    archivUser: string;
    archivGruppen: string;
    /** Parent of the per-group folders `gruppen/<group>`. */
    gruppen: string;
    media: string;
    verzeichnisvorlagen: string;
    /** Parent of `downloads` and `uploads` (per user below them). */
    portal: string;
    portalDownloads: string;
    portalUploads: string;
    /** Roaming profiles, `profiles/<user>` (Windows adds `.V6` etc.). */
    profiles: string;
    service: string;
    transfer: string;
    verwaltung: string;
    /** Parent of the home folders (`/home/<user>`, RFC2307 `unixHomeDirectory`). */
    homes: string;
    /** The share file included from smb.conf. */
    sharesConfig: string;
    /** Parent of `<domain>/scripts` (the `netlogon` share is `<sysvol>/<domain>/scripts`). */
    sysvol: string;
    smbcontrol: string;
    setfacl: string;
    getfacl: string;
  };
  /** Postfix, Dovecot, fetchmail and the mail store (`mailserver` and `fetchmail` modules). */
  mail: {
    postfix: { unit: string; configDir: string; postfix: string; postmap: string; postconf: string };
    dovecot: { unit: string; configDir: string; doveconf: string; doveadm: string; sievec: string };
    /** The system user that owns every Maildir; its home is the store (`<home>/<account>`). */
    vmail: { user: string; home: string };
    fetchmail: { unit: string; rc: string; user: string; stateDir: string; fetchmail: string };
    /** The mail module's state folder (presence and vacation are in the portal's data folder, `mail-presence.json`). */
    stateDir: string;
  };
  /** `backup` module and `invis-backup`: restic, what is saved and where the run leaves its traces. */
  backup: {
    /** The timer and service `invis-backup` (daily). */
    unit: string;
    /** How the service starts invis-backup. */
    command: readonly string[];
    restic: string;
    /** restic's cache (index and pack headers; not secret: the repository is encrypted). */
    cacheDir: string;
    /** Consistent copies made before restic runs: the AD offline backup, the portal database (0700, root). */
    stagingDir: string;
    /** Touched at the end of a successful run: the portal's "last backup" (`PORTAL_BACKUP_STAMP_FILE`). */
    stampFile: string;
    /**
     * invis's own state (CA, PKI, portal, jobs, DDNS, staging), saved whole. The other data folders
     * (shares, homes, Maildirs, …) and every configuration path under /etc come from the rest of
     * the profile, so a new module's paths are saved without an edit here.
     */
    stateRoot: string;
    /**
     * The server's own ssh key for an `sftp:` target (ed25519, 0600, made by apply; its `.pub`
     * goes into the target's authorized_keys) and the target's host key, pinned at first contact.
     */
    sshKey: string;
    knownHosts: string;
    ssh: string;
    sshKeygen: string;
  };
  /** The print server (`print` module): CUPS and Samba's printer shares. */
  print: {
    unit: string;
    cupsd: string;
    lpadmin: string;
    lpstat: string;
    /** The scheduler's configuration setup renders whole. */
    cupsdConfig: string;
    /** CUPS's file/permission configuration (left as the package ships it; the checker reads it). */
    filesConfig: string;
    /** The Samba include with `[printers]` and `[print$]`. */
    sambaConfig: string;
    /** `[printers]`: where smbd spools jobs before it hands them to CUPS (1777). */
    spoolDir: string;
    /** `[print$]`: Windows printer drivers for Point and Print. */
    driversDir: string;
    /** The PPD of the virtual PDF printer (printer-driver-cups-pdf). */
    cupsPdfPpd: string;
    /** Where CUPS keeps each queue's PPD (`<name>.ppd`); a queue without one has no driver. */
    ppdDir: string;
  };
  /** WebDAV access to the shares (`webdav` module): Apache 2.4 in Debian's layout. */
  webdav: {
    unit: string;
    apache2: string;
    /** The folder of Debian's enabled sites; setup's site is a file of its own there. */
    sitesDir: string;
    site: string;
    modulesDir: string;
    /** Apache's user (Debian's `APACHE_RUN_USER`). */
    user: string;
    /** An empty folder: the site's DocumentRoot, so nothing but /dav/<share> is served. */
    documentRoot: string;
    /** Name of mod_dav_fs's lock database below `${APACHE_LOCK_DIR}`. */
    lockName: string;
    /** Prefix of the site's logs below `${APACHE_LOG_DIR}`. */
    logName: string;
    /** Prints the bind password to Apache (`AuthLDAPBindPassword exec:`). */
    cat: string;
  };
  /** NFSv4 (`nfs` module): the export root, kernel nfsd's and nfs-ganesha's files, the keytab. */
  nfs: {
    /** The NFSv4 pseudo root (`fsid=0`) with `home` and `shares` bind-mounted below it. */
    root: string;
    exports: string;
    ganeshaUnit: string;
    ganeshaConfig: string;
    keytab: string;
    klist: string;
    /** Needed only with `nfs.enabled` (the module checks them then; `check` does not ask for them). */
    packages: readonly string[];
  };
  /** Housekeeping timers (`housekeeping` module, `invis-setup housekeeping run`). */
  housekeeping: {
    /** The recycle bin's folder inside a share (vfs_recycle `recycle:repository`). */
    recycleDir: string;
  };
  /** The spam and virus filter (`mailfilter` module): rspamd with ClamAV, and the signature updates. */
  mailfilter: {
    /** rspamd: only `local.d/` is setup's; Debian's files stay as shipped. */
    rspamd: { unit: string; config: string; localDir: string; rspamadm: string; rspamc: string };
    clamav: {
      /** clamd's unit (Debian: `clamav-daemon`). */
      unit: string;
      /** Debian's freshclam daemon, replaced by the signature timer. */
      freshclamUnit: string;
      config: string;
      freshclamConfig: string;
      socket: string;
      user: string;
      databaseDir: string;
      logDir: string;
      logFile: string;
      clamconf: string;
      freshclam: string;
    };
  };
}

const debianCommon = {
  packages: {
    check: ['iproute2'],
    ssh: ['openssh-server'],
    time: ['chrony'],
    network: ['ifupdown', 'procps'],
    samba_ad: ['samba', 'samba-ad-dc', 'samba-ad-provision', 'samba-dsdb-modules', 'winbind'],
    dns: ['bind9', 'bind9-utils'],
    firewall: ['firewalld'],
    dhcp: ['kea-dhcp4-server'],
    openvpn: ['openvpn'],
    mailserver: [
      'postfix',
      'postfix-lmdb',
      'postfix-ldap',
      'dovecot-imapd',
      'dovecot-lmtpd',
      'dovecot-ldap',
      'dovecot-sieve',
      'dovecot-managesieved',
    ],
    fetchmail: ['fetchmail'],
    // libnss-winbind: `[homes]` looks the share name up as a system user.
    fileserver: ['samba', 'acl', 'libnss-winbind'],
    // clamdscan: the portal's transfer uploads are scanned through the same clamd.
    mailfilter: ['rspamd', 'clamav', 'clamav-daemon', 'clamav-freshclam', 'clamdscan'],
    webdav: ['apache2'],
    print: ['cups', 'cups-client', 'cups-filters'],
    backup: ['restic', 'bzip2', 'tar', 'ldb-tools'],
  },
  ssh: { unit: 'ssh', sshd: '/usr/sbin/sshd', dropInDir: '/etc/ssh/sshd_config.d' },
  chrony: { unit: 'chrony', chronyd: '/usr/sbin/chronyd', confDir: '/etc/chrony/conf.d' },
  network: {
    sysctlDir: '/etc/sysctl.d',
    resolvConf: '/etc/resolv.conf',
    stack: 'ifupdown',
    interfacesDir: '/etc/network/interfaces.d',
  },
  ca: {
    pkiDir: '/var/lib/invis/ca',
    certsDir: '/etc/invis/certs',
    privateDir: '/etc/invis/private',
    statusFile: '/var/lib/invis/certs.json',
  },
  samba: {
    unit: 'samba-ad-dc',
    config: '/etc/samba/smb.conf',
    ntpSigndSocket: '/var/lib/samba/ntp_signd',
    sambaTool: '/usr/bin/samba-tool',
    testparm: '/usr/bin/testparm',
    dirs: {
      private: '/var/lib/samba/private',
      state: '/var/lib/samba',
      lock: '/var/lib/samba',
      cache: '/var/cache/samba',
      bindDns: '/var/lib/samba/bind-dns',
      pid: '/run/samba',
      ncalrpc: '/run/samba/ncalrpc',
      winbindd: '/run/samba/winbindd',
      log: '/var/log/samba',
    },
  },
  bind: {
    unit: 'named',
    config: '/etc/bind/named.conf',
    checkconf: '/usr/bin/named-checkconf',
    cacheDir: '/var/cache/bind',
    runDir: '/run/named',
    ddnsKey: '/etc/bind/invis-ddns.key',
    dlzModule: '/usr/lib/x86_64-linux-gnu/samba/bind9/dlz_bind9_18.so',
    group: 'bind',
  },
  kea: {
    unit: 'kea-dhcp4-server',
    config: '/etc/kea/kea-dhcp4.conf',
    keaDhcp4: '/usr/sbin/kea-dhcp4',
    controlSocket: '/run/kea/kea4-ctrl-socket',
    leaseFile: '/var/lib/kea/kea-leases4.csv',
  },
  dhcpd: { unit: 'isc-dhcp-server', config: '/etc/dhcp/dhcpd.conf', dhcpd: '/usr/sbin/dhcpd' },
  firewalld: {
    unit: 'firewalld',
    configDir: '/etc/firewalld',
    firewallCmd: '/usr/bin/firewall-cmd',
    offlineCmd: '/usr/bin/firewall-offline-cmd',
  },
  systemd: { unitDir: '/etc/systemd/system', analyze: '/usr/bin/systemd-analyze' },
  setupCommand: ['/usr/bin/invis-setup'],
  spool: { inetcheck: '/var/spool/results/inetcheck/inetcheck' },
  openvpn: {
    pkiDir: '/var/lib/invis/pki',
    serverDir: '/etc/openvpn/server',
    keysDir: '/etc/openvpn/server/invis',
    ccdDir: '/etc/openvpn/server/invis-ccd',
    unitTemplate: 'openvpn-server@',
    roadWarrior: 'invis-vpn',
    site: 'invis-site',
    openvpn: '/usr/sbin/openvpn',
    group: 'invis-vpn',
    configDir: '/etc/invis/openvpn',
    connectCommand: ['/usr/bin/invis-setup', 'vpn', 'connect'],
    sendmail: '/usr/sbin/sendmail',
    maildrop: '/var/spool/postfix/maildrop',
  },
  jobsDir: '/var/lib/invis/jobs',
  ddns: { stateDir: '/var/lib/invis/ddns' },
  portal: {
    unit: 'invis-portal',
    user: 'invis-portal',
    envFile: '/etc/invis/portal.env',
    configDir: '/etc/invis/portal',
    dataDir: '/var/lib/invis/portal',
    execStart: ['/usr/bin/node', '/usr/lib/invis/portal/dist/main.js'],
  },
  shares: {
    root: '/srv/shares',
    aktuell: '/srv/shares/aktuell',
    archiv: '/srv/shares/archiv',
    projektarchiv: '/srv/shares/archiv/projektarchiv',
    sicherungen: '/srv/shares/archiv/sicherungen',
    archivUser: '/srv/shares/archiv/user',
    archivGruppen: '/srv/shares/archiv/gruppen',
    gruppen: '/srv/shares/gruppen',
    media: '/srv/shares/media',
    verzeichnisvorlagen: '/srv/shares/media/portal/verzeichnisvorlagen',
    portal: '/srv/shares/portal',
    portalDownloads: '/srv/shares/portal/downloads',
    portalUploads: '/srv/shares/portal/uploads',
    profiles: '/srv/shares/profiles',
    service: '/srv/shares/service',
    transfer: '/srv/shares/transfer',
    verwaltung: '/srv/shares/verwaltung',
    homes: '/home',
    sharesConfig: '/etc/samba/smb.shares.conf',
    sysvol: '/var/lib/samba/sysvol',
    smbcontrol: '/usr/bin/smbcontrol',
    setfacl: '/usr/bin/setfacl',
    getfacl: '/usr/bin/getfacl',
  },
  mail: {
    postfix: {
      unit: 'postfix',
      configDir: '/etc/postfix',
      postfix: '/usr/sbin/postfix',
      postmap: '/usr/sbin/postmap',
      postconf: '/usr/sbin/postconf',
    },
    dovecot: {
      unit: 'dovecot',
      configDir: '/etc/dovecot',
      doveconf: '/usr/bin/doveconf',
      doveadm: '/usr/bin/doveadm',
      sievec: '/usr/bin/sievec',
    },
    vmail: { user: 'vmail', home: '/var/vmail' },
    fetchmail: {
      unit: 'fetchmail',
      rc: '/etc/fetchmailrc',
      user: 'fetchmail',
      stateDir: '/var/lib/fetchmail',
      fetchmail: '/usr/bin/fetchmail',
    },
    stateDir: '/var/lib/invis/mail',
  },
  backup: {
    unit: 'invis-backup',
    command: ['/usr/bin/invis-backup'],
    restic: '/usr/bin/restic',
    cacheDir: '/var/cache/invis/restic',
    stagingDir: '/var/lib/invis/backup',
    stampFile: '/var/spool/results/backup/last',
    stateRoot: '/var/lib/invis',
    sshKey: '/etc/invis/backup/id_ed25519',
    knownHosts: '/etc/invis/backup/known_hosts',
    ssh: '/usr/bin/ssh',
    sshKeygen: '/usr/bin/ssh-keygen',
  },
  print: {
    unit: 'cups',
    cupsd: '/usr/sbin/cupsd',
    lpadmin: '/usr/sbin/lpadmin',
    lpstat: '/usr/bin/lpstat',
    cupsdConfig: '/etc/cups/cupsd.conf',
    filesConfig: '/etc/cups/cups-files.conf',
    sambaConfig: '/etc/samba/smb.printers.conf',
    spoolDir: '/var/spool/samba',
    driversDir: '/var/lib/samba/printers',
    cupsPdfPpd: '/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd',
    ppdDir: '/etc/cups/ppd',
  },
  webdav: {
    unit: 'apache2',
    apache2: '/usr/sbin/apache2',
    sitesDir: '/etc/apache2/sites-enabled',
    site: 'invis-webdav.conf',
    modulesDir: '/usr/lib/apache2/modules',
    user: 'www-data',
    documentRoot: '/var/lib/invis/webdav',
    lockName: 'invis-webdav-lock',
    logName: 'invis-webdav',
    cat: '/usr/bin/cat',
  },
  nfs: {
    root: '/srv/nfs4_base',
    exports: '/etc/exports',
    ganeshaUnit: 'nfs-ganesha',
    ganeshaConfig: '/etc/ganesha/ganesha.conf',
    keytab: '/etc/krb5.keytab',
    klist: '/usr/bin/klist',
    packages: ['nfs-ganesha', 'nfs-ganesha-vfs', 'krb5-user'],
  },
  housekeeping: { recycleDir: '.recycle' },
  mailfilter: {
    rspamd: {
      unit: 'rspamd',
      config: '/etc/rspamd/rspamd.conf',
      localDir: '/etc/rspamd/local.d',
      rspamadm: '/usr/bin/rspamadm',
      rspamc: '/usr/bin/rspamc',
    },
    clamav: {
      unit: 'clamav-daemon',
      freshclamUnit: 'clamav-freshclam',
      config: '/etc/clamav/clamd.conf',
      freshclamConfig: '/etc/clamav/freshclam.conf',
      socket: '/run/clamav/clamd.ctl',
      user: 'clamav',
      databaseDir: '/var/lib/clamav',
      logDir: '/var/log/clamav',
      logFile: '/var/log/clamav/clamav.log',
      clamconf: '/usr/bin/clamconf',
      freshclam: '/usr/bin/freshclam',
    },
  },
} as const satisfies Omit<PlatformProfile, 'id' | 'name'>;

/** Every known platform, keyed `<os-release ID>-<VERSION_ID>`. openSUSE Leap is one more entry. */
export const PROFILES: Readonly<Record<string, PlatformProfile>> = {
  'debian-12': { id: 'debian-12', name: 'Debian 12 (bookworm)', ...debianCommon },
  'debian-13': {
    id: 'debian-13',
    name: 'Debian 13 (trixie)',
    ...debianCommon,
    // BIND 9.20 needs the DLZ module built for it.
    bind: { ...debianCommon.bind, dlzModule: '/usr/lib/x86_64-linux-gnu/samba/bind9/dlz_bind9_20.so' },
  },
};

/**
 * Parses `/etc/os-release` (KEY=value lines, values optionally quoted).
 * @param text the file
 * @returns its keys and values
 */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match?.[1]) continue;
    out[match[1]] = (match[2] ?? '').replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

/**
 * The profile of the machine (or staging root) whose `/etc/os-release` `fs` reads.
 * @param fs the (rooted) file system
 * @returns the profile
 * @throws SetupError `SETUP_UNKNOWN_OS` when the file is missing or names an unsupported system
 */
export async function detectProfile(fs: HostFs): Promise<PlatformProfile> {
  const text = (await fs.readFileIfExists('/etc/os-release')) ?? (await fs.readFileIfExists('/usr/lib/os-release'));
  if (text === undefined) {
    throw new SetupError('SETUP_UNKNOWN_OS', 'no /etc/os-release: cannot tell which system this is');
  }
  const release = parseOsRelease(text);
  const key = `${release.ID ?? '?'}-${(release.VERSION_ID ?? '?').split('.')[0]}`;
  const profile = PROFILES[key];
  if (!profile) {
    throw new SetupError(
      'SETUP_UNKNOWN_OS',
      `unsupported system ${release.PRETTY_NAME ?? key}; supported: ${Object.values(PROFILES)
        .map((p) => p.name)
        .join(', ')}`,
      { details: { id: release.ID ?? '', versionId: release.VERSION_ID ?? '' } },
    );
  }
  return profile;
}
