// `invis-sync` command line: init / run / status. Pure over its injected I/O, so it is testable;
// src/bin.ts wires it to the process.
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Clock, createNodeFs, systemClock, writeFileAtomic } from '@invis/host';
import * as z from 'zod/mini';
import packageJson from '../package.json' with { type: 'json' };
import { createWebDavClient, isLoopbackUrl } from './client';
import { createSyncEngine } from './engine';
import { SyncError, toSyncError } from './errors';
import { createExcludeMatcher, DEFAULT_EXCLUDES, parseExcludeFile } from './exclude';
import { openJournal } from './journal';
import type { SyncEvent, SyncReport } from './report';
import { ensurePrivateDir, readTrustedFile } from './trust';
import { watchLocalTree } from './watch';

/** Where the CLI keeps each folder's config, journal and lock unless `--state-root` says otherwise. */
export const DEFAULT_STATE_ROOT = '/var/lib/invis/sync';

/**
 * Stored per folder in `<state root>/<name>-<hash>/config.json` (0600, outside the synced
 * folder); holds a password file path, never a password. Written with zod's tree-shakable
 * `zod/mini`: a cron-started `invis-sync` loads only the checks it uses.
 */
export const cliConfigSchema: z.ZodMiniObject<{
  url: z.ZodMiniURL;
  user: z.ZodMiniString;
  passwordFile: z.ZodMiniString;
  excludeFile: z.ZodMiniOptional<z.ZodMiniString>;
  bandwidthLimit: z.ZodMiniOptional<z.ZodMiniNumber>;
}> = z.object({
  url: z.url({ protocol: /^https?$/, error: 'not an http(s) URL', abort: true }).check(
    // `URL.canParse` first: a string `z.url` let through must not throw out of `safeParse`.
    z.refine((u) => u.startsWith('https:') || (URL.canParse(u) && isLoopbackUrl(new URL(u))), {
      error: 'use https:// (plain http only to 127.0.0.0/8, ::1 or localhost)',
    }),
  ),
  user: z.string({ error: 'missing' }).check(z.minLength(1, { error: 'empty' })),
  passwordFile: z.string({ error: 'missing' }).check(z.minLength(1, { error: 'empty' })),
  excludeFile: z.optional(z.string({ error: 'not a path' })),
  bandwidthLimit: z.optional(
    z
      .number({ error: 'not a number' })
      .check(z.int({ error: 'not a whole number' }), z.positive({ error: 'not above 0' })),
  ),
});

/** The folder configuration of the CLI. */
export type CliConfig = z.infer<typeof cliConfigSchema>;

/** What the CLI needs from its process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** stderr is a terminal: draw a progress bar. */
  isTty: boolean;
  /** Host name for conflict copies (default: the OS host name). */
  hostname?: string;
  /** Clock for conflict copies, the lock and the last run's time (default: the system clock). */
  clock?: Clock;
  /** Ends `invis-sync watch` (after the run in progress). */
  signal?: AbortSignal;
}

const hostFs = createNodeFs();

/**
 * Writes a file of the state folder (checked by `ensurePrivateDir`) atomically with mode 0600,
 * owned by us whoever owned the file it replaces: the config names the password file, the last
 * report lists paths of the share.
 */
async function writeStateFile(file: string, text: string): Promise<void> {
  const owner = process.geteuid && process.getegid ? { uid: process.geteuid(), gid: process.getegid() } : {};
  await writeFileAtomic(file, text, { mode: 0o600, ...owner }).catch((error: unknown) => {
    throw toSyncError(error, 'SYNC_LOCAL_IO', { path: file });
  });
}

const USAGE = `usage:
  invis-sync init <dir> --url URL --user NAME --password-file FILE [--exclude-file FILE] [--bwlimit BYTES_PER_S]
  invis-sync run <dir> [--json] [--dry-run] [--allow-mass-delete]
  invis-sync watch <dir> [--json] [--interval SECONDS] [--full-every SECONDS] [--allow-mass-delete]
  invis-sync status <dir> [--json]
  invis-sync --help | --version
Every command takes --state-root DIR (default ${DEFAULT_STATE_ROOT}): the folder's config, journal
and lock live in DIR/<name>-<hash>, outside the synced folder, owned by the caller and mode 0700.
watch keeps running: a sync every --interval seconds (default 60). It watches the folder, so a run
that finds nothing changed here or on the server costs one request; every --full-every seconds
(default 3600) it walks the whole folder anyway. It stops on SIGINT or SIGTERM.
The URL must be https:// (plain http only to 127.0.0.0/8, ::1 or localhost).
The password file must be owned by the caller and mode 0600 (no group or other access); the
config must be owned by the caller and not writable by others; none of them may be a symlink.
Passwords are never taken on the command line.`;

