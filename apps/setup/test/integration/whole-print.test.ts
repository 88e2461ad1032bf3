// Print server and housekeeping in the whole-server sandbox (issue 17): `invis-setup init
// --answers whole-print.yaml` and `apply` of the print and housekeeping modules (with what they
// and the firewall depend on) inside the testbed's sandbox, then real clients: an AD user prints
// with smbclient from the LAN through Samba's [printers] into CUPS's virtual PDF printer, the CUPS
// pages answer the LAN but not the WAN, a network printer on the LAN (a CUPS that speaks IPP
// Everywhere, as a printer does) is added driverless and prints what a Windows user sends through
// Samba, and `invis-setup housekeeping run` cleans a transfer folder without following a user's
// symbolic link.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Daemon, type ServerSandbox, spawnDaemon } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, setupCli, startWholeServer, type WholeServer } from '../../demo/whole-server';

const ANSWERS = join(import.meta.dirname, 'whole-print.yaml');
const SERVER = '192.168.220.10';
const WAN_SERVER = '198.51.100.2';
const LAN_CLIENT = '192.168.220.61';
const PASSWORD = 'Pr1nt-Server-Test-1';
/** A TCP connect from a client namespace: prints `open` or the error code (ECONNREFUSED, TIMEOUT, …). */
const CONNECT = `const s = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
s.setTimeout(3000, () => { console.log('TIMEOUT'); process.exit(0); });
s.on('connect', () => { console.log('open'); process.exit(0); });
s.on('error', (e) => { console.log(e.code); process.exit(0); });`;

/**
 * A network printer on the LAN client: a CUPS of its own that shares one queue over IPP (CUPS
 * answers IPP Everywhere's attribute queries, which ippeveprinter would too but it needs Avahi),
 * printing into a file. Returns the daemon and the file the jobs land in.
 */
