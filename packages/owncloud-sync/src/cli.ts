// `invis-sync` command line: init / run / status. Pure over its injected I/O, so it is testable;
// src/bin.ts wires it to the process.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createWebDavClient } from './client';
import { createSyncEngine, type SyncEvent, type SyncReport } from './engine';
import { SyncError, toSyncError } from './errors';
import { openJournal } from './journal';

/** Stored per folder in `<dir>/.invis-sync/config.json` (0600); holds a password file path, never a password. */
export const cliConfigSchema: z.ZodObject<{
  url: z.ZodURL;
  user: z.ZodString;
  passwordFile: z.ZodString;
  excludeFile: z.ZodOptional<z.ZodString>;
  bandwidthLimit: z.ZodOptional<z.ZodNumber>;
}> = z.object({
  url: z.url({ protocol: /^https?$/ }),
  user: z.string().min(1),
  passwordFile: z.string().min(1),
  excludeFile: z.string().optional(),
  bandwidthLimit: z.number().int().positive().optional(),
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
}

const USAGE = `usage:
  invis-sync init <dir> --url URL --user NAME --password-file FILE [--exclude-file FILE] [--bwlimit BYTES_PER_S]
  invis-sync run <dir> [--json] [--dry-run] [--allow-mass-delete]
  invis-sync status <dir> [--json]
The password file must be mode 0600 and owned by the caller; passwords are never taken on the command line.`;

const stateDirOf = (dir: string): string => join(dir, '.invis-sync');

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code:
 * 0 success, 1 the run had step errors, 2 usage or fatal error.
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
  const { command, dir, values } = parsed;
  try {
    if (command === 'init') return await init(dir, values, io);
    if (command === 'status') return await status(dir, values.json === true, io);
    return await runSync(dir, values, io);
  } catch (error) {
    const e = toSyncError(error, 'SYNC_INVALID_OPTIONS');
    if (values.json) io.stdout(`${JSON.stringify({ error: e.toJSON() })}\n`);
    else io.stderr(`invis-sync: ${e.message} (${e.code})\n`);
    return 2;
  }
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
    },
  });
  const [command, dir] = positionals;
  if (command !== 'init' && command !== 'run' && command !== 'status') throw new Error('unknown command');
  if (!dir || positionals.length > 2) throw new Error('exactly one folder expected');
  return { command, dir: resolve(dir), values };
}

type Values = ReturnType<typeof parse>['values'];

async function init(dir: string, values: Values, io: CliIo): Promise<number> {
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
  await mkdir(stateDirOf(dir), { recursive: true, mode: 0o700 });
  await writeFile(join(stateDirOf(dir), 'config.json'), `${JSON.stringify(config.data, null, 2)}\n`, { mode: 0o600 });
  io.stdout(values.json ? `${JSON.stringify({ initialized: dir })}\n` : `initialized ${dir} → ${config.data.url}\n`);
  return 0;
}

async function loadConfig(dir: string): Promise<CliConfig> {
  const text = await readFile(join(stateDirOf(dir), 'config.json'), 'utf8').catch((error: unknown) => {
    throw toSyncError(error, 'SYNC_INVALID_OPTIONS', { path: dir });
  });
  const parsed = cliConfigSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new SyncError('SYNC_INVALID_OPTIONS', `bad config in ${dir}: run invis-sync init again`);
  return parsed.data;
}

async function readPassword(file: string): Promise<string> {
  const st = await stat(file).catch((error: unknown) => {
    throw toSyncError(error, 'SYNC_INVALID_OPTIONS', { path: file });
  });
  if ((st.mode & 0o077) !== 0) {
    throw new SyncError('SYNC_INVALID_OPTIONS', `password file ${file} must not be readable by others (chmod 600)`, {
      path: file,
    });
  }
  return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
}

async function runSync(dir: string, values: Values, io: CliIo): Promise<number> {
  const config = await loadConfig(dir);
  const password = await readPassword(config.passwordFile);
  const client = createWebDavClient({ url: config.url, auth: { type: 'basic', username: config.user, password } });
  const engine = createSyncEngine({
    localDir: dir,
    client,
    ...(io.hostname ? { hostname: io.hostname } : {}),
    ...(config.excludeFile ? { excludeFile: config.excludeFile } : {}),
    ...(config.bandwidthLimit ? { bandwidthLimit: config.bandwidthLimit } : {}),
  });
  const bar = !values.json && io.isTty ? progressBar(io) : undefined;
  try {
    const report = await engine.run({
      dryRun: values['dry-run'] === true,
      allowMassDelete: values['allow-mass-delete'] === true,
      ...(bar ? { onEvent: bar } : {}),
    });
    if (bar) io.stderr('\r\x1b[K');
    if (!report.dryRun) {
      await writeFile(
        join(stateDirOf(dir), 'last-run.json'),
        JSON.stringify({ at: new Date().toISOString(), report }),
        {
          mode: 0o600,
        },
      );
    }
    io.stdout(values.json ? `${JSON.stringify(report)}\n` : summary(report));
    return report.errors.length > 0 ? 1 : 0;
  } finally {
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
  for (const c of r.conflicts) lines.push(`conflict: ${c.path} — local version kept as ${c.copy}`);
  for (const e of r.errors) lines.push(`error: ${e.path}: ${e.message} (${e.code})`);
  return `${lines.join('\n')}\n`;
}

async function status(dir: string, json: boolean, io: CliIo): Promise<number> {
  const config = await loadConfig(dir);
  const journal = openJournal(join(stateDirOf(dir), 'journal.db'));
  const entries = journal.load();
  journal.close();
  const locked = await stat(join(stateDirOf(dir), 'lock')).then(
    () => true,
    () => false,
  );
  const last = await readFile(join(stateDirOf(dir), 'last-run.json'), 'utf8')
    .then((t) => JSON.parse(t) as { at: string; report: SyncReport })
    .catch(() => undefined);
  const info = {
    dir,
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