/** The state folder of `dir`: its base name for people, a hash of its path to keep folders apart. */
const stateDirOf = (root: string, dir: string): string =>
  join(
    root,
    `${basename(dir).replace(/[^A-Za-z0-9._-]/g, '_')}-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`,
  );

/** The state folder inside the synced tree that earlier releases used; never read now. */
const legacyStateOf = (dir: string): string => join(dir, '.invis-sync');

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code:
 * 0 success (`--help` and `--version` print to stdout), 1 the run had step errors, 2 usage or
 * fatal error.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), isTty: process.stderr.isTTY });
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.command === 'help') {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if (parsed.command === 'version') {
    io.stdout(`invis-sync ${packageJson.version}\n`);
    return 0;
  }
  const { command, dir, values } = parsed;
  const state = stateDirOf(resolve(values['state-root'] ?? DEFAULT_STATE_ROOT), dir);
  try {
    if (command === 'init') return await init(dir, state, values, io);
    if (command === 'status') return await status(dir, state, values.json === true, io);
    if (command === 'watch') return await watchSync(dir, state, values, io);
    return await runSync(dir, state, values, io);
  } catch (error) {
    printError(toSyncError(error, 'SYNC_INVALID_OPTIONS'), values.json === true, io);
    return 2;
  }
}

/** A failure as `{"error": …}` on stdout with `--json`, else one line on stderr. */
function printError(e: SyncError, json: boolean, io: CliIo): void {
  if (json) io.stdout(`${JSON.stringify({ error: e.toJSON() })}\n`);
  else io.stderr(`invis-sync: ${e.message} (${e.code})\n`);
}

function parse(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      user: { type: 'string' },
      'password-file': { type: 'string' },
      'exclude-file': { type: 'string' },
      bwlimit: { type: 'string' },
      json: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'allow-mass-delete': { type: 'boolean' },
      'state-root': { type: 'string' },
      interval: { type: 'string' },
      'full-every': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
    },
  });
  if (values.help) return { command: 'help' as const, dir: '', values };
  if (values.version) return { command: 'version' as const, dir: '', values };
  const [command, dir] = positionals;
  if (command !== 'init' && command !== 'run' && command !== 'status' && command !== 'watch') {
    throw new Error('unknown command');
  }
  if (!dir || positionals.length > 2) throw new Error('exactly one folder expected');
  return { command, dir: resolve(dir), values };
}

type Values = ReturnType<typeof parse>['values'];

async function init(dir: string, state: string, values: Values, io: CliIo): Promise<number> {
  const config = cliConfigSchema.safeParse({
    url: values.url,
    user: values.user,
    passwordFile: values['password-file'] ? resolve(values['password-file']) : undefined,
    excludeFile: values['exclude-file'] ? resolve(values['exclude-file']) : undefined,
    bandwidthLimit: values.bwlimit === undefined ? undefined : Number(values.bwlimit),
  });
  if (!config.success) {
    throw new SyncError(
      'SYNC_INVALID_OPTIONS',
      `invalid options: ${z.prettifyError(config.error).replace(/\n/g, ' ')}`,
    );
  }
  await readPassword(config.data.passwordFile);
  if (config.data.excludeFile) await readExcludeFile(config.data.excludeFile);
  // The synced folder itself is created when missing (as earlier releases did with their state in it).
  await hostFs.mkdir(dir).catch((error: unknown) => {
    throw toSyncError(error, 'SYNC_LOCAL_IO', { path: dir });
  });
  await ensurePrivateDir(state);
  await writeStateFile(join(state, 'config.json'), `${JSON.stringify(config.data, null, 2)}\n`);
  if (await exists(legacyStateOf(dir))) {
    io.stderr(`note: ${legacyStateOf(dir)} is no longer used (state is in ${state}); remove it\n`);
  }
  io.stdout(
    values.json
      ? `${JSON.stringify({ initialized: dir, stateDir: state })}\n`
      : `initialized ${dir} → ${config.data.url} (state in ${state})\n`,
  );
  return 0;
}