async function startLanPrinter(sandbox: ServerSandbox): Promise<LanPrinter> {
  // Its own folder, 0755: CUPS's filters run as lp and read the spool below it (the test's temp
  // folder is 0700 and holds the password files).
  const root = await mkdtemp(join(tmpdir(), 'setup-lan-printer-'));
  await chmod(root, 0o755);
  for (const sub of ['conf', 'spool', 'cache', 'state', 'log']) await mkdir(join(root, sub), { recursive: true });
  const socket = join(root, 'cups.sock');
  const output = join(root, 'out.prn');
  await writeFile(
    join(root, 'cups-files.conf'),
    [
      'FileDevice Yes',
      `ServerRoot ${root}/conf`,
      `RequestRoot ${root}/spool`,
      `CacheDir ${root}/cache`,
      `StateDir ${root}/state`,
      `ErrorLog ${root}/log/error_log`,
      `AccessLog ${root}/log/access_log`,
      `PageLog ${root}/log/page_log`,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(root, 'cupsd.conf'),
    [
      `Listen ${LAN_CLIENT}:631`,
      `Listen ${socket}`,
      'ServerAlias *',
      'Browsing No',
      'DefaultShared Yes',
      '<Location />',
      '  Order allow,deny',
      '  Allow all',
      '</Location>',
      '<Policy default>',
      '  <Limit All>',
      '    Order deny,allow',
      '  </Limit>',
      '</Policy>',
      '',
    ].join('\n'),
  );
  const daemon = spawnDaemon(
    'lan printer',
    'cupsd',
    ['-f', '-c', join(root, 'cupsd.conf'), '-s', join(root, 'cups-files.conf')],
    join(root, 'cupsd.log'),
    { netns: sandbox.lan.netns },
  );
  const env = { CUPS_SERVER: socket };
  await poll(
    async () =>
      (await sandbox.lan.runner.run('lpstat', ['-r'], { env })).stdout.includes('is running') ? true : undefined,
    30_000,
    'the LAN printer',
  );
  await must(
    sandbox.lan.runner,
    'lpadmin',
    [
      '-p',
      'lp',
      '-E',
      '-v',
      `file://${output}`,
      '-P',
      '/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd',
      '-o',
      'printer-is-shared=true',
    ],
    { env },
  );
  return { daemon, output, root };
}

/** The LAN's network printer: its CUPS, the file its jobs land in, its folder. */
interface LanPrinter {
  daemon: Daemon;
  output: string;
  root: string;
}

/** Polls `check` until it returns a value or the time is up (no fixed sleeps: the machine is shared). */
async function poll<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('print server and housekeeping in the sandbox', () => {
  let whole: WholeServer;
  let sandbox: ServerSandbox;
  let dir: string;
  let printer: LanPrinter | undefined;
  const cli = (argv: string[]) => setupCli(sandbox, argv);
  const inside = (command: string, args: string[]) => must(sandbox.runner, command, args);

  beforeAll(async () => {
    whole = await startWholeServer('setup-print-');
    ({ sandbox, dir } = whole);
    // The network printer must answer when setup adds it (lpadmin -m everywhere asks it).
    await must(sandbox.lan.runner, 'ip', ['addr', 'add', `${LAN_CLIENT}/24`, 'dev', sandbox.info.lan.ifname]);
    printer = await startLanPrinter(sandbox);
    const init = await cli(['init', '--answers', ANSWERS]);
    expect(init.doc, JSON.stringify(init.doc)).toMatchObject({ ok: true });
    const apply = await cli(['apply', 'print', 'housekeeping', 'firewall']);
    expect(apply.doc, `${JSON.stringify(apply.doc)}\n${apply.stderr}`).toMatchObject({ ok: true, changed: true });
  }, 400_000);
  afterAll(async () => {
    await printer?.daemon.stop();
    if (printer) await rm(printer.root, { recursive: true, force: true });
    await whole?.stop();
  });

  it('applies idempotently: CUPS runs with the queue, both timers run, verify is clean', async () => {
    const again = await cli(['apply', 'print', 'housekeeping', 'firewall']);
    expect(again.doc, JSON.stringify(again.doc)).toMatchObject({ ok: true, changed: false });
    const verify = await cli(['verify', 'print', 'housekeeping']);
    expect(verify.code, JSON.stringify(verify.doc)).toBe(0);
    expect(await inside('lpstat', ['-v', 'pdf'])).toContain('device for pdf: cups-pdf:/');
    // The network printer's queue is driverless: CUPS made its PPD from the printer's answers.
    expect(await inside('lpstat', ['-v', 'buero'])).toContain(`device for buero: ipp://${LAN_CLIENT}:631/printers/lp`);
    expect(await inside('grep', ['-c', 'IPP Everywhere', '/etc/cups/ppd/buero.ppd'])).not.toBe('0');
    expect(sandbox.services.pid('cups')).toBeDefined();
    expect(sandbox.services.pid('invis-housekeeping-transfer.timer')).toBeDefined();
    expect(sandbox.services.pid('invis-housekeeping-recycle.timer')).toBeDefined();
  }, 240_000);

  it('an AD user prints from the LAN with smbclient through the printer share; the job lands as a PDF', async () => {
    const admin = { PASSWD: (await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string };
    await must(
      sandbox.runner,
      'samba-tool',
      ['user', 'create', 'paula', PASSWORD, '-H', 'ldap://127.0.0.1', '-U', 'Administrator'],
      { env: admin },
    );
    const auth = join(dir, 'paula.auth');
    await writeFile(auth, `username = paula\npassword = ${PASSWORD}\ndomain = INVIS-NET\n`, { mode: 0o600 });
    const letter = join(dir, 'brief.txt');
    await writeFile(letter, 'Sehr geehrte Damen und Herren,\nbitte drucken.\n');

    // Samba lists the CUPS queue as a printer share.
    const shares = await must(sandbox.lan.runner, 'smbclient', ['-L', `//${SERVER}`, '-A', auth, '-m', 'SMB3']);
    expect(shares).toMatch(/^\s+pdf\s+Printer\s+PDF-Drucker/m);
    const print = await sandbox.lan.runner.run('smbclient', [
      `//${SERVER}/pdf`,
      '-A',
      auth,
      '-m',
      'SMB3',
      '-c',
      `print ${letter}`,
    ]);
    expect(print.exitCode, print.output).toBe(0);

    // CUPS took the job from Samba as paula and completed it; cups-pdf wrote the PDF.
    const completed = await poll(
      async () => {
        const jobs = (await sandbox.runner.run('lpstat', ['-W', 'completed', '-o', 'pdf'])).stdout;
        return /^pdf-\d+\s+paula\s/m.test(jobs) ? jobs : undefined;
      },
      90_000,
      'the completed job',
    );
    expect(completed).toMatch(/^pdf-\d+\s+paula\s/m);
    const pdf = await poll(
      async () => {
        const found = await sandbox.runner.run('find', [
          '/var/spool/cups-pdf',
          '/home',
          '-name',
          '*.pdf',
          '-newer',
          '/etc/cups/cupsd.conf',
        ]);
        return found.stdout
          .trim()
          .split('\n')
          .find((line) => line !== '');
      },
      60_000,
      'the PDF of cups-pdf',
    );
    expect(await inside('head', ['-c', '5', pdf])).toBe('%PDF-');
  }, 240_000);

  it('a job for the driverless network printer goes through Samba and CUPS to the printer on the LAN', async () => {
    const auth = join(dir, 'paula.auth');
    const letter = join(dir, 'brief.txt');
    const print = await sandbox.lan.runner.run('smbclient', [
      `//${SERVER}/buero`,
      '-A',
      auth,
      '-m',
      'SMB3',
      '-c',
      `print ${letter}`,
    ]);
    expect(print.exitCode, print.output).toBe(0);
    await poll(
      async () => {
        const jobs = (await sandbox.runner.run('lpstat', ['-W', 'completed', '-o', 'buero'])).stdout;
        return /^buero-\d+\s+paula\s/m.test(jobs) ? jobs : undefined;
      },
      90_000,
      'the completed job on the server',
    );
    // The printer printed it (its queue writes PostScript into a file).
    const landed = await poll(
      async () => {
        const text = await readFile(printer?.output ?? '', 'utf8').catch(() => '');
        return text.startsWith('%!PS') ? text : undefined;
      },
      90_000,
      'the job at the network printer',
    );
    expect(landed.length).toBeGreaterThan(100);
  }, 240_000);

  it('CUPS answers the LAN (its pages and admin pages) and nothing on the WAN', async () => {
    const code = async (client: ServerSandbox['lan'], url: string) =>
      (
        await must(client.runner, 'curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', url])
      ).trim();
    expect(await code(sandbox.lan, `http://${SERVER}:631/printers/`)).toBe('200');
    expect(await code(sandbox.lan, `http://${SERVER}:631/admin`)).toBe('200');
    // cupsd listens on loopback and the LAN address only.
    const listening = await inside('ss', ['-Hltn', 'sport = :631']);
    const addresses = listening
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[3])
      .sort();
    expect(addresses).toEqual([`${SERVER}:631`, '127.0.0.1:631', '[::1]:631'].sort());
    const wan = (await must(sandbox.wan.runner, process.execPath, ['-e', CONNECT, WAN_SERVER, '631'])).trim();
    expect(wan).toBe('TIMEOUT');
  }, 60_000);

  it('housekeeping run transfer: old files go, new stay, a link to outside is not followed, the job state is written', async () => {
    await inside('mkdir', ['-p', '/srv/shares/transfer/projekt', '/root/geheim']);
    await inside('sh', [
      '-c',
      [
        'echo alt > /srv/shares/transfer/alt.txt',
        'echo alt > /srv/shares/transfer/projekt/alt.dwg',
        'echo neu > /srv/shares/transfer/neu.txt',
        'echo wichtig > /root/geheim/schluessel.txt',
        'touch -d "10 days ago" /srv/shares/transfer/alt.txt /srv/shares/transfer/projekt/alt.dwg /srv/shares/transfer/projekt /root/geheim/schluessel.txt',
        'ln -s /root/geheim /srv/shares/transfer/raus',
      ].join(' && '),
    ]);
    const run = await cli(['housekeeping', 'run', 'transfer']);
    expect(run.doc, JSON.stringify(run.doc)).toMatchObject({ ok: true, report: { result: 'ok' } });
    expect((await inside('ls', ['-A', '/srv/shares/transfer'])).trim().split('\n').sort()).toEqual(['neu.txt', 'raus']);
    expect(await inside('cat', ['/root/geheim/schluessel.txt'])).toBe('wichtig');
    const state = JSON.parse(await sandbox.readFile('/var/lib/invis/jobs/housekeeping-transfer.json'));
    expect(state).toMatchObject({
      name: 'housekeeping-transfer',
      result: 'ok',
      details: { days: 7, removedFiles: 2, removedDirs: 1, links: 1 },
    });
  }, 60_000);
  it('housekeeping run recycle: old files leave the homes’ bins; a bin that is a link to Verwaltung fails the run and is not followed', async () => {
    await inside('sh', [
      '-c',
      [
        'mkdir -p /home/paula/.recycle/alt-ordner /home/bob /srv/shares/verwaltung',
        'echo x > /home/paula/.recycle/alt-ordner/alt.doc',
        'echo y > /home/paula/.recycle/neu.doc',
        'echo geheim > /srv/shares/verwaltung/bilanz.xls',
        'touch -d "40 days ago" /home/paula/.recycle/alt-ordner/alt.doc /home/paula/.recycle/alt-ordner /srv/shares/verwaltung/bilanz.xls',
        'ln -s /srv/shares/verwaltung /home/bob/.recycle',
      ].join(' && '),
    ]);
    const run = await cli(['housekeeping', 'run', 'recycle']);
    expect(run.code, JSON.stringify(run.doc)).toBe(1);
    expect(run.doc).toMatchObject({ report: { result: 'failed' } });
    expect((await inside('ls', ['-A', '/home/paula/.recycle'])).trim()).toBe('neu.doc');
    expect(await inside('cat', ['/srv/shares/verwaltung/bilanz.xls'])).toBe('geheim');
    const state = JSON.parse(await sandbox.readFile('/var/lib/invis/jobs/housekeeping-recycle.json'));
    expect(state).toMatchObject({ result: 'failed', details: { days: 30, removedFiles: 1, removedDirs: 1 } });
    expect(state.message).toContain('/home/bob/.recycle');
  }, 60_000);
});
