import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { TestbedError } from './errors';
import {
  type Daemon,
  processesWithArgument,
  run,
  spawnDaemon,
  stopProcessGroup,
  terminateProcesses,
  waitUntilReady,
} from './process';
import { type RunningServer, startOnLoopback } from './server';
import { createTestPki } from './tls';

/** Everything a test needs to reach a running test DC; plain data, safe to pass to workers. */
export interface SambaDcInfo {
  /** Loopback address the DC alone listens on (LDAP 389, LDAPS 636, Kerberos 88, DNS 53, SMB 445). */
  address: string;
  ldapsUrl: string;
  ldapUrl: string;
  dnsPort: number;
  realm: string;
  domain: string;
  /** e.g. `DC=invis,DC=test` */
  baseDN: string;
  adminDN: string;
  adminUPN: string;
  adminPassword: string;
  /** PEM file of the CA that signed the DC's certificate (SAN has the address). */
  caFile: string;
  caPem: string;
  smbConf: string;
  /** krb5.conf whose KDC is this DC, for real clients: `KRB5_CONFIG=<file> kinit user@INVIS.TEST`. */
  krb5Conf: string;
  /** Instance directory (private/, etc/, log/, run/). */
  dir: string;
  /** File holding the pid (= process group) of the running `samba`. */
  pidFile: string;
  /** Whether the schema may be extended over LDAP (`dsdb:schema update allowed`). */
  schemaUpdates: boolean;
}

/** A running Samba AD DC started by the testbed; `readyMs` = spawn to readable rootDSE over LDAPS. */
export type SambaDc = RunningServer<SambaDcInfo>;

export interface SambaDcOptions {
  /** Allow schema extensions over LDAP (`dsdb:schema update allowed = true`). */
  schemaUpdates?: boolean;
}

export const TEST_REALM = 'INVIS.TEST';
export const TEST_DOMAIN = 'INVIS';
export const TEST_ADMIN_PASSWORD = 'Adm1n!Testbed-Pass2026';
const TEMPLATE_VERSION = 1;

async function sambaVersion(): Promise<string> {
  return (await run('samba', ['--version'])).trim().replace(/[^\w.-]+/g, '_');
}

/**
 * Provisions a DC once per machine and Samba version into a cached template
 * (`$TMPDIR/invis-testbed/samba-template-*`); later calls reuse it. Provisioning takes ~4 s,
 * restoring a copy ~0.2 s. Concurrent callers serialise on a lock directory.
 */
