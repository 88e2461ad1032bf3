// The unit table of the whole-server sandbox for Debian 12: how to run each service the way its
// systemd unit does, but in the foreground (there is no systemd in the sandbox). Each entry was
// read off /lib/systemd/system/<unit>.service (+ tmpfiles.d, /etc/default, init scripts) of the
// Debian 12 package; deviations are commented where they are.

/** A readiness probe, checked inside the server's namespaces. */
export type SandboxProbe =
  /** A TCP socket listening on this port (any address). */
  | { readonly tcp: number }
  /** A UDP socket bound to this port (any address). */
  | { readonly udp: number }
  /** This file exists (`%i` is the instance). */
  | { readonly file: string }
  /** The unit's main process listens on some TCP port — for a daemon whose port is the admin's choice (sshd). */
  | { readonly tcpByMain: true }
  /** This program exits 0 inside (systemd `Type=dbus`: the daemon answers on the bus). */
  | { readonly command: readonly string[] };

/** One step of a reload: a signal to the daemon's main process, or a program that must exit 0 (`%i` is the instance). */
export type SandboxReloadStep = { readonly signal: NodeJS.Signals } | { readonly argv: readonly string[] };

/** A directory made before start, like systemd's `RuntimeDirectory=` or a tmpfiles.d `d` line (the sandbox's /run is empty). */
export interface SandboxRuntimeDirectory {
  readonly path: string;
  /** Octal mode, default `0755`. */
  readonly mode?: string;
  /** `user:group`, default `root:root`. */
  readonly owner?: string;
}

/**
 * How the supervisor runs one unit. In a template unit (`openvpn@`) every `%i` in argv, env,
 * probes and paths is replaced by the instance (`openvpn@office` → `office`).
 */
export interface SandboxUnit {
  readonly description: string;
  /** The daemon in the foreground: it must not fork away, its pid is the unit's main pid. */
  readonly argv: readonly string[];
  /** Extra environment (systemd `Environment=`). */
  readonly env?: Readonly<Record<string, string>>;
  /** A `KEY=value` file read inside the sandbox at start, if it exists (systemd `EnvironmentFile=-`). */
  readonly environmentFile?: string;
  readonly runtimeDirectories?: readonly SandboxRuntimeDirectory[];
  /** Programs that must exit 0 before the start (systemd `ExecStartPre=`). */
  readonly preStart?: readonly (readonly string[])[];
  /** The steps of `reload` in order (systemd `ExecReload=`); none: the unit cannot reload, `reloadOrRestart` restarts. */
  readonly reload?: readonly SandboxReloadStep[];
  /** Start (and reload) succeed when every probe passes. */
  readonly ready: readonly SandboxProbe[];
  /** Whether the sandbox's integration test starts this entry for real; false = data only so far. */
  readonly proven: boolean;
}

/** Unit name (a template ends in `@`) → how to run it. */
export type SandboxUnitTable = Readonly<Record<string, SandboxUnit>>;

/**
 * The services of an invis server on Debian 12. `proven: true` entries are started, probed,
 * reloaded and stopped by `tooling/testbed/test/integration/sandbox.test.ts`; the others are
 * transcribed from the Debian units and wait for the setup modules that configure them.
 */
