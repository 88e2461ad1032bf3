// `invis-backup` command line: run / snapshots / restore (--full or --path). It works on the live
// server only (no --root): it reads the setup answers and the profile like invis-setup does.
// Pure over its injected I/O, so it is testable; src/backup-bin.ts wires it to the process.
import { parseArgs } from 'node:util';
import {
  type Clock,
  type CommandRunner,
  createExecaRunner,
  createSystemdServiceManager,
  type ServiceManager,
  systemClock,
} from '@invis/host';
import packageJson from '../package.json' with { type: 'json' };
import { loadAnswers } from './answers';
import { listSnapshots, runBackup } from './backup';
import { restoreFull, restorePath } from './backup-restore';
import { errorJson, isSetupError, SetupError } from './errors';
import { checkLangOption, type Lang, pickLang, t } from './i18n';
import type { ModuleContext } from './module';
import { detectProfile } from './profiles';
import { createLiveFs } from './rooted-fs';
import { createSecretStore } from './secrets';

/** Exit codes of invis-backup (documented in the README). */
export const BACKUP_EXIT = { ok: 0, failure: 1, usage: 2, warning: 3 } as const;

/** What the backup CLI needs from its process. */
export interface BackupCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  runner?: CommandRunner;
  services?: ServiceManager;
  clock?: Clock;
}

const HELP: Record<Lang, string> = {
  de: `Aufruf: invis-backup <Befehl> [Optionen]
Befehle:
  run                                   sichern: AD (Offline-Sicherung), Konfiguration, Portal-Datenbank,
                                        Mail, Home- und Gruppenverzeichnisse → restic; dann Aufbewahrung
  snapshots                             die Sicherungsstände im Repository
  restore --path PFAD [--to ORDNER]     eine Datei oder einen Ordner zurückholen (Besitzer, Rechte, ACLs)
  restore --full                        den ganzen Server zurückholen (Dienste gestoppt, AD, Dateien,
                                        Portal-Datenbank, Dienste wieder gestartet)
  --snapshot ID                         Sicherungsstand (Standard: der neueste)
  --version                             Version
Optionen: --json (ein JSON-Dokument auf stdout), --lang de|en, --help
Fortschritt auf stderr. Exit-Codes: 0 ok, 1 Fehler, 2 Aufruf falsch, 3 gesichert, aber Dateien unlesbar`,
  en: `usage: invis-backup <command> [options]
commands:
  run                                   back up: AD (offline backup), configuration, portal database,
                                        mail, homes and shares → restic; then retention
  snapshots                             the snapshots in the repository
  restore --path PATH [--to DIR]        restore one file or folder (owner, mode, ACLs)
  restore --full                        restore the whole server (services stopped, AD, files,
                                        portal database, services started again)
  --snapshot ID                         snapshot (default: the newest)
  --version                             version
options: --json (one JSON document on stdout), --lang de|en, --help
Progress on stderr. Exit codes: 0 ok, 1 failure, 2 usage, 3 saved but some files unreadable`,
};

const COMMANDS = ['run', 'snapshots', 'restore'] as const;
type Command = (typeof COMMANDS)[number];

interface Parsed {
  command: Command | 'help' | 'version';
  lang: Lang;
  json: boolean;
  full: boolean;
  path: string | undefined;
  to: string | undefined;
  snapshot: string | undefined;
}

function parse(argv: readonly string[], env: BackupCliIo['env']): Parsed {
  let values: ReturnType<typeof parseArgs>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        lang: { type: 'string' },
        full: { type: 'boolean' },
        path: { type: 'string' },
        to: { type: 'string' },
        snapshot: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new SetupError('SETUP_USAGE', (error as Error).message);
  }
  const lang = values.lang;
  checkLangOption(lang);
  const [first, ...rest] = positionals;
  const command = COMMANDS.find((c) => c === first);
  if (first !== undefined && !command) throw new SetupError('SETUP_USAGE', `unknown command ${JSON.stringify(first)}`);
  if (rest.length > 0) throw new SetupError('SETUP_USAGE', `unexpected argument ${JSON.stringify(rest[0])}`);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const parsed: Parsed = {
    command: values.version ? 'version' : values.help || !command ? 'help' : command,
    lang: pickLang(str(lang), env),
    json: values.json === true,
    full: values.full === true,
    path: str(values.path),
    to: str(values.to),
    snapshot: str(values.snapshot),
  };
  if (parsed.command === 'restore' && parsed.full === (parsed.path !== undefined)) {
    throw new SetupError('SETUP_USAGE', 'restore needs exactly one of --full and --path PATH');
  }
  if (parsed.command !== 'restore' && (parsed.full || parsed.path !== undefined || parsed.to !== undefined)) {
    throw new SetupError('SETUP_USAGE', '--full, --path and --to belong to restore');
  }
  if (parsed.full && parsed.to !== undefined) throw new SetupError('SETUP_USAGE', '--to belongs to restore --path');
  if (parsed.command === 'run' && parsed.snapshot !== undefined) {
    throw new SetupError('SETUP_USAGE', '--snapshot belongs to restore');
  }
  return parsed;
}

