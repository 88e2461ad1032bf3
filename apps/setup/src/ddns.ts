// `invis-setup ddns`: one run of the @invis/dns-zone DDNS updater (the original's `inetcheck`)
// for the answers' `ddns` section, writing the line the portal's status page shows.
import { stat } from 'node:fs/promises';
import {
  createDdnsUpdater,
  type DdnsResult,
  type FetchLike,
  fileStateStore,
  formatDdnsResult,
  httpEchoSource,
  interfaceSource,
  type PublicIpSource,
  parseTsigKeyFile,
  upnpRouterSource,
} from '@invis/dns-zone';
import { recordJobRun } from '@invis/host';
import type { Answers } from './answers';
import { SetupError } from './errors';
import type { ModuleContext } from './module';
import { DDNS_INTERVAL_MINUTES } from './modules/ddns';

/** The DDNS answers (present when DDNS is wanted). */
export type DdnsAnswers = NonNullable<Answers['ddns']>;

/**
 * The public-address source the answers name. https echoes only (the library refuses plain http:
 * whoever answers decides what gets published); UPnP speaks http to the router on the LAN.
 * @param source the answers' `ddns.source`
 * @param fetch fetch implementation (default: global fetch)
 * @returns the source
 */
export function ddnsSource(source: DdnsAnswers['source'], fetch?: FetchLike): PublicIpSource {
  const options = fetch ? { fetch } : {};
  if (source.type === 'https') return httpEchoSource(source.url, options);
  if (source.type === 'upnp') return upnpRouterSource(source.url, options);
  return interfaceSource(source.name);
}

/** Where the updater keeps its own state (JSON; the portal reads the spool line instead). */
export const ddnsStatePath = (ctx: Pick<ModuleContext, 'profile'>): string => `${ctx.profile.ddns.stateDir}/state.json`;

/**
 * One DDNS run: reads the provider's TSIG key (refused unless only its owner can read it),
 * publishes the public address when it changed, and writes the result line to the portal's
 * inetcheck file (first line = state, mtime = time of the check).
 * @param ctx the module context
 * @param options `fetch` for the https/UPnP source (tests)
 * @returns the updater's result (never throws for network or DNS trouble)
 * @throws SetupError `SETUP_USAGE` without a `ddns` section; `SETUP_CHECK_FAILED` for a key file
 *   others may read; DnsZoneError for an unreadable key file
 */
export async function runDdns(ctx: ModuleContext, options: { fetch?: FetchLike } = {}): Promise<DdnsResult> {
  const ddns = ctx.answers.ddns;
  if (!ddns) throw new SetupError('SETUP_USAGE', 'no ddns section in the answers: DDNS is off');
  const keyFile = ctx.fs.hostPath(ddns.keyFile);
  const key = parseTsigKeyFile(await ctx.fs.readFile(ddns.keyFile));
  if (((await stat(keyFile)).mode & 0o077) !== 0) {
    throw new SetupError('SETUP_CHECK_FAILED', `${ddns.keyFile} may be read by others than its owner: chmod 600 it`, {
      details: { path: ddns.keyFile },
    });
  }
  const { stateDir } = ctx.profile.ddns;
  const spool = ctx.profile.spool.inetcheck;
  await ctx.fs.mkdir(stateDir, 0o700);
  await ctx.fs.mkdir(spool.slice(0, spool.lastIndexOf('/')), 0o755);
  const startedAt = ctx.clock.now();
  const result = await createDdnsUpdater({
    fqdn: ddns.fqdn,
    zone: ddns.zone,
    sources: [ddnsSource(ddns.source, options.fetch)],
    server: { server: ddns.server, port: ddns.port, key },
    state: fileStateStore(ddnsStatePath(ctx), { fs: ctx.fs }),
    clock: ctx.clock,
  }).run();
  await ctx.fs.writeFileAtomic(spool, `${formatDdnsResult(result)}\n`, { mode: 0o644 });
  const finishedAt = ctx.clock.now();
  await recordJobRun(ctx.fs, ctx.profile.jobsDir, {
    name: 'ddns',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    // No public address (no Internet) is a warning; a refused or failed update is a failure.
    result: result.exitCode === 0 ? 'ok' : result.exitCode === 1 ? 'warning' : 'failed',
    message: formatDdnsResult(result),
    nextRunAt: new Date(finishedAt.getTime() + DDNS_INTERVAL_MINUTES * 60_000).toISOString(),
  });
  return result;
}