const exists = (path: string): Promise<boolean> => hostFs.exists(path).catch(() => false);

/**
 * The folder's config from its state folder. Only the state folder counts: a config inside the
 * synced folder (where earlier releases kept it) is written by the share's users and never read.
 */
async function loadConfig(dir: string, state: string): Promise<CliConfig> {
  const file = join(state, 'config.json');
  if (!(await exists(file))) {
    if (await exists(legacyStateOf(dir))) {
      throw new SyncError(
        'SYNC_LEGACY_STATE',
        `${legacyStateOf(dir)} is state of an earlier release inside the synced folder, which its users can write; it is not read. ` +
          `Set the folder up again with: invis-sync init ${dir} --url URL --user NAME --password-file FILE` +
          `${state.startsWith(`${DEFAULT_STATE_ROOT}/`) ? '' : ' --state-root ROOT'}, then remove ${legacyStateOf(dir)}`,
        { details: { path: dir } },
      );
    }
    throw new SyncError('SYNC_INVALID_OPTIONS', `${dir} is not set up (no ${file}): run invis-sync init`, {
      details: {
        path: dir,
      },
    });
  }
  await ensurePrivateDir(state);
  const text = await readTrustedFile(file, 'config', true);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = cliConfigSchema.safeParse(json);
  if (!parsed.success) throw new SyncError('SYNC_INVALID_OPTIONS', `bad config ${file}: run invis-sync init again`);
  return parsed.data;
}

async function readPassword(file: string): Promise<string> {
  return (await readTrustedFile(file, 'password file', true)).replace(/\r?\n$/, '');
}

/** An exclude file decides what the sync leaves alone: nobody else may be able to change it. */
async function readExcludeFile(file: string): Promise<string[]> {
  return parseExcludeFile(await readTrustedFile(file, 'exclude file', false));
}

/** The folder's client and engine from its config; `excludes` are the exclude file's globs. */
async function openEngine(dir: string, state: string, io: CliIo) {
  const config = await loadConfig(dir, state);
  const password = await readPassword(config.passwordFile);
  const excludes = config.excludeFile ? await readExcludeFile(config.excludeFile) : [];
  const client = createWebDavClient({ url: config.url, auth: { type: 'basic', username: config.user, password } });
  const engine = createSyncEngine({
    localDir: dir,
    stateDir: state,
    client,
    ...(io.hostname ? { hostname: io.hostname } : {}),
    ...(io.clock ? { clock: io.clock } : {}),
    ...(config.excludeFile ? { excludeFile: config.excludeFile } : {}),
    ...(config.bandwidthLimit ? { bandwidthLimit: config.bandwidthLimit } : {}),
  });
  return { client, engine, excludes };
}

/** Keeps what a real run did in the state folder (`invis-sync status` shows it) and prints it. */
async function reportRun(report: SyncReport, state: string, json: boolean, io: CliIo): Promise<void> {
  if (!report.dryRun) {
    const at = (io.clock ?? systemClock).now().toISOString();
    await writeStateFile(join(state, 'last-run.json'), JSON.stringify({ at, report }));
  }
  io.stdout(json ? `${JSON.stringify(report)}\n` : summary(report));
}

async function runSync(dir: string, state: string, values: Values, io: CliIo): Promise<number> {
  const { client, engine } = await openEngine(dir, state, io);
  const bar = !values.json && io.isTty ? progressBar(io) : undefined;
  try {
    const report = await engine.run({
      dryRun: values['dry-run'] === true,
      allowMassDelete: values['allow-mass-delete'] === true,
      ...(bar ? { onEvent: bar } : {}),
    });
    if (bar) io.stderr('\r\x1b[K');
    await reportRun(report, state, values.json === true, io);
    return report.errors.length > 0 ? 1 : 0;
  } finally {
    await client.close();
  }
}

