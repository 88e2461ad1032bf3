// Production entry: `node dist/main.js`, configured by PORTAL_* environment variables (env.ts).
import { readFile } from 'node:fs/promises';
import { createAdClient } from '@invis/ad-client';
import { createAdBackend } from '@invis/dns-zone';
import { createExecaRunner, createNodeFs, createSystemdServiceManager } from '@invis/host';
import { createMailDirectoryStore, parseSecretKey } from '@invis/mail-rewrite';
import { createPki } from '@invis/ovpn-pki';
import { composePortal } from './compose';
import { loadEnv } from './env';
import { PortalError } from './errors';
import { adComputerAccounts, adDhcpReservations, createHostManager, type HostManager, leaseFileSource } from './hosts';
import { createMailAccounts, type MailAccounts } from './mail-accounts';
import { probeMailLogin } from './mail-probe';
import { readSecretFile } from './secrets';
import { createPrivilegedClient, runPrivilegedSync } from './services';
import { createTransfer, type Transfer } from './transfer';
import { createPrivilegedVpnRevoker, createVpnRevoker, type VpnRevoker } from './vpn';
import { createVpnBundles, privilegedVpnAuthority, type VpnBundles } from './vpn-bundles';

const settings = loadEnv();
const password = await readSecretFile(settings.PORTAL_LDAP_PASSWORD_FILE);
const ad = createAdClient({
  url: settings.PORTAL_LDAP_URL,
  ...(settings.PORTAL_LDAP_BIND.includes('=')
    ? { bindDN: settings.PORTAL_LDAP_BIND }
    : { upn: settings.PORTAL_LDAP_BIND }),
  password,
  ...(settings.PORTAL_LDAP_CA_FILE ? { ca: await readFile(settings.PORTAL_LDAP_CA_FILE) } : {}),
});

// With a VPN PKI, disabling or deleting a user first revokes their certificates; a PKI that cannot
// be read then refuses the change (PORTAL_VPN_REVOCATION_FAILED) instead of leaving them valid.
let vpn: VpnRevoker | undefined;
let vpnBundles: VpnBundles | undefined;
const runner = createExecaRunner();
// An installed server: root's PKI and the setup syncs through setup's privileged socket.
const privileged = settings.PORTAL_PRIVILEGED_SOCKET
  ? createPrivilegedClient({ socket: settings.PORTAL_PRIVILEGED_SOCKET })
  : undefined;
if (privileged && settings.PORTAL_VPN_PRIVILEGED) {
  vpn = createPrivilegedVpnRevoker(privileged);
  vpnBundles = createVpnBundles({
    authority: privilegedVpnAuthority(privileged),
    selfService: settings.PORTAL_VPN_SELF_SERVICE,
  });
} else if (settings.PORTAL_PKI_DIR) {
  const pki = createPki({ dir: settings.PORTAL_PKI_DIR });
  // A mistyped directory would otherwise refuse every disable and delete much later.
  if (!(await pki.isInitialized())) {
    throw new PortalError('PORTAL_CONFIG', `PORTAL_PKI_DIR ${settings.PORTAL_PKI_DIR} holds no CA (ca.crt)`);
  }
  const crlFile = settings.PORTAL_VPN_CRL_FILE ? { crlFile: settings.PORTAL_VPN_CRL_FILE } : {};
  vpn = createVpnRevoker({ pki, ...crlFile });
  // Bundles need to know the server they dial: setup's openvpn module (remote, port, tls-crypt-v2 key).
  const { PORTAL_VPN_REMOTE: remote, PORTAL_VPN_PORT: port } = settings;
  const v2 = settings.PORTAL_VPN_TLS_CRYPT_V2_KEY;
  const v1 = settings.PORTAL_VPN_TLS_CRYPT_KEY;
  if (remote && port && (v1 || v2)) {
    vpnBundles = createVpnBundles({
      pki,
      ...crlFile,
      selfService: settings.PORTAL_VPN_SELF_SERVICE,
      server: {
        remote,
        port,
        serverName: settings.PORTAL_VPN_SERVER_NAME ?? remote,
        tls: v2
          ? { kind: 'tls-crypt-v2', serverKeyFile: v2 }
          : { kind: 'tls-crypt', key: await readSecretFile(v1 as string) },
      },
    });
  }
}
// The transfer area of mobilusers members, its uploads scanned by the named scanner.
const transfer: Transfer | undefined = settings.PORTAL_TRANSFER_DIR
  ? createTransfer({
      root: settings.PORTAL_TRANSFER_DIR,
      maxUploadBytes: settings.PORTAL_TRANSFER_MAX_MB * 1_048_576,
      scanner: settings.PORTAL_TRANSFER_SCANNER,
      ...(settings.PORTAL_TRANSFER_CLAMAV_DB ? { clamavDb: settings.PORTAL_TRANSFER_CLAMAV_DB } : {}),
      quarantineDir: settings.PORTAL_TRANSFER_QUARANTINE_DIR,
      runner,
    })
  : undefined;
// DNS records: the AD zones, which BIND serves through its DLZ module. Hosts when the LAN is set:
// their reservations go to the directory, and starting the setup's sync pushes them into the
// running Kea (config-reload, no restart); without the unit its one-minute timer does.
const dns = createAdBackend({ client: ad });
let hosts: HostManager | undefined;
if (settings.PORTAL_LAN_SUBNET) {
  const services = createSystemdServiceManager({ runner });
  const syncUnit = settings.PORTAL_DHCP_SYNC_UNIT;
  hosts = createHostManager({
    computers: adComputerAccounts(ad),
    dhcp: adDhcpReservations(ad),
    dns,
    zone: settings.PORTAL_DNS_ZONE ?? (await ad.domain()).dnsDomain,
    subnet: settings.PORTAL_LAN_SUBNET,
    leases: leaseFileSource(settings.PORTAL_DHCP_LEASE_FILE),
    ...(privileged
      ? { push: () => runPrivilegedSync(privileged, 'dhcp') }
      : syncUnit
        ? { push: () => services.start(syncUnit) }
        : {}),
  });
}
// Users' own mail accounts when the server has the mail key (passwords sealed in the directory).
let mail: MailAccounts | undefined;
if (settings.PORTAL_MAIL_KEY_FILE) {
  const key = parseSecretKey(await readSecretFile(settings.PORTAL_MAIL_KEY_FILE));
  const services = createSystemdServiceManager({ runner });
  const mailSync = settings.PORTAL_MAIL_SYNC_UNIT;
  mail = createMailAccounts({
    store: createMailDirectoryStore({ directory: ad.invis.mail, users: ad.users, key }),
    fs: createNodeFs(),
    presenceFile: settings.PORTAL_MAIL_PRESENCE_FILE,
    localDomain: settings.PORTAL_MAIL_DOMAIN ?? (await ad.domain()).dnsDomain,
    sync: async () => {
      if (privileged) await runPrivilegedSync(privileged, 'mail');
      else if (mailSync) await services.start(mailSync);
    },
    probe: probeMailLogin,
  });
}
const running = await composePortal(settings, {
  ad,
  runner,
  dns,
  ...(hosts ? { hosts } : {}),
  ...(vpn ? { vpn } : {}),
  ...(vpnBundles ? { vpnBundles } : {}),
  ...(transfer ? { transfer } : {}),
  ...(mail ? { mail } : {}),
  ...(privileged ? { foldersSync: () => runPrivilegedSync(privileged, 'homes') } : {}),
});
console.log(`invis portal listening on ${running.url}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void running.close().then(async () => {
      await ad.close();
      process.exit(0);
    });
  });
}