async function ensureTemplate(): Promise<string> {
  const root = join(tmpdir(), 'invis-testbed');
  await mkdir(root, { recursive: true });
  const template = join(root, `samba-template-v${TEMPLATE_VERSION}-${await sambaVersion()}`);
  if (existsSync(join(template, 'READY'))) return template;
  const lock = `${template}.lock`;
  for (let i = 0; ; i++) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (existsSync(join(template, 'READY'))) return template;
      if (i > 1200) throw new TestbedError('TESTBED_LOCKED', `stale lock ${lock}; remove it`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    if (existsSync(join(template, 'READY'))) return template;
    const staging = `${template}.tmp-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    const dc = join(staging, 'dc');
    await mkdir(dc, { recursive: true });
    await run('samba-tool', [
      'domain',
      'provision',
      `--targetdir=${dc}`,
      `--realm=${TEST_REALM}`,
      `--domain=${TEST_DOMAIN}`,
      '--server-role=dc',
      '--dns-backend=SAMBA_INTERNAL',
      '--use-rfc2307',
      `--adminpass=${TEST_ADMIN_PASSWORD}`,
      '--host-name=dc1',
      '--option=interfaces=lo',
      '--option=bind interfaces only=yes',
    ]);
    // Relaxed for tests: a user may change a fresh password at once; passwords never expire.
    await run('samba-tool', [
      'domain',
      'passwordsettings',
      'set',
      '-s',
      join(dc, 'etc', 'smb.conf'),
      '--min-pwd-age=0',
      '--max-pwd-age=0',
    ]);
    await writeFile(join(staging, 'TEMPLATE_DIR'), staging);
    await writeFile(join(staging, 'READY'), new Date().toISOString());
    await rm(template, { recursive: true, force: true });
    await rename(staging, template);
    return template;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function renderSmbConf(
  templateConf: string,
  paths: { templateDcDir: string; dcDir: string; dir: string },
  address: string,
  pki: { certFile: string; keyFile: string; caFile: string },
): string {
  const { dir } = paths;
  const lines = templateConf
    .split(paths.templateDcDir)
    .join(paths.dcDir)
    .split('\n')
    // The provision copies the host resolver as forwarder; a test DC must never ask outside.
    .filter(
      (l) => !/^\s*(dns forwarder|interfaces|bind interfaces only|server services|log file|tls \w+file)\s*=/.test(l),
    );
  const globalAt = lines.findIndex((l) => /^\s*\[global\]\s*$/.test(l));
  const settings = [
    `interfaces = ${address}/32`,
    'bind interfaces only = yes',
    `pid directory = ${dir}/run`,
    `ncalrpc dir = ${dir}/ncalrpc`,
    `ntp signd socket directory = ${dir}/ntp_signd`,
    `winbindd socket directory = ${dir}/winbindd`,
    `log file = ${dir}/log/log.%m`,
    // An explicit list: the relative "-dns" syntax would re-enable compiled-in defaults.
    'server services = s3fs rpc ldap cldap kdc drepl winbindd dns',
    // Above Linux's ephemeral port range so a client socket can never block the DC's start.
    'rpc server dynamic port range = 61000-61999',
    `tls keyfile = ${pki.keyFile}`,
    `tls certfile = ${pki.certFile}`,
    `tls cafile = ${pki.caFile}`,
  ].map((s) => `\t${s}`);
  lines.splice(globalAt + 1, 0, ...settings);
  return lines.join('\n');
}

/** Starts `samba -i -M single` for an instance dir and waits for LDAPS. Used for start and restart. */
export async function launchSamba(
  info: SambaDcInfo,
  detachFromThisProcess = false,
): Promise<{ daemon: Daemon; readyMs: number }> {
  const args = ['-i', '-M', 'single', '-s', info.smbConf];
  if (info.schemaUpdates) args.push('--option=dsdb:schema update allowed = true');
  // smbd maps a logon's SIDs to unix ids through winbindd, but libwbclient only looks in the
  // compiled-in /run/samba/winbindd ("winbindd socket directory" moves the server side only), so
  // SMB session setup failed with NT_STATUS_INTERNAL_ERROR. Each DC runs in its own mount
  // namespace in which that path is its own winbindd directory.
  const wb = '/run/samba/winbindd';
  const inNamespace = `mkdir -p ${wb} && mount --bind "$0" ${wb} && exec samba "$@"`;
  const daemon = spawnDaemon(
    'samba',
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', inNamespace, join(info.dir, 'winbindd'), ...args],
    join(info.dir, 'log', 'samba.stdout'),
    { detachFromThisProcess },
  );
  await writeFile(info.pidFile, String(daemon.pid));
  const readyMs = await waitUntilReady(daemon, () => rootDseReadable(info), 60_000);
  return { daemon, readyMs };
}

async function rootDseReadable(info: SambaDcInfo): Promise<boolean> {
  const client = new Client({
    url: info.ldapsUrl,
    tlsOptions: { ca: info.caPem },
    connectTimeout: 1000,
    timeout: 2000,
  });
  try {
    const { searchEntries } = await client.search('', { scope: 'base', attributes: ['dnsHostName'] });
    return searchEntries.length === 1;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** Stops the DC whose pid is in `info.pidFile` (works from any process, e.g. after a restart in a worker). */
export async function stopSambaByPidFile(info: SambaDcInfo, graceMs = 5000): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(info.pidFile, 'utf8')).trim());
  } catch {
    pid = 0;
  }
  if (pid) await stopProcessGroup(pid, graceMs);
  // smbd starts samba-dcerpcd and its rpcd_* workers on demand in a new session, outside the
  // group; they carry this instance's unique smb.conf path in their arguments.
  await terminateProcesses(processesWithArgument(info.smbConf));
}

/**
 * Restarts a running test DC in place (same address, data and certificate), e.g. to test
 * reconnects. Callable from a test worker: the new process outlives the worker and is
 * stopped by the owner's `stop()`.
 */
export async function restartSambaDc(info: SambaDcInfo): Promise<number> {
  await stopSambaByPidFile(info);
  return (await launchSamba(info, true)).readyMs;
}

/**
 * Starts a fresh Samba AD DC (realm INVIS.TEST, RFC2307) on its own loopback address,
 * restored from the provisioned template, with a test CA whose certificate has the
 * address in its SAN. Requires root and the packages from tooling/testbed/system-packages.txt.
 */
export async function startSambaDc(options: SambaDcOptions = {}): Promise<SambaDc> {
  const template = await ensureTemplate();
  const templateDir = (await readFile(join(template, 'TEMPLATE_DIR'), 'utf8')).trim();
  return startOnLoopback('samba', async ({ dir, address }) => {
    const pki = await createTestPki(join(dir, 'pki'), {
      commonName: 'dc1.invis.test',
      dnsNames: ['dc1.invis.test', 'invis.test', 'localhost'],
      ipAddresses: [address],
    });
    await cp(join(template, 'dc'), join(dir, 'dc'), { recursive: true });
    for (const d of ['run', 'log', 'ncalrpc', 'winbindd']) await mkdir(join(dir, d), { recursive: true });
    await mkdir(join(dir, 'ntp_signd'), { mode: 0o750 });
    const smbConf = join(dir, 'dc', 'etc', 'smb.conf');
    const templateConf = await readFile(join(template, 'dc', 'etc', 'smb.conf'), 'utf8');
    await writeFile(
      smbConf,
      renderSmbConf(
        templateConf,
        { templateDcDir: join(templateDir, 'dc'), dcDir: join(dir, 'dc'), dir },
        address,
        pki,
      ),
    );
    const krb5Conf = join(dir, 'krb5.conf');
    await writeFile(
      krb5Conf,
      `[libdefaults]\n\tdefault_realm = ${TEST_REALM}\n\tdns_lookup_kdc = false\n\tdns_lookup_realm = false\n` +
        `[realms]\n\t${TEST_REALM} = {\n\t\tkdc = ${address}\n\t\tadmin_server = ${address}\n\t}\n`,
    );
    const info: SambaDcInfo = {
      address,
      ldapsUrl: `ldaps://${address}:636`,
      ldapUrl: `ldap://${address}:389`,
      dnsPort: 53,
      realm: TEST_REALM,
      domain: TEST_DOMAIN,
      baseDN: 'DC=invis,DC=test',
      adminDN: 'CN=Administrator,CN=Users,DC=invis,DC=test',
      adminUPN: 'administrator@invis.test',
      adminPassword: TEST_ADMIN_PASSWORD,
      caFile: pki.caFile,
      caPem: pki.caPem,
      smbConf,
      krb5Conf,
      dir,
      pidFile: join(dir, 'run', 'testbed-samba.pid'),
      schemaUpdates: options.schemaUpdates ?? false,
    };
    const { daemon, readyMs } = await launchSamba(info);
    return {
      info,
      readyMs,
      async stop() {
        await daemon.stop();
        await stopSambaByPidFile(info);
      },
    };
  });
}