/**
 * Runs invis-backup with `argv` (without node and script) and returns the exit code: 0 ok,
 * 1 failure, 2 usage, 3 the backup was made but restic could not read some files.
 * @param argv arguments
 * @param io the process's streams and collaborators
 * @returns the exit code
 * @example process.exitCode = await runBackupCli(['run'], { stdout, stderr, env: process.env });
 */
export async function runBackupCli(argv: readonly string[], io: BackupCliIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv, io.env);
  } catch (error) {
    const lang = pickLang(undefined, io.env);
    if (argv.includes('--json')) io.stdout(`${JSON.stringify({ ok: false, error: errorJson(error) })}\n`);
    else io.stderr(`${t(lang, 'error')}: ${(error as Error).message}\n${HELP[lang]}\n`);
    return BACKUP_EXIT.usage;
  }
  const { json, lang } = parsed;
  if (parsed.command === 'version') {
    io.stdout(
      json
        ? `${JSON.stringify({ ok: true, version: packageJson.version })}\n`
        : `invis-backup ${packageJson.version}\n`,
    );
    return BACKUP_EXIT.ok;
  }
  if (parsed.command === 'help') {
    io.stdout(json ? `${JSON.stringify({ ok: true, help: HELP[lang] })}\n` : `${HELP[lang]}\n`);
    return BACKUP_EXIT.ok;
  }
  const command = parsed.command;
  try {
    const ctx = await context(parsed, io);
    const out = (doc: Record<string, unknown>, text: string) =>
      io.stdout(json ? `${JSON.stringify({ ok: true, command, ...doc })}\n` : `${text}\n`);
    if (command === 'run') {
      const result = await runBackup(ctx);
      out({ ...result }, `snapshot ${result.snapshot}${result.result === 'warning' ? ' (some files unreadable)' : ''}`);
      return result.result === 'ok' ? BACKUP_EXIT.ok : BACKUP_EXIT.warning;
    }
    if (command === 'snapshots') {
      const snapshots = await listSnapshots(ctx);
      out({ snapshots }, snapshots.map((s) => `${s.id.slice(0, 8)}  ${s.time}  ${s.paths.join(' ')}`).join('\n'));
      return BACKUP_EXIT.ok;
    }
    const result = parsed.full
      ? await restoreFull(ctx, parsed.snapshot === undefined ? {} : { snapshot: parsed.snapshot })
      : await restorePath(ctx, {
          path: parsed.path as string,
          ...(parsed.snapshot === undefined ? {} : { snapshot: parsed.snapshot }),
          ...(parsed.to === undefined ? {} : { to: parsed.to }),
        });
    out({ ...result }, `restored ${result.paths.join(' ')} from ${result.snapshot.slice(0, 8)} → ${result.target}`);
    return BACKUP_EXIT.ok;
  } catch (error) {
    if (json) io.stdout(`${JSON.stringify({ ok: false, command, error: errorJson(error) })}\n`);
    else io.stderr(`${t(lang, 'error')}: ${errorJson(error).message}\n`);
    return isSetupError(error) && error.code === 'SETUP_USAGE' ? BACKUP_EXIT.usage : BACKUP_EXIT.failure;
  }
}

/** The module context of the live server (answers and profile as invis-setup reads them). */
async function context(parsed: Parsed, io: BackupCliIo): Promise<ModuleContext> {
  const fs = createLiveFs();
  const runner = io.runner ?? createExecaRunner();
  return {
    answers: await loadAnswers(fs, parsed.lang),
    secrets: createSecretStore(fs),
    fs,
    runner,
    services: io.services ?? createSystemdServiceManager({ runner }),
    profile: await detectProfile(fs),
    clock: io.clock ?? systemClock,
    // Progress always goes to stderr (the journal under systemd); --json keeps stdout one document.
    progress: (message) => io.stderr(`${message}\n`),
    staging: false,
    lang: parsed.lang,
  };
}
