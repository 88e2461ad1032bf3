// The layer that touches disk and runs programs: render → compare → check → back up → write →
// postmap → postconf → postfix check → reload → roll back on failure. Files outside the users'
// homes go through the host's HostFs; the users' Sieve folders through ./home-files (no links).
import { basename, dirname, join } from 'node:path';
import {
  type ApplyPlan,
  type ApplyReport,
  applyReport,
  type Clock,
  type CommandResult,
  type CommandRunner,
  createExecaRunner,
  createNodeFs,
  emptyPlan,
  fileChange,
  type HostFs,
  isHostError,
  type PlannedCommand,
  systemClock,
} from '@invis/host';
import { MailRewriteError, type MailRewriteErrorCode } from './errors';
import { buildFetchmailRc, type FetchmailOptions, renderFetchmailRc } from './fetchmail';
import {
  checkUserDirs,
  chownUserDirs,
  type Owner,
  readUserFile,
  readUserLink,
  removeUserFile,
  replaceUserLink,
  setFileMode,
  setFileTime,
  unsafePath,
  writeUserFile,
} from './home-files';
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

export type { Owner } from './home-files';

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
  /** Backups go to `<backupDir>/<timestamp>/`; checks and the staged main.cf use private folders here. */
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
  /** Runs postconf, postmap, postfix, fetchmail and sievec (default: the host's execa runner). */
  runner?: CommandRunner;
  /**
   * File operations outside the users' homes: tables, rc, main.cf, backups (default: the host's
   * node:fs facade). The users' Sieve folders are always written on node:fs without following links.
   */
  fs?: HostFs;
  /** Names the backup folder and ages main.cf (default: the system clock). */
  clock?: Clock;
}

/**
 * What `apply` would do: every file with its unified diff (secret files — SASL table, rc, LDAP
 * tables — are named, their diff withheld), the programs that change the running system
 * (`postmap`, `postfix reload`) and the `main.cf` parameters.
 */
export interface MailApplyPlan extends ApplyPlan {
  /** The `main.cf` parameters apply sets (whether or not they differ now). */
  mainCf: Record<string, string>;
}

/** What one apply did: the host's report (`files`, `commands`, `changed`, `backup`, `timings`) and the `main.cf` parameters. */
export interface MailApplyReport extends ApplyReport {
  /** The `main.cf` parameters apply sets (whether or not they changed). */
  mainCf: Record<string, string>;
}

/** Applies a mail configuration to Postfix, fetchmail and Dovecot/Pigeonhole. */
export interface MailApplier {
  /**
   * What `apply` would change, with the diff; writes nothing (only a staged copy of main.cf in
   * a private folder under `backupDir`, removed again) and runs only `postconf`.
   * @param config the parsed configuration
   * @returns the plan
   * @throws MailRewriteError `MAIL_COMMAND_FAILED` (no main.cf, postconf failed), `MAIL_UNSAFE_PATH`
   */
  plan(config: MailConfig): Promise<MailApplyPlan>;
  /**
   * Renders everything, checks the rc (`fetchmail --configdump`) and scripts (`sievec`) on
   * private copies, backs up and writes what changed atomically, compiles changed tables with
   * `postmap`, sets the `main.cf` parameters with `postconf -e` on a staged copy, runs `postfix
   * check` (when main.cf, an LDAP table or a texthash table changed; postmap validates compiled
   * tables) and `postfix reload`; on any failure restores the backup (and reloads again) and throws.
   * @param config the parsed configuration
   * @returns the report; `changed: false` when nothing differed (then only `postconf -n` ran)
   * @throws MailRewriteError `MAIL_CHECK_FAILED`, `MAIL_RELOAD_FAILED`, `MAIL_COMMAND_FAILED`, `MAIL_UNSAFE_PATH`
   */
  apply(config: MailConfig): Promise<MailApplyReport>;
}

interface Desired {
  path: string;
  /** undefined = must not exist. */
  content: string | undefined;
  mode: number;
  owner?: Owner | undefined;
  secret: boolean;
  postmap?: boolean;
  /** Refuses the content before anything is written (runs the real checker on a private copy). */
  validate?: ((content: string) => Promise<void>) | undefined;
  /** The file lies in this user's Dovecot home (writable by the mail user: no links allowed). */
  home?: string;
}