/** A whole number of seconds ≥ 1 from an option, else the default. */
function seconds(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new SyncError('SYNC_INVALID_OPTIONS', `--${name}: expected whole seconds ≥ 1, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
const pause = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((done) => {
    if (signal?.aborted) return done();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      done();
    });
  });

/**
 * `invis-sync watch`: a run every interval until `io.signal` aborts. The folder is watched
 * (`watchLocalTree`); while nothing changed in it since the previous run began, a run first asks
 * the server whether its tree changed and ends there when it did not. A failed run is reported
 * and the loop goes on (the server may be back next time).
 */
async function watchSync(dir: string, state: string, values: Values, io: CliIo): Promise<number> {
  const intervalMs = seconds(values.interval, 'interval', 60) * 1000;
  const fullEveryMs = seconds(values['full-every'], 'full-every', 3600) * 1000;
  const { client, engine, excludes } = await openEngine(dir, state, io);
  const local = watchLocalTree(dir, createExcludeMatcher([...DEFAULT_EXCLUDES, ...excludes]));
  let lastWalk = Number.NEGATIVE_INFINITY;
  try {
    while (!io.signal?.aborted) {
      const started = performance.now();
      const localUnchanged = !local.changed && started - lastWalk < fullEveryMs;
      // Changes from here on, ours of this run included, count for the next run.
      local.reset();
      try {
        const report = await engine.run({ localUnchanged, allowMassDelete: values['allow-mass-delete'] === true });
        if (!report.localSkipped) {
          lastWalk = started;
          const journal = openJournal(join(state, 'journal.db'));
          try {
            local.follow(journal.dirs());
          } finally {
            journal.close();
          }
        }
        await reportRun(report, state, values.json === true, io);
      } catch (error) {
        printError(toSyncError(error, 'SYNC_LOCAL_IO'), values.json === true, io);
      }
      await pause(Math.max(0, intervalMs - (performance.now() - started)), io.signal);
    }
    return 0;
  } finally {
    local.close();
    await client.close();
  }
}

function progressBar(io: CliIo): (e: SyncEvent) => void {
  let total = 0;
  let done = 0;
  return (e) => {
    if (e.type === 'planned') total = e.actions;
    if (e.type !== 'done' && e.type !== 'error') return;
    done++;
    const width = 30;
    const filled = total ? Math.round((done / total) * width) : 0;
    io.stderr(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${e.path.slice(-40)}\x1b[K`);
  };
}

/** One human-readable paragraph per run. */
function summary(r: SyncReport): string {
  const lines = [
    `${r.dryRun ? 'dry run: ' : ''}${r.uploaded} uploaded, ${r.downloaded} downloaded, ${r.deletedLocal + r.deletedRemote} deleted, ${r.moved} moved in ${(r.durationMs / 1000).toFixed(2)} s (${r.server.dialect})`,
  ];
  if (r.dryRun) for (const p of r.planned) lines.push(`  would ${p.kind} ${p.path}`);
  if (r.massDelete) {
    lines.push(
      `a real run would stop at the mass-delete guard: it deletes ${r.massDelete.files} of ${r.massDelete.known} files (run with --allow-mass-delete if intended)`,
    );
  }
  for (const c of r.conflicts) lines.push(`conflict: ${c.path} — local version kept as ${c.copy}`);
  for (const e of r.errors) lines.push(`error: ${e.path}: ${e.message} (${e.code})`);
  return `${lines.join('\n')}\n`;
}

async function status(dir: string, state: string, json: boolean, io: CliIo): Promise<number> {
  const config = await loadConfig(dir, state);
  const journal = openJournal(join(state, 'journal.db'));
  const entries = journal.load();
  journal.close();
  const locked = await exists(join(state, 'lock'));
  const last = await hostFs
    .readFile(join(state, 'last-run.json'))
    .then((t) => JSON.parse(t) as { at: string; report: SyncReport })
    .catch(() => undefined);
  const info = {
    dir,
    stateDir: state,
    url: config.url,
    user: config.user,
    files: [...entries.values()].filter((e) => !e.isDir).length,
    running: locked,
    lastRun: last
      ? { at: last.at, errors: last.report.errors.length, conflicts: last.report.conflicts.length }
      : undefined,
  };
  io.stdout(
    json
      ? `${JSON.stringify(info)}\n`
      : `${dir} ↔ ${config.url} as ${config.user}: ${info.files} files${locked ? ', sync running' : ''}${
          last
            ? `; last run ${last.at}: ${info.lastRun?.errors} errors, ${info.lastRun?.conflicts} conflicts`
            : '; never synced'
        }\n`,
  );
  return 0;
}
