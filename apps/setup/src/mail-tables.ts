// The Postfix lookup tables the `mailserver` module compiles: the @invis/mail-rewrite tables read
// from the directory plus the root/postmaster aliases. A table is never rewritten in place: its
// source and `postmap`'s compiled copy are made in a private folder beside it (0700, so the SASL
// table's compiled copy is never readable by others, not even for a moment), then each is renamed
// over the old one. Postfix sees the old table or the new one, never a half-written one.
import { utimes } from 'node:fs/promises';
import { type FileChange, fileChange, lastOutputLine } from '@invis/host';
import { buildPostfixMaps, type MailConfig, POSTFIX_MAP_NAMES, renderPostfixMap } from '@invis/mail-rewrite';
import { SetupError } from './errors';
import { postfixPaths, renderAliases, renderVirtualAliases } from './mail-render';
import type { ModuleContext } from './module';

/** One compiled table: its source path, the source text, whether it holds secrets. */
export interface TableFile {
  path: string;
  content: string;
  secret: boolean;
}

/**
 * Every compiled table for a mail configuration (none from the directory when `config` is
 * undefined: staging, or before the directory answers — then the tables are empty).
 * @param ctx answers and profile
 * @param config the directory's mail configuration
 * @returns the tables
 */
export function renderTables(
  ctx: Pick<ModuleContext, 'answers' | 'profile'>,
  config: MailConfig | undefined,
): TableFile[] {
  const p = postfixPaths(ctx.profile);
  const maps = config ? buildPostfixMaps(config, { login: 'account' }) : undefined;
  return [
    ...POSTFIX_MAP_NAMES.map((name) => ({
      path: p.tables[name],
      content: renderPostfixMap(maps?.[name] ?? []),
      secret: name === 'saslPassword',
    })),
    { path: p.aliases, content: renderAliases(ctx.answers), secret: false },
    { path: p.virtualAliases, content: renderVirtualAliases(ctx.answers), secret: false },
  ];
}

/**
 * What would change: a table whose source differs or whose compiled copy is missing.
 * @param ctx the module context
 * @param tables the wanted tables
 * @returns one change per table (secret ones without diff)
 */
export async function planTables(ctx: ModuleContext, tables: readonly TableFile[]): Promise<FileChange[]> {
  const changes: FileChange[] = [];
  for (const table of tables) {
    const current = await ctx.fs.readFileIfExists(table.path);
    const compiled = await ctx.fs.exists(`${table.path}.lmdb`);
    // A missing compiled copy counts as a missing table.
    changes.push(fileChange(table.path, compiled ? current : undefined, table.content, { secret: table.secret }));
  }
  return changes;
}

/**
 * Writes and compiles the tables that changed, each replaced by rename (see the file comment).
 * `postmap` reads `mainCf` (the rendered main.cf, in the private folder) for its settings.
 * @param ctx the module context
 * @param tables the wanted tables
 * @param mainCf the rendered main.cf
 * @returns the paths replaced
 * @throws SetupError `SETUP_CHECK_FAILED` when postmap refuses a table (nothing replaced then)
 */
export async function writeTables(ctx: ModuleContext, tables: readonly TableFile[], mainCf: string): Promise<string[]> {
  const changed = (await planTables(ctx, tables)).filter((c) => c.action !== 'unchanged').map((c) => c.path);
  if (changed.length === 0) return [];
  const { invis } = postfixPaths(ctx.profile);
  await ctx.fs.mkdir(invis, 0o755);
  const work = await ctx.fs.mkdtemp(`${invis}/.new-`);
  try {
    await ctx.fs.writeFileAtomic(`${work}/main.cf`, mainCf, { mode: 0o600 });
    // Postfix commands stall ~2 s while main.cf is younger than 2 s.
    const past = new Date(Date.now() - 3000);
    await utimes(ctx.fs.hostPath(`${work}/main.cf`), past, past);
    const name = (path: string) => path.slice(path.lastIndexOf('/') + 1);
    for (const path of changed) {
      const table = tables.find((t) => t.path === path) as TableFile;
      const source = `${work}/${name(path)}`;
      await ctx.fs.writeFileAtomic(source, table.content, { mode: table.secret ? 0o600 : 0o644 });
      const result = await ctx.runner.run(
        ctx.profile.mail.postfix.postmap,
        ['-c', ctx.fs.hostPath(work), `lmdb:${ctx.fs.hostPath(source)}`],
        { timeoutMs: 30_000 },
      );
      if (result.exitCode !== 0) {
        throw new SetupError('SETUP_CHECK_FAILED', `${path}: postmap refused it: ${lastOutputLine(result)}`, {
          details: { module: 'mailserver', path },
        });
      }
    }
    // Compiled copies first: Postfix opens the compiled copy, the source is for people and plan.
    for (const path of changed) {
      const source = `${work}/${name(path)}`;
      const table = tables.find((t) => t.path === path) as TableFile;
      const lmdb = await ctx.fs.readBytes(`${source}.lmdb`);
      await ctx.fs.writeFileAtomic(`${path}.lmdb`, lmdb, { mode: table.secret ? 0o600 : 0o644 });
      await ctx.fs.rename(source, path);
    }
    return changed;
  } finally {
    await ctx.fs.remove(work);
  }
}