const VACATION_SCRIPT = 'invis-vacation.sieve';

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
 * @param options paths, fetchmail and submission settings, owners, collaborators
 * @returns the applier
 * @example
 * const applier = createMailApplier({ paths, fetchmail: { smtpHost: '127.0.0.1' } });
 * const report = await applier.apply(parseMailConfig(input));
 */
export function createMailApplier(options: MailApplierOptions): MailApplier {
  const fs = options.fs ?? createNodeFs();
  const runner = options.runner ?? createExecaRunner();
  const clock = options.clock ?? systemClock;
  const { paths } = options;
  const confDir = paths.postfixConfigDir;
  const mainCfPath = join(confDir, 'main.cf');
  const mapDir = paths.mapDir ?? confDir;
  const mapType = options.mapType ?? 'lmdb';
  const reloadPostfix = options.reloadPostfix ?? true;
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
  const reloadCommand: PlannedCommand = {
    command: 'postfix',
    args: ['-c', confDir, 'reload'],
    reason: 'Postfix reads the changed tables and main.cf',
  };
  const postmapCommand = (path: string): PlannedCommand => ({
    command: 'postmap',
    args: ['-c', confDir, `${mapType}:${path}`],
    reason: 'compile the table',
  });

  /** Runs a program; a non-zero exit or a program that cannot run is `code`. */
  const must = async (
    command: string,
    args: readonly string[],
    code: Extract<MailRewriteErrorCode, 'MAIL_CHECK_FAILED' | 'MAIL_COMMAND_FAILED'>,
    secretOutput = false,
  ): Promise<CommandResult> => {
    const commandLine = [command, ...args].join(' ');
    let result: CommandResult;
    try {
      result = await runner.run(command, args);
    } catch (cause) {
      // HOST_COMMAND_NOT_FOUND / _TIMEOUT / _FAILED: the host error stays the cause.
      if (!isHostError(cause)) throw cause;
      throw new MailRewriteError(code, `${commandLine} could not run: ${cause.message}`, {
        cause,
        details: { command },
      });
    }
    if (result.exitCode !== 0) {
      // fetchmail's dump and diagnostics can quote passwords: keep them out of the error.
      const output = secretOutput ? '(output withheld)' : result.output.trim().slice(0, 2000);
      throw new MailRewriteError(code, `${commandLine} failed (exit ${result.exitCode}): ${output}`, {
        details: { command, exitCode: result.exitCode },
      });
    }
    return result;
  };
  /** Runs `fn` in a new root-only folder under `backupDir`, removed afterwards. */
  const inPrivateDir = async <T>(fn: (dir: string) => Promise<T>): Promise<T> => {
    await fs.mkdir(paths.backupDir, 0o700);
    const dir = await fs.mkdtemp(join(paths.backupDir, 'work-'));
    try {
      return await fn(dir);
    } finally {
      await fs.remove(dir);
    }
  };
  // Postfix commands stall ~2 s while main.cf is younger than 2 s (lab note 1.3): age it.
  const ageMainCf = (dir: string): Promise<void> =>
    setFileTime(join(dir, 'main.cf'), new Date(clock.now().getTime() - 3000));
  const read = (d: Desired): Promise<string | undefined> =>
    d.home === undefined ? fs.readFileIfExists(d.path) : readUserFile(d.path);
  const write = async (d: Desired & { content: string }): Promise<void> => {
    if (d.home !== undefined) {
      await writeUserFile(d.home, d.path, d.content, { mode: d.mode, owner: d.owner });
      return;
    }
    await fs.mkdir(dirname(d.path));
    const owner = d.owner ? { uid: d.owner.uid, gid: d.owner.gid } : {};
    await fs.writeFileAtomic(d.path, d.content, { mode: d.mode, ...owner }).catch((error: unknown) => {
      throw isHostError(error) && error.code === 'HOST_UNSAFE_PATH' ? unsafePath(d.path, error) : error;
    });
  };
  const remove = (d: Desired): Promise<void> =>
    d.home === undefined ? fs.remove(d.path) : removeUserFile(d.home, d.path);
  const postmap = async (path: string): Promise<void> => {
    const { command, args } = postmapCommand(path);
    await must(command, args, 'MAIL_COMMAND_FAILED');
    const suffix = COMPILED_SUFFIX[mapType];
    // The compiled copy of the SASL table is as secret as its source.
    if (suffix && path === files.saslPassword) await setFileMode(path + suffix, 0o600);
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
    // fetchmail refuses an rc that is not 0600 and owned as the real one will be: check a copy
    // with the same mode and owner.
    const fetchmailOwner = options.owners?.fetchmail;
    const checkRc = (content: string): Promise<void> =>
      inPrivateDir(async (dir) => {
        const rc = join(dir, 'fetchmailrc');
        await fs.writeFileAtomic(rc, content, { mode: 0o600, ...(fetchmailOwner ?? {}) });
        await must('fetchmail', ['-f', rc, '--configdump'], 'MAIL_CHECK_FAILED', true);
      });
    // sievec runs as root and writes a binary next to its input: compile a copy in a
    // root-only folder, never in the user's (a planted link there would be written through).
    const checkSieve = (content: string): Promise<void> =>
      inPrivateDir(async (dir) => {
        await fs.writeFileAtomic(join(dir, VACATION_SCRIPT), content, { mode: 0o600 });
        await must('sievec', [join(dir, VACATION_SCRIPT), join(dir, 'compiled.svbin')], 'MAIL_CHECK_FAILED');
      });
    out.push({
      path: paths.fetchmailRc,
      content: renderFetchmailRc(buildFetchmailRc(config, options.fetchmail)),
      mode: 0o600,
      owner: fetchmailOwner,
      secret: true,
      validate: (options.validate?.fetchmail ?? true) ? checkRc : undefined,
    });
    for (const user of config.users) {
      out.push({
        path: join(paths.sieveHome(user), 'sieve', VACATION_SCRIPT),
        content: renderVacationSieve(user),
        mode: 0o644,
        owner: options.owners?.sieve,
        secret: false,
        validate: (options.validate?.sieve ?? true) ? checkSieve : undefined,
        home: paths.sieveHome(user),
      });
    }
    return out;
  }

  /** main.cf as it is and as `postconf -e` makes it (undefined: every parameter is set already). */
  async function stageMainCf(): Promise<{ current: string; staged: string | undefined }> {
    const current = await fs.readFileIfExists(mainCfPath);
    if (current === undefined) {
      throw new MailRewriteError('MAIL_COMMAND_FAILED', `no main.cf in ${confDir}`, { details: { confDir } });
    }
    const set = (await must('postconf', ['-c', confDir, '-n'], 'MAIL_COMMAND_FAILED')).stdout;
    const now = new Map(
      set.split('\n').map((l) => {
        const at = l.indexOf(' = ');
        return [l.slice(0, at), l.slice(at + 3)] as const;
      }),
    );
    if (Object.entries(mainCf).every(([k, v]) => now.get(k) === v)) return { current, staged: undefined };
    const staged = await inPrivateDir(async (stage) => {
      await fs.writeFileAtomic(join(stage, 'main.cf'), current, { mode: 0o644 });
      await ageMainCf(stage);
      await must(
        'postconf',
        ['-c', stage, '-e', ...Object.entries(mainCf).map(([k, v]) => `${k}=${v}`)],
        'MAIL_COMMAND_FAILED',
      );
      return fs.readFile(join(stage, 'main.cf'));
    });
    return { current, staged };
  }

  /** Everything apply decides before it writes: rendered files, what differs, the plan. */
  async function compute(config: MailConfig) {
    const desired = desiredFiles(config);
    const before = new Map<string, string | undefined>();
    for (const d of desired) {
      if (d.home !== undefined) await checkUserDirs(d.home, false);
      before.set(d.path, await read(d));
    }
    const changed = desired.filter((d) => before.get(d.path) !== d.content);
    const { current, staged } = await stageMainCf();
    before.set(mainCfPath, current);
    const touched = [...changed.map((d) => d.path), ...(staged !== undefined ? [mainCfPath] : [])];
    const postfixTouched = touched.some((p) => p !== paths.fetchmailRc && !p.endsWith(VACATION_SCRIPT));
    // `postfix check` (0.3–0.6 s) validates configuration changes; a compiled table has
    // already been validated by postmap, which refuses malformed tables.
    const checkPostfix =
      postfixTouched && (mapType === 'texthash' || touched.some((p) => p === mainCfPath || p.endsWith('.cf')));

    const plan: MailApplyPlan = { ...emptyPlan(), mainCf };
    for (const d of desired) plan.files.push(fileChange(d.path, before.get(d.path), d.content, { secret: d.secret }));
    plan.files.push(fileChange(mainCfPath, current, staged ?? current));
    for (const d of changed) if (d.postmap && d.content !== undefined) plan.commands.push(postmapCommand(d.path));
    if (postfixTouched && reloadPostfix) plan.commands.push(reloadCommand);
    return { desired, before, changed, staged, touched, postfixTouched, checkPostfix, plan };
  }

  return {
    async plan(config) {
      return (await compute(config)).plan;
    },
    async apply(config) {
      const { desired, before, changed, staged, touched, postfixTouched, checkPostfix, plan } = await compute(config);
      if (touched.length === 0) return { ...applyReport(plan), mainCf };

      const backup = join(paths.backupDir, clock.now().toISOString().replace(/[:.]/g, '-'));
      await fs.mkdir(backup, 0o700);
      for (const [i, path] of touched.entries()) {
        const old = before.get(path);
        if (old !== undefined) await fs.writeFileAtomic(join(backup, `${i}-${basename(path)}`), old, { mode: 0o600 });
      }
      const linkUndo: LinkChange[] = [];
      const timings: Record<string, number> = {};
      const timed = async (stage: string, fn: () => Promise<void>): Promise<void> => {
        const start = performance.now();
        await fn();
        timings[stage] = performance.now() - start;
      };
      try {
        await timed('write', async () => {
          // Files are independent: check, write and compile them concurrently, and only roll
          // back once every one of them has settled.
          const settled = await Promise.allSettled(
            changed.map(async (d) => {
              if (d.content === undefined) return remove(d);
              await d.validate?.(d.content);
              await write({ ...d, content: d.content });
              if (d.postmap) await postmap(d.path);
            }),
          );
          const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw failed.reason;
          if (staged !== undefined) {
            await write({ path: mainCfPath, content: staged, mode: 0o644, secret: false });
            await ageMainCf(confDir);
          }
          await activateVacations(config, linkUndo);
        });
        if (checkPostfix)
          await timed('check', () => must('postfix', ['-c', confDir, 'check'], 'MAIL_CHECK_FAILED').then());
        if (postfixTouched && reloadPostfix) {
          await timed('reload', async () => {
            await must(reloadCommand.command, reloadCommand.args, 'MAIL_COMMAND_FAILED').catch((cause: unknown) => {
              throw new MailRewriteError('MAIL_RELOAD_FAILED', 'postfix reload failed; previous files restored', {
                cause,
                details: { confDir },
              });
            });
          });
        }
        if (changed.some((d) => d.path === paths.fetchmailRc)) await options.onFetchmailChanged?.();
        return { ...applyReport(plan, { backup, timings }), mainCf };
      } catch (error) {
        await rollback(touched, before, desired, postfixTouched);
        for (const { link, previous } of linkUndo.reverse()) {
          await replaceUserLink(link, previous).catch(() => undefined);
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
      const current = await readUserLink(link);
      const active = user.presence === 'vacation' && user.vacation !== undefined;
      if (active && current !== target) {
        // A user's own active script (not a link to ours) is left alone.
        if (current === undefined && (await fs.exists(link))) continue;
        undo.push({ link, previous: current });
        await replaceUserLink(link, target);
      } else if (!active && current === target) {
        undo.push({ link, previous: current });
        await replaceUserLink(link, undefined);
      }
      if (options.owners?.sieve) await chownUserDirs(home, options.owners.sieve);
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
      const d = desired.find((x) => x.path === path) ?? { path, content: old, mode: 0o644, secret: false };
      const compiled = COMPILED_SUFFIX[mapType];
      if (old === undefined) {
        await remove(d).catch(() => undefined);
        if (compiled && d.postmap) await fs.remove(path + compiled).catch(() => undefined);
      } else {
        await write({ ...d, content: old }).catch(() => undefined);
        if (d.postmap) await postmap(path).catch(() => undefined);
      }
    }
    if (postfix) {
      await ageMainCf(confDir).catch(() => undefined);
      if (reloadPostfix) await runner.run(reloadCommand.command, reloadCommand.args).catch(() => undefined);
    }
  }
}