export const DEBIAN_12_UNITS: SandboxUnitTable = {
  ssh: {
    description: 'OpenBSD Secure Shell server',
    // -e: log to stderr (our log file) instead of syslog, which the sandbox has not got.
    argv: ['/usr/sbin/sshd', '-D', '-e'],
    runtimeDirectories: [{ path: '/run/sshd', mode: '0755' }],
    preStart: [['/usr/sbin/sshd', '-t']],
    reload: [{ argv: ['/usr/sbin/sshd', '-t'] }, { signal: 'SIGHUP' }],
    // Not port 22: invis-setup's ssh module moves sshd to a random port.
    ready: [{ tcpByMain: true }],
    proven: true,
  },
  chrony: {
    description: 'chrony NTP server',
    // -d: foreground, log to stderr. -x: never set the clock — the clock is not namespaced, a
    // sandboxed chronyd must not step the host's time (deviation from the unit).
    argv: ['/usr/sbin/chronyd', '-d', '-x', '-F', '1'],
    runtimeDirectories: [{ path: '/run/chrony', mode: '0700', owner: '_chrony:_chrony' }],
    ready: [{ udp: 323 }],
    proven: true,
  },
  named: {
    description: 'BIND 9 domain name server',
    // -g instead of -f: foreground with logging to stderr (no syslog); -u bind from /etc/default/named.
    argv: ['/usr/sbin/named', '-g', '-u', 'bind'],
    runtimeDirectories: [{ path: '/run/named', mode: '0775', owner: 'root:bind' }],
    reload: [{ argv: ['/usr/sbin/rndc', 'reload'] }],
    // 953: the rndc channel that reload needs comes up after :53.
    ready: [{ tcp: 53 }, { udp: 53 }, { tcp: 953 }],
    proven: true,
  },
  // Proven with setup's firewall module by apps/setup's whole-server test. Debian's unit runs
  // `--address=systemd: --systemd-activation --syslog-only`; here the socket comes from system.conf
  // (/run/dbus/system_bus_socket) and the log goes to stderr (no systemd, no syslog).
  dbus: {
    description: 'D-Bus System Message Bus',
    argv: ['/usr/bin/dbus-daemon', '--system', '--nofork', '--nopidfile'],
    runtimeDirectories: [{ path: '/run/dbus', mode: '0755' }],
    ready: [{ file: '/run/dbus/system_bus_socket' }],
    proven: false,
  },
  // Needs the dbus unit. Type=dbus: ready when firewall-cmd gets an answer on the bus.
  firewalld: {
    description: 'firewalld - dynamic firewall daemon',
    argv: ['/usr/sbin/firewalld', '--nofork', '--nopid', '--log-target', 'console'],
    reload: [{ signal: 'SIGHUP' }],
    ready: [{ command: ['/usr/bin/firewall-cmd', '--state'] }],
    proven: false,
  },
  // Not proven yet: needs a provisioned domain (setup's samba_ad module). The daemon itself is
  // proven by startSambaDc on loopback.
  'samba-ad-dc': {
    description: 'Samba AD Domain Controller',
    argv: ['/usr/sbin/samba', '--foreground', '--no-process-group'],
    runtimeDirectories: [{ path: '/run/samba', mode: '0755' }],
    reload: [{ signal: 'SIGHUP' }],
    ready: [{ tcp: 389 }, { tcp: 636 }],
    proven: false,
  },
  // Not proven yet: waits for setup's dhcp module. Debian runs Kea as _kea with ambient
  // capabilities; here it runs as root (nothing to drop to without systemd's capability set).
  // Kea needs KEA_PIDFILE_DIR and KEA_LOCKFILE_DIR pointing at existing directories.
  'kea-dhcp4-server': {
    description: 'Kea IPv4 DHCP daemon',
    argv: ['/usr/sbin/kea-dhcp4', '-c', '/etc/kea/kea-dhcp4.conf'],
    env: { KEA_PIDFILE_DIR: '/run/kea', KEA_LOCKFILE_DIR: '/run/lock/kea' },
    // RuntimeDirectory=kea lock/kea, StateDirectory=kea (the lease file), LogsDirectory=kea.
    runtimeDirectories: [
      { path: '/run/kea', mode: '0755', owner: '_kea:_kea' },
      { path: '/run/lock/kea', mode: '0755', owner: '_kea:_kea' },
      { path: '/var/lib/kea', mode: '0755', owner: '_kea:_kea' },
      { path: '/var/log/kea', mode: '0750', owner: '_kea:_kea' },
    ],
    // The Debian unit has no ExecReload: reloadOrRestart restarts (use the control socket's config-reload).
    ready: [{ file: '/run/kea/kea-dhcp4.kea-dhcp4.pid' }],
    proven: false,
  },
  // Not proven yet. From /etc/init.d/isc-dhcp-server: config test, lease file, pid in
  // /run/dhcp-server; INTERFACESv4 is the sandbox server's LAN side, `intern`.
  'isc-dhcp-server': {
    description: 'ISC DHCP IPv4 server',
    argv: ['/usr/sbin/dhcpd', '-f', '-4', '-cf', '/etc/dhcp/dhcpd.conf', '-pf', '/run/dhcp-server/dhcpd.pid', 'intern'],
    runtimeDirectories: [{ path: '/run/dhcp-server', mode: '0755' }],
    preStart: [
      ['/usr/sbin/dhcpd', '-t', '-q', '-4', '-cf', '/etc/dhcp/dhcpd.conf'],
      ['touch', '/var/lib/dhcp/dhcpd.leases'],
    ],
    ready: [{ udp: 67 }],
    proven: false,
  },
  // Proven by setup's whole-mail test (mailserver module). Debian's postfix@- instance runs
  // `postmulti -p start` (forking); start-fg is the same master in the foreground — but master
  // calls setsid(), so a SIGTERM to the unit's group would miss it (and it keeps the log pipe
  // open): the shell stops it with `postfix stop` on SIGTERM, and ends when start-fg ends.
  postfix: {
    description: 'Postfix Mail Transport Agent',
    argv: ['sh', '-c', 'trap "/usr/sbin/postfix stop; wait" TERM INT; /usr/sbin/postfix start-fg & wait'],
    preStart: [['/usr/sbin/postfix', 'check']],
    reload: [{ argv: ['/usr/sbin/postfix', 'reload'] }],
    ready: [{ tcp: 25 }],
    proven: false,
  },
  // Not proven yet: waits for setup's mailserver module.
  dovecot: {
    description: 'Dovecot IMAP/POP3 email server',
    argv: ['/usr/sbin/dovecot', '-F'],
    reload: [{ argv: ['/usr/bin/doveadm', 'reload'] }],
    ready: [{ file: '/run/dovecot/master.pid' }],
    proven: false,
  },
  // invis-setup's fetchmail.service (its fetchmail module): fetchmail as its own user in the
  // foreground, polling every minute; RuntimeDirectory=fetchmail holds the pid file.
  fetchmail: {
    description: 'invis fetchmail',
    argv: [
      'setpriv',
      '--reuid=fetchmail',
      '--regid=nogroup',
      '--init-groups',
      '--',
      '/usr/bin/fetchmail',
      '--nodetach',
      '--daemon',
      '60',
      '--nosyslog',
      '-f',
      '/etc/fetchmailrc',
      '--pidfile',
      '/run/fetchmail/fetchmail.pid',
    ],
    runtimeDirectories: [{ path: '/run/fetchmail', mode: '0755', owner: 'fetchmail:nogroup' }],
    ready: [{ file: '/run/fetchmail/fetchmail.pid' }],
    proven: false,
  },
  // Not proven yet: waits for setup's openvpn module. The unit's `--daemon ovpn-%i` is left out
  // (foreground); it has no ExecReload, so reloadOrRestart restarts like systemd would.
  'openvpn@': {
    description: 'OpenVPN connection to %i',
    argv: [
      '/usr/sbin/openvpn',
      '--status',
      '/run/openvpn/%i.status',
      '10',
      '--cd',
      '/etc/openvpn',
      '--config',
      '/etc/openvpn/%i.conf',
      '--writepid',
      '/run/openvpn/%i.pid',
    ],
    runtimeDirectories: [{ path: '/run/openvpn', mode: '0755' }],
    ready: [{ file: '/run/openvpn/%i.pid' }],
    proven: false,
  },
  // Debian's openvpn-server@.service (setup's openvpn module: invis-vpn, invis-site): WorkingDirectory
  // /etc/openvpn/server, status in the RuntimeDirectory; Type=notify is replaced by a pid file
  // (--writepid, a deviation) as the readiness sign, since the port is the answers' choice.
  'openvpn-server@': {
    description: 'OpenVPN service for %i',
    argv: [
      '/usr/sbin/openvpn',
      '--status',
      '/run/openvpn-server/status-%i.log',
      '--status-version',
      '2',
      '--suppress-timestamps',
      '--cd',
      '/etc/openvpn/server',
      '--config',
      '%i.conf',
      '--writepid',
      '/run/openvpn-server/%i.pid',
    ],
    runtimeDirectories: [{ path: '/run/openvpn-server', mode: '0755' }],
    ready: [{ file: '/run/openvpn-server/%i.pid' }],
    proven: false,
  },
  // invis-setup's invis-vpn-check.timer (its openvpn module): daily `invis-setup vpn check`.
  'invis-vpn-check.timer': {
    description: 'invis: VPN certificate check, daily',
    argv: ['sh', '-c', 'while sleep 86400; do /usr/bin/invis-setup vpn check; done'],
    ready: [],
    proven: false,
  },
  // invis-setup's invis-portal.service (its portal module), proven by apps/setup's whole-server
  // test: User=invis-portal (setpriv), LoadCredential= (0400 copies for the user, made before
  // start), ReadWritePaths=/var/lib/invis/portal. The port is the answers' choice.
  'invis-portal': {
    description: 'invis portal',
    argv: [
      'setpriv',
      '--reuid=invis-portal',
      '--regid=invis-portal',
      '--init-groups',
      '--',
      '/usr/bin/node',
      '/usr/lib/invis/portal/dist/main.js',
    ],
    environmentFile: '/etc/invis/portal.env',
    env: { CREDENTIALS_DIRECTORY: '/run/credentials/invis-portal.service' },
    runtimeDirectories: [
      { path: '/run/credentials', mode: '0755' },
      { path: '/run/credentials/invis-portal.service', mode: '0500', owner: 'invis-portal:root' },
      { path: '/var/lib/invis/portal', mode: '0750', owner: 'invis-portal:invis-portal' },
    ],
    preStart: [
      portalCredential('web-key', '/etc/invis/private/web-key.pem'),
      portalCredential('ldap-password', '/etc/invis/secrets/ad-invis-portal-admin'),
      portalCredential('mail-key', '/etc/invis/secrets/mail-key'),
    ],
    ready: [{ tcpByMain: true }],
    proven: false,
  },
  // invis-setup's invis-privileged.socket (its portal module): Accept=yes, one `invis-setup
  // privileged` per connection with the connection as stdin/stdout. systemd-socket-activate plays
  // the socket unit; it makes the socket 0644 root:root, so a helper sets SocketGroup= and
  // SocketMode= (root:invis-portal 0660) and only then marks the unit ready.
  'invis-privileged.socket': {
    description: 'invis: privileged requests of the portal',
    argv: [
      'sh',
      '-c',
      [
        'S=/run/invis/privileged.sock; rm -f "$S" "$S.ready"',
        '(while [ ! -S "$S" ]; do sleep 0.05; done; chgrp invis-portal "$S" && chmod 0660 "$S" && touch "$S.ready") &',
        'exec systemd-socket-activate --accept --inetd -l "$S" /usr/bin/invis-setup privileged',
      ].join('\n'),
    ],
    runtimeDirectories: [{ path: '/run/invis', mode: '0755' }],
    ready: [{ file: '/run/invis/privileged.sock.ready' }],
    proven: false,
  },
  // invis-setup's invis-webmail-php.service (its webmail module): PHP-FPM's own master (root)
  // with Roundcube's pool; Type=notify is replaced by the socket as the readiness sign.
  'invis-webmail-php': {
    description: 'invis webmail (PHP-FPM for Roundcube)',
    argv: ['/usr/sbin/php-fpm8.2', '--nodaemonize', '--fpm-config', '/etc/invis/webmail/php-fpm.conf'],
    runtimeDirectories: [{ path: '/run/invis-webmail', mode: '0755' }],
    reload: [{ signal: 'SIGUSR2' }],
    ready: [{ file: '/run/invis-webmail/php.sock' }],
    proven: false,
  },
  // invis-setup's invis-webmail.service (its webmail module): nginx in the foreground on the
  // answers' port, ExecStartPre's `nginx -t` as preStart.
  'invis-webmail': {
    description: 'invis webmail (nginx with the portal as forward authentication)',
    argv: ['/usr/sbin/nginx', '-c', '/etc/invis/webmail/nginx.conf', '-g', 'daemon off;'],
    runtimeDirectories: [{ path: '/run/invis-webmail-nginx', mode: '0755' }],
    preStart: [['/usr/sbin/nginx', '-t', '-q', '-c', '/etc/invis/webmail/nginx.conf']],
    reload: [{ signal: 'SIGHUP' }],
    ready: [{ tcpByMain: true }],
    proven: false,
  },
  // invis-setup's invis-homes-sync.timer (its fileserver module): every minute `invis-setup sync homes`.
  'invis-homes-sync.timer': {
    description: 'invis: home and profile folders, every minute',
    argv: ['sh', '-c', 'while sleep 60; do /usr/bin/invis-setup sync homes; done'],
    ready: [],
    proven: false,
  },
  // invis-setup's invis-mail-sync.timer (its fetchmail module): every two minutes `invis-setup sync mail`.
  'invis-mail-sync.timer': {
    description: 'invis: mail accounts from the directory, every two minutes',
    argv: ['sh', '-c', 'while sleep 120; do /usr/bin/invis-setup sync mail; done'],
    ready: [],
    proven: false,
  },
  // invis-setup's invis-dhcp-sync.timer (its dhcp module): every minute `invis-setup sync dhcp`.
  'invis-dhcp-sync.timer': {
    description: 'invis: DHCP reservations from the directory, every minute',
    argv: ['sh', '-c', 'while sleep 60; do /usr/bin/invis-setup sync dhcp; done'],
    ready: [],
    proven: false,
  },
  // invis-setup's mailfilter module. Debian's unit runs rspamd as User=_rspamd; started as root
  // it drops to -u/-g itself. First start compiles its regexp and TLD caches (10–20 s).
  rspamd: {
    description: 'rapid spam filtering system',
    argv: ['/usr/bin/rspamd', '-c', '/etc/rspamd/rspamd.conf', '-f', '-u', '_rspamd', '-g', '_rspamd'],
    runtimeDirectories: [{ path: '/run/rspamd', mode: '0755', owner: '_rspamd:_rspamd' }],
    reload: [{ signal: 'SIGHUP' }],
    // The milter (11332) and the scanning worker it hands messages to (11333).
    ready: [{ tcp: 11332 }, { tcp: 11333 }],
    proven: false,
  },
  // Debian's clamav-daemon.service runs `clamd --foreground=true` behind clamav-daemon.socket;
  // here clamd opens /run/clamav/clamd.ctl itself (LocalSocket in clamd.conf). The unit's
  // ConditionPathExistsGlob (main/daily databases) is left out: tests use a local signature set.
  'clamav-daemon': {
    description: 'Clam AntiVirus userspace daemon',
    argv: ['/usr/sbin/clamd', '--foreground=true'],
    runtimeDirectories: [{ path: '/run/clamav', mode: '0755', owner: 'clamav:clamav' }],
    reload: [{ signal: 'SIGUSR2' }],
    ready: [{ file: '/run/clamav/clamd.ctl' }],
    proven: false,
  },
  // invis-setup's invis-signatures.timer (its mailfilter module): `invis-setup signatures` every two hours.
  'invis-signatures.timer': {
    description: 'invis: ClamAV signature update every two hours',
    argv: ['sh', '-c', 'while sleep 7200; do /usr/bin/invis-setup signatures; done'],
    ready: [],
    proven: false,
  },
  // invis-setup's webdav module. Debian's unit runs `apachectl start` (forking) with the values of
  // /etc/apache2/envvars; here apache2 in the foreground with those values, the folders apachectl
  // makes, and `apachectl graceful`'s steps as the reload (config test, then SIGUSR1).
  apache2: {
    description: 'The Apache HTTP Server',
    argv: ['/usr/sbin/apache2', '-DFOREGROUND'],
    env: {
      APACHE_RUN_USER: 'www-data',
      APACHE_RUN_GROUP: 'www-data',
      APACHE_PID_FILE: '/run/apache2/apache2.pid',
      APACHE_RUN_DIR: '/run/apache2',
      APACHE_LOCK_DIR: '/run/lock/apache2',
      APACHE_LOG_DIR: '/var/log/apache2',
      LANG: 'C',
    },
    runtimeDirectories: [
      { path: '/run/apache2', mode: '0755' },
      { path: '/run/lock/apache2', mode: '0755', owner: 'www-data:www-data' },
    ],
    preStart: [['/usr/sbin/apachectl', 'configtest']],
    reload: [{ argv: ['/usr/sbin/apachectl', 'configtest'] }, { signal: 'SIGUSR1' }],
    // The port is the answers' choice (webdav.port); Debian's default site adds :80.
    ready: [{ tcpByMain: true }],
    proven: false,
  },
  // invis-setup's nfs module. Debian's unit runs ganesha.nfsd with OPTIONS from
  // /etc/default/nfs-ganesha (`-L /var/log/ganesha/ganesha.log -f /etc/ganesha/ganesha.conf -N
  // NIV_EVENT`), forking; here in the foreground (-F), logging to stderr (the supervisor's log).
  'nfs-ganesha': {
    description: 'NFS-Ganesha file server',
    argv: [
      '/usr/bin/ganesha.nfsd',
      '-F',
      '-L',
      'STDERR',
      '-f',
      '/etc/ganesha/ganesha.conf',
      '-N',
      'NIV_EVENT',
      '-p',
      '/run/ganesha/ganesha.pid',
    ],
    // RuntimeDirectory=ganesha; the fs recovery backend keeps client state in /var/lib/nfs/ganesha.
    runtimeDirectories: [
      { path: '/run/ganesha', mode: '0755' },
      { path: '/var/lib/nfs/ganesha', mode: '0755' },
    ],
    reload: [{ signal: 'SIGHUP' }],
    ready: [{ tcp: 2049 }],
    proven: false,
  },
  // invis-setup's invis-backup.timer (its backup module): daily `invis-backup run`.
  'invis-backup.timer': {
    description: 'invis: daily backup',
    argv: ['sh', '-c', 'while sleep 86400; do /usr/bin/invis-backup run; done'],
    ready: [],
    proven: false,
  },
  // Debian's cups.service runs `cupsd -l` (socket activation, Type=notify); without systemd to
  // hand it sockets, -f: foreground with its own Listen lines. tmpfiles.d makes /run/cups root:lp.
  // The unit has no ExecReload: reloadOrRestart restarts, as systemd would.
  cups: {
    description: 'CUPS Scheduler',
    argv: ['/usr/sbin/cupsd', '-f'],
    runtimeDirectories: [{ path: '/run/cups', mode: '0755', owner: 'root:lp' }],
    ready: [{ file: '/run/cups/cups.sock' }, { tcp: 631 }],
    proven: false,
  },
  // invis-setup's housekeeping timers (its housekeeping module): daily `invis-setup housekeeping run`.
  'invis-housekeeping-transfer.timer': {
    description: 'invis: daily housekeeping of the transfer folder',
    argv: ['sh', '-c', 'while sleep 86400; do /usr/bin/invis-setup housekeeping run transfer; done'],
    ready: [],
    proven: false,
  },
  'invis-housekeeping-recycle.timer': {
    description: 'invis: daily housekeeping of the recycle bins',
    argv: ['sh', '-c', 'while sleep 86400; do /usr/bin/invis-setup housekeeping run recycle; done'],
    ready: [],
    proven: false,
  },
};

/** systemd's LoadCredential= for the portal: a 0400 copy its user reads. */
function portalCredential(name: string, source: string): readonly string[] {
  return ['install', '-m', '0400', '-o', 'invis-portal', '--', source, `/run/credentials/invis-portal.service/${name}`];
}
