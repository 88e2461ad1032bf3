import { constants } from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { MailRewriteError } from './errors';
import { buildFetchmailRc, type FetchmailOptions, renderFetchmailRc } from './fetchmail';
import type { MailConfig, MailUser } from './model';
import {
  buildPostfixMaps,
  type LdapTableOptions,
  POSTFIX_MAP_NAMES,
  type PostfixMaps,
  type PostfixMapType,
  renderLdapTables,
  renderMainCfSettings,
  renderPostfixMap,
  type SubmissionOptions,
} from './postfix';
import { renderVacationSieve } from './sieve';

/** Result of one program run. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with an argument array (never a shell) and resolves even on failure. */
export type CommandRunner = (command: string, args: readonly string[]) => Promise<CommandResult>;

/** The default runner: execa without a shell, never rejecting on a non-zero exit. */
export function createExecaRunner(): CommandRunner {
  return async (command, args) => {
    const r = await execa(command, args, { reject: false, stdin: 'ignore' });
    const missing = (r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    return {
      exitCode: r.exitCode ?? (missing ? 127 : 1),
      stdout: String(r.stdout ?? ''),
      stderr: missing ? `${command}: not installed` : String(r.stderr ?? ''),
    };
  };
}

/** An open file of {@link MailFs.open} (node's `FileHandle` fits). */
export interface MailFileHandle {
  readFile(options: { encoding: 'utf8' }): Promise<string>;
  writeFile(data: string): Promise<void>;
  chmod(mode: number): Promise<void>;
  chown(uid: number, gid: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file operations apply needs (default: node:fs/promises). Inject a fake in unit tests.
 * Files are opened with `O_NOFOLLOW` and changed through the open handle; directories are
 * checked with `lstat` and chowned with `lchown`: the users' Sieve folders are writable by the
 * mail user, and apply runs as root.
 */
export interface MailFs {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  writeFile(path: string, data: string, options: { mode: number }): Promise<void>;
  open(path: string, flags: number, mode?: number): Promise<MailFileHandle>;
  lstat(path: string): Promise<{ isSymbolicLink(): boolean; isDirectory(): boolean }>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: boolean; recursive?: boolean }): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  lchown(path: string, uid: number, gid: number): Promise<void>;
  mkdir(path: string, options: { recursive: boolean; mode?: number }): Promise<unknown>;
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  utimes(path: string, atime: Date, mtime: Date): Promise<void>;
}

/** File owner (numeric, so no lookup of /etc/passwd inside the library). */
export interface Owner {
  uid: number;
  gid: number;
}

/** Paths of one platform (Debian, openSUSE) — never hard-coded in the library. */
export interface MailPaths {
  /** Postfix config directory holding main.cf (`/etc/postfix`). */
  postfixConfigDir: string;
  /** Directory of the generated tables (default: the config directory). */
  mapDir?: string;
  /** The fetchmail rc the daemon reads. */
  fetchmailRc: string;
  /** Dovecot home of a user; the vacation script goes to `<home>/sieve/`, the active link to `<home>/.dovecot.sieve`. */
  sieveHome(user: MailUser): string;
  /** Backups go to `<backupDir>/<timestamp>/`. */
  backupDir: string;
}

/** Options of {@link createMailApplier}. */
export interface MailApplierOptions {
  paths: MailPaths;
  /** Static table type (default `lmdb`). */
  mapType?: PostfixMapType;
  /** Where fetchmail delivers and its state file. */
  fetchmail: FetchmailOptions;
  /**
   * Trust anchors for verifying the relays' certificates (`smtp_tls_CAfile`/`smtp_tls_CApath`);
   * without them every relay fails verification and mail is deferred.
   */
  trust?: { caFile?: string; caPath?: string };
  /**
   * Who may send through the server: the SASL service for client logins, the login that owns
   * a user's addresses, the networks trusted without login (default loopback only).
   */
  submission?: SubmissionOptions;
  /** Serve the two address maps from AD (`ldap:` tables) instead of static files. */
  ldap?: LdapTableOptions;
  /** Owners: the rc belongs to the fetchmail user, scripts to the mail user, LDAP tables to group postfix. */
  owners?: { fetchmail?: Owner; sieve?: Owner; postfixGroup?: number };
  /** Validate the rc with `fetchmail --configdump` and scripts with `sievec` (default true). */
  validate?: { fetchmail?: boolean; sieve?: boolean };
  /** Reload Postfix after a change (default true; false when it is not running yet). */
  reloadPostfix?: boolean;
  /** Called after the rc changed, e.g. to restart the fetchmail service; a throw rolls back. */
  onFetchmailChanged?: () => Promise<void>;
  runner?: CommandRunner;
  fs?: MailFs;
  clock?: () => Date;
}

/** What one apply did. Secret files are named, never shown. */
export interface ApplyReport {
  changed: string[];
  unchanged: string[];
  removed: string[];
  /** `main.cf` parameters that were set. */
  mainCf: Record<string, string>;
  /** Line diff of non-secret files (`+`/`-` lines under a `--- path` header). */
  diff: string;
  /** Backup directory of this run, when anything changed. */
  backup?: string;
  reloaded: boolean;
}

/** Applies a mail configuration to Postfix, fetchmail and Dovecot/Pigeonhole. */
export interface MailApplier {
  /**
   * What `apply` would change, with the diff; writes nothing (only a staged copy of main.cf
   * under `backupDir`, removed again) and runs only `postconf`.
   */
  plan(config: MailConfig): Promise<ApplyReport>;
  /**
   * Renders everything, writes what changed atomically (temp file + rename) after a backup,
   * compiles changed tables with `postmap`, sets the `main.cf` parameters with `postconf -e`
   * on a staged copy, runs `postfix check` (when main.cf, an LDAP table or a texthash table
   * changed; postmap validates compiled tables) and `postfix reload`; on any failure restores
   * the backup (and reloads again) and throws.
   * @throws MailRewriteError `MAIL_CHECK_FAILED`, `MAIL_RELOAD_FAILED`, `MAIL_COMMAND_FAILED`
   */
  apply(config: MailConfig): Promise<ApplyReport>;
}

interface Desired {
  path: string;
  /** undefined = must not exist. */
  content: string | undefined;
  mode: number;
  owner?: Owner | undefined;
  secret: boolean;
  postmap?: boolean;
  validate?: ((tmp: string) => Promise<void>) | undefined;
  /** The file lies in this user's Dovecot home (writable by the mail user: no links allowed). */
  home?: string;
}

const VACATION_SCRIPT = 'invis-vacation.sieve';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants;
const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;
const unsafe = (path: string, cause?: unknown): MailRewriteError =>
  new MailRewriteError('MAIL_UNSAFE_PATH', `${path} is a symbolic link or not what it should be; refused`, {
    cause,
    data: { path },
  });

/** A change to a user's `.dovecot.sieve` link, undone on rollback. */
interface LinkChange {
  link: string;
  previous: string | undefined;
}

const COMPILED_SUFFIX: Record<PostfixMapType, string | undefined> = { texthash: undefined, lmdb: '.lmdb', hash: '.db' };

const MAP_FILE: Record<keyof PostfixMaps, string> = {
  generic: 'invis_generic',
  recipientCanonical: 'invis_recipient_canonical',
  relayhost: 'invis_sender_relay',
  saslPassword: 'invis_sasl_passwd',
  tlsPolicy: 'invis_tls_policy',
  senderLogin: 'invis_sender_login',
};

/**
 * Creates an applier.
 * @example
 * const applier = createMailApplier({ paths, fetchmail: { smtpHost: '127.0.0.1' } });
 * const report = await applier.apply(parseMailConfig(input));
 */
export function createMailApplier(options: MailApplierOptions): MailApplier {
  const fs: MailFs = options.fs ?? nodeFs;
  const runner = options.runner ?? createExecaRunner();
  const clock = options.clock ?? (() => new Date());
  const { paths } = options;
  const confDir = paths.postfixConfigDir;
  const mainCfPath = join(confDir, 'main.cf');
  const mapDir = paths.mapDir ?? confDir;
  const mapType = options.mapType ?? 'lmdb';
  const files = Object.fromEntries(POSTFIX_MAP_NAMES.map((n) => [n, join(mapDir, MAP_FILE[n])])) as Record<
    keyof PostfixMaps,
    string
  >;
  const ldapFiles = options.ldap
    ? { generic: join(confDir, 'invis-ldap-generic.cf'), recipientCanonical: join(confDir, 'invis-ldap-recipient.cf') }
    : undefined;
  const mainCf = renderMainCfSettings({
    type: mapType,
    files,
    ...(ldapFiles ? { ldap: ldapFiles } : {}),
    ...(options.trust ? { trust: options.trust } : {}),
    ...(options.submission ? { submission: options.submission } : {}),
  });

  const must = async (
    command: string,
    args: string[],
    code: 'MAIL_CHECK_FAILED' | 'MAIL_COMMAND_FAILED',
    secretOutput = false,
  ) => {
    const r = await runner(command, args);
    if (r.exitCode !== 0) {
      // fetchmail's dump and diagnostics can quote passwords: keep them out of the error.
      const output = secretOutput ? '(output withheld)' : `${r.stderr}\n${r.stdout}`.trim().slice(0, 2000);
      throw new MailRewriteError(code, `${command} ${args[0] ?? ''} failed (exit ${r.exitCode}): ${output}`, {
        data: { command, exitCode: r.exitCode },
      });
    }
    return r;
  };
  const readMainCf = (): Promise<string | undefined> => fs.readFile(mainCfPath, 'utf8').catch(() => undefined);
  /** Content of a generated file, never read through a link (its target would end up in the report). */
  const read = async (path: string): Promise<string | undefined> => {
    const handle = await fs.open(path, O_RDONLY | O_NOFOLLOW).catch((error: unknown) => {
      if (errno(error) === 'ELOOP') throw unsafe(path, error);
      return undefined;
    });
    if (!handle) return undefined;
    try {
      return await handle.readFile({ encoding: 'utf8' });
    } finally {
      await handle.close();
    }
  };
  /**
   * A user's home and its `sieve` folder must be real directories (or absent; `create` makes
   * them). A link there would send root's writes and chowns anywhere.
   */
  const checkUserDirs = async (home: string, create: boolean): Promise<void> => {
    for (const dir of [home, join(home, 'sieve')]) {
      let stat = await fs.lstat(dir).catch((error: unknown) => {
        if (errno(error) === 'ENOENT') return undefined;
        throw error;
      });
      if (!stat && !create) return;
      if (!stat) {
        await fs.mkdir(dir, { recursive: dir === home });
        stat = await fs.lstat(dir);
      }
      if (stat.isSymbolicLink() || !stat.isDirectory()) throw unsafe(dir);
    }
  };
  // Postfix commands stall ~2 s while main.cf is younger than 2 s (lab note 1.3): age it.
  const ageMainCf = async (dir = confDir): Promise<void> => {
    const past = new Date(clock().getTime() - 3000);
    await fs.utimes(join(dir, 'main.cf'), past, past);
  };
  const writeAtomic = async (d: Desired): Promise<void> => {
    const tmp = join(dirname(d.path), `.${basename(d.path)}.invis-tmp`);
    if (d.home !== undefined) await checkUserDirs(d.home, true);
    else await fs.mkdir(dirname(d.path), { recursive: true });
    // A leftover temp file or a planted link is unlinked (never followed); O_EXCL|O_NOFOLLOW
    // then refuses whatever appears in its place before the open.
    await fs.rm(tmp, { force: true });
    const handle = await fs.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, d.mode).catch((error: unknown) => {
      throw ['EEXIST', 'ELOOP'].includes(errno(error) ?? '') ? unsafe(tmp, error) : error;
    });
    try {
      try {
        await handle.writeFile(d.content ?? '');
        await handle.chmod(d.mode);
        if (d.owner) await handle.chown(d.owner.uid, d.owner.gid);
      } finally {
        await handle.close();
      }
      await d.validate?.(tmp);
      await fs.rename(tmp, d.path);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
  };
  const postmap = async (path: string): Promise<void> => {
    await must('postmap', ['-c', confDir, `${mapType}:${path}`], 'MAIL_COMMAND_FAILED');
    const suffix = COMPILED_SUFFIX[mapType];
    // The compiled copy of the SASL table is as secret as its source.
    if (suffix && path === files.saslPassword) await fs.chmod(path + suffix, 0o600);
  };

  function desiredFiles(config: MailConfig): Desired[] {
    const maps = buildPostfixMaps(config, options.submission?.login ? { login: options.submission.login } : {});
    const out: Desired[] = POSTFIX_MAP_NAMES.map((name) => ({
      path: files[name],
      content: renderPostfixMap(maps[name]),
      mode: name === 'saslPassword' ? 0o600 : 0o644,
      secret: name === 'saslPassword',
      postmap: mapType !== 'texthash',
    }));
    if (options.ldap && ldapFiles) {
      const tables = renderLdapTables(options.ldap);
      const group = options.owners?.postfixGroup;
      for (const name of ['generic', 'recipientCanonical'] as const) {
        out.push({
          path: ldapFiles[name],
          content: tables[name],
          mode: 0o640,
          owner: group === undefined ? undefined : { uid: 0, gid: group },
          secret: true,
        });
      }
    }
    const checkRc = async (tmp: string): Promise<void> => {
      await must('fetchmail', ['-f', tmp, '--configdump'], 'MAIL_CHECK_FAILED', true);
    };
    // sievec runs as root and writes a binary next to its input: compile a copy in a
    // root-only folder, never in the user's (a planted link there would be written through).
    const checkSieve = (user: MailUser, content: string) => async (): Promise<void> => {
      const dir = join(paths.backupDir, `sieve-check-${process.pid}-${user.user}`);
      await fs.rm(dir, { force: true, recursive: true });
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      try {
        await fs.writeFile(join(dir, VACATION_SCRIPT), content, { mode: 0o600 });
        await must('sievec', [join(dir, VACATION_SCRIPT), join(dir, 'compiled.svbin')], 'MAIL_CHECK_FAILED');
      } finally {
        await fs.rm(dir, { force: true, recursive: true });
      }
    };
    out.push({
      path: paths.fetchmailRc,
      content: renderFetchmailRc(buildFetchmailRc(config, options.fetchmail)),
      mode: 0o600,
      owner: options.owners?.fetchmail,
      secret: true,
      validate: (options.validate?.fetchmail ?? true) ? checkRc : undefined,
    });
    for (const user of config.users) {
      const content = renderVacationSieve(user);
      out.push({
        path: join(paths.sieveHome(user), 'sieve', VACATION_SCRIPT),
        content,
        mode: 0o644,
        owner: options.owners?.sieve,
        secret: false,
        validate: (options.validate?.sieve ?? true) && content !== undefined ? checkSieve(user, content) : undefined,
        home: paths.sieveHome(user),
      });
    }
    return out;
  }

  async function stageMainCf(): Promise<string | undefined> {
    const current = await readMainCf();
    if (current === undefined) {
      throw new MailRewriteError('MAIL_COMMAND_FAILED', `no main.cf in ${confDir}`, { data: { confDir } });
    }
    const set = (await must('postconf', ['-c', confDir, '-n'], 'MAIL_COMMAND_FAILED')).stdout;
    const now = new Map(
      set.split('\n').map((l) => {
        const at = l.indexOf(' = ');
        return [l.slice(0, at), l.slice(at + 3)] as const;
      }),
    );
    if (Object.entries(mainCf).every(([k, v]) => now.get(k) === v)) return undefined;
    const stage = join(paths.backupDir, `stage-${process.pid}`);
    await fs.rm(stage, { force: true, recursive: true });
    await fs.mkdir(stage, { recursive: true, mode: 0o700 });
    await fs.writeFile(join(stage, 'main.cf'), current, { mode: 0o644 });
    await ageMainCf(stage);
    await must(
      'postconf',
      ['-c', stage, '-e', ...Object.entries(mainCf).map(([k, v]) => `${k}=${v}`)],
      'MAIL_COMMAND_FAILED',
    );
    const staged = await fs.readFile(join(stage, 'main.cf'), 'utf8');
    await fs.rm(stage, { force: true, recursive: true });
    return staged;
  }

  /** Everything apply decides before it writes: rendered files, what differs, the report. */
  async function compute(config: MailConfig) {
    const desired = desiredFiles(config);
    const before = new Map<string, string | undefined>();
    for (const d of desired) {
      if (d.home !== undefined) await checkUserDirs(d.home, false);
      before.set(d.path, await read(d.path));
    }
    const changed = desired.filter((d) => before.get(d.path) !== d.content);
    const stagedMainCf = await stageMainCf();
    const report: ApplyReport = {
      changed: changed.filter((d) => d.content !== undefined).map((d) => d.path),
      unchanged: desired.filter((d) => !changed.includes(d)).map((d) => d.path),
      removed: changed.filter((d) => d.content === undefined).map((d) => d.path),
      mainCf: mainCf,
      diff: changed
        .filter((d) => !d.secret)
        .map((d) => lineDiff(d.path, before.get(d.path), d.content))
        .join(''),
      reloaded: false,
    };
    if (stagedMainCf !== undefined) {
      before.set(mainCfPath, await readMainCf());
      report.changed.push(mainCfPath);
      report.diff += lineDiff(mainCfPath, before.get(mainCfPath), stagedMainCf);
    }
    return { desired, before, changed, stagedMainCf, report };
  }

  return {
    async plan(config) {
      return (await compute(config)).report;
    },
    async apply(config) {
      const { desired, before, changed, stagedMainCf, report } = await compute(config);
      if (report.changed.length === 0 && report.removed.length === 0) return report;

      const backup = join(paths.backupDir, clock().toISOString().replace(/[:.]/g, '-'));
      await fs.mkdir(backup, { recursive: true, mode: 0o700 });
      report.backup = backup;
      const touched = [...changed.map((d) => d.path), ...(stagedMainCf !== undefined ? [mainCfPath] : [])];
      for (const [i, path] of touched.entries()) {
        const old = before.get(path);
        if (old !== undefined) await fs.writeFile(join(backup, `${i}-${basename(path)}`), old, { mode: 0o600 });
      }
      const postfixTouched = touched.some((p) => p !== paths.fetchmailRc && !p.endsWith(VACATION_SCRIPT));
      const linkUndo: LinkChange[] = [];
      try {
        // Files are independent: write, validate and compile them concurrently, and only
        // roll back once every one of them has settled.
        const settled = await Promise.allSettled(
          changed.map(async (d) => {
            if (d.content === undefined) {
              if (d.home !== undefined) await checkUserDirs(d.home, false);
              await fs.rm(d.path, { force: true });
            } else await writeAtomic(d);
            if (d.postmap) await postmap(d.path);
          }),
        );
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        if (stagedMainCf !== undefined) {
          await writeAtomic({ path: mainCfPath, content: stagedMainCf, mode: 0o644, secret: false });
          await ageMainCf(confDir);
        }
        await activateVacations(config, linkUndo);
        if (postfixTouched) {
          // `postfix check` (0.3–0.6 s) validates configuration changes; a compiled table has
          // already been validated by postmap, which refuses malformed tables.
          const configChanged = touched.some((p) => p === mainCfPath || p.endsWith('.cf'));
          if (configChanged || mapType === 'texthash')
            await must('postfix', ['-c', confDir, 'check'], 'MAIL_CHECK_FAILED');
          if (options.reloadPostfix ?? true) {
            await must('postfix', ['-c', confDir, 'reload'], 'MAIL_COMMAND_FAILED').catch((cause: unknown) => {
              throw new MailRewriteError('MAIL_RELOAD_FAILED', 'postfix reload failed; previous files restored', {
                cause,
                data: { confDir },
              });
            });
            report.reloaded = true;
          }
        }
        if (changed.some((d) => d.path === paths.fetchmailRc)) await options.onFetchmailChanged?.();
        return report;
      } catch (error) {
        await rollback(touched, before, desired, postfixTouched);
        for (const { link, previous } of linkUndo.reverse()) {
          await fs.rm(link, { force: true }).catch(() => undefined);
          if (previous !== undefined) await fs.symlink(previous, link).catch(() => undefined);
        }
        throw error;
      }
    },
  };

  /** Points each user's active-script link at our script or removes it; records what it changed. */
  async function activateVacations(config: MailConfig, undo: LinkChange[]): Promise<void> {
    for (const user of config.users) {
      const home = paths.sieveHome(user);
      await checkUserDirs(home, false);
      const link = join(home, '.dovecot.sieve');
      const target = join('sieve', VACATION_SCRIPT);
      const current = await fs.readlink(link).catch(() => undefined);
      const active = user.presence === 'vacation' && user.vacation !== undefined;
      if (active && current !== target) {
        // A user's own active script (not a link to ours) is left alone.
        if (current === undefined && (await fs.lstat(link).catch(() => undefined)) !== undefined) continue;
        undo.push({ link, previous: current });
        await fs.rm(link, { force: true });
        await fs.symlink(target, link);
      } else if (!active && current === target) {
        undo.push({ link, previous: current });
        await fs.rm(link, { force: true });
      }
      if (options.owners?.sieve) {
        for (const dir of [home, join(home, 'sieve')]) {
          // lchown: should a link appear after the check, only the link changes owner.
          await fs.lchown(dir, options.owners.sieve.uid, options.owners.sieve.gid).catch((error: unknown) => {
            if (errno(error) !== 'ENOENT') throw error;
          });
        }
      }
    }
  }

  async function rollback(
    touched: string[],
    before: Map<string, string | undefined>,
    desired: Desired[],
    postfix: boolean,
  ): Promise<void> {
    for (const path of touched) {
      const old = before.get(path);
      const d = desired.find((x) => x.path === path);
      const compiled = COMPILED_SUFFIX[mapType];
      if (old === undefined) {
        await fs.rm(path, { force: true }).catch(() => undefined);
        if (compiled && d?.postmap) await fs.rm(path + compiled, { force: true }).catch(() => undefined);
      } else {
        await writeAtomic({
          path,
          content: old,
          mode: d?.mode ?? 0o644,
          owner: d?.owner,
          secret: true,
          ...(d?.home !== undefined ? { home: d.home } : {}),
        }).catch(() => undefined);
        if (d?.postmap) await postmap(path).catch(() => undefined);
      }
    }
    if (postfix) {
      await ageMainCf(confDir).catch(() => undefined);
      if (options.reloadPostfix ?? true) await runner('postfix', ['-c', confDir, 'reload']).catch(() => undefined);
    }
  }
}

/** Minimal line diff: lines only in the old file (`-`) and only in the new one (`+`). */
function lineDiff(path: string, before: string | undefined, after: string | undefined): string {
  const a = (before ?? '').split('\n').filter(Boolean);
  const b = (after ?? '').split('\n').filter(Boolean);
  const setA = new Set(a);
  const setB = new Set(b);
  const lines = [
    ...a.filter((l) => !setB.has(l)).map((l) => `-${l}`),
    ...b.filter((l) => !setA.has(l)).map((l) => `+${l}`),
  ];
  return lines.length > 0 ? `--- ${path}\n${lines.join('\n')}\n` : '';
}
