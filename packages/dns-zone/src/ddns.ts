// DDNS updater, the successor of invis `inetcheck`: find the public address, and when it
// changed, delete and re-add the A/AAAA record (TTL 60) with a TSIG-signed RFC 2136 update.
import { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces as osNetworkInterfaces } from 'node:os';
import { type Clock, createNodeFs, type HostFs, isMissing, systemClock } from '@invis/host';
import { DnsZoneError, type DnsZoneErrorCode, isDnsZoneError } from './errors';
import { canonicalAddress, normalizeName } from './names';
import { createDnsUpdateClient, type DnsUpdateClient, type DnsUpdateClientOptions } from './update-client';

/** IP address family. */
export type IpFamily = 4 | 6;

/** Somewhere the public address can be learned from. */
export interface PublicIpSource {
  /** For status output, e.g. `https://ip.example/`. */
  readonly name: string;
  /** The public address of `family`, or undefined when the source has none. */
  lookup(family: IpFamily): Promise<string | undefined>;
}

const isFamily = (value: string, family: IpFamily): boolean => (family === 4 ? isIPv4(value) : isIPv6(value));

/** Minimal fetch signature (global fetch fits). */
export type FetchLike = (
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{
  ok: boolean;
  status: number;
  /** Final URL after redirects (global fetch sets it). */
  url?: string;
  text(): Promise<string>;
}>;

/** Options of {@link httpEchoSource}. */
export interface HttpEchoSourceOptions {
  /** fetch implementation (default: global fetch). */
  fetch?: FetchLike;
  /** Default 5000 ms. */
  timeoutMs?: number;
  /**
   * Accept a plain `http://` URL (default false: https only). Over plain http anyone on the
   * path can answer with an address of their choice, and the updater publishes it; choose
   * this only for an echo inside a network you trust (or a test).
   */
  allowPlainHttp?: boolean;
}

function invalidSource(message: string): DnsZoneError {
  return new DnsZoneError('DNS_INVALID_SOURCE', message);
}

/**
 * An HTTP echo service that returns the caller's address in its body (plain text, HTML or
 * JSON: the first token that is an address of the wanted family is used). https only unless
 * `allowPlainHttp`; a URL without scheme gets `https://`; a redirect to plain http is refused.
 * No host name or address is exempt (not even loopback): the scheme alone decides.
 *
 * @param url e.g. `https://api.ipify.org/` (the URL decides which family answers)
 * @param options fetch implementation, timeout, `allowPlainHttp`
 * @returns the source
 * @throws {DnsZoneError} `DNS_INVALID_SOURCE` for a malformed URL, another scheme, or `http:`
 *   without `allowPlainHttp`
 * @example httpEchoSource('https://api.ipify.org/')
 */
export function httpEchoSource(url: string, options: HttpEchoSourceOptions = {}): PublicIpSource {
  const doFetch = options.fetch ?? (globalThis.fetch as FetchLike);
  const allowed = options.allowPlainHttp ? ['https:', 'http:'] : ['https:'];
  const schemeless = !/^[a-z][a-z0-9+.-]*:/i.test(url);
  let parsed: URL;
  try {
    parsed = new URL(schemeless ? `https://${url}` : url);
  } catch (error) {
    throw new DnsZoneError('DNS_INVALID_SOURCE', `IP echo URL "${url}" is not a valid URL`, { cause: error });
  }
  if (!allowed.includes(parsed.protocol)) {
    throw invalidSource(
      parsed.protocol === 'http:'
        ? `IP echo URL ${parsed.href} is plain http: use https, or set allowPlainHttp for an echo in a trusted network`
        : `IP echo URL ${parsed.href}: only https${options.allowPlainHttp ? ' and http' : ''} are supported`,
    );
  }
  const href = parsed.href;
  return {
    name: href,
    async lookup(family) {
      const response = await doFetch(href, { signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
      // fetch follows redirects; one to plain http would bring back the unauthenticated answer.
      if (response.url && !allowed.includes(new URL(response.url).protocol)) {
        throw invalidSource(`IP echo ${href} redirected to ${response.url} (not https)`);
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.text();
      return body.split(/[^0-9a-fA-F.:]+/).find((token) => isFamily(token, family));
    },
  };
}

/**
 * The router's external address over UPnP IGD (`GetExternalIPAddress`, IPv4), as offered by
 * FRITZ!Box and most home routers.
 *
 * @param controlUrl e.g. `http://192.168.178.1:49000/igdupnp/control/WANIPConn1`
 * @param options fetch implementation, service type (default WANIPConnection:1), timeout
 */
export function upnpRouterSource(
  controlUrl: string,
  options: { fetch?: FetchLike; service?: string; timeoutMs?: number } = {},
): PublicIpSource {
  const doFetch = options.fetch ?? (globalThis.fetch as FetchLike);
  const service = options.service ?? 'urn:schemas-upnp-org:service:WANIPConnection:1';
  return {
    name: controlUrl,
    async lookup(family) {
      if (family !== 4) return undefined;
      const response = await doFetch(controlUrl, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset="utf-8"', soapaction: `"${service}#GetExternalIPAddress"` },
        body: `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:GetExternalIPAddress xmlns:u="${service}"/></s:Body></s:Envelope>`,
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const match = /<NewExternalIPAddress>\s*([^<\s]*)\s*<\/NewExternalIPAddress>/.exec(await response.text());
      return match?.[1] && isIPv4(match[1]) ? match[1] : undefined;
    },
  };
}

/**
 * The address of a local interface that carries the public address itself (PPPoE `dsl0`,
 * a modem in bridge mode). Link-local IPv6 addresses are skipped.
 *
 * @param name interface name
 * @param options `networkInterfaces` (default node:os)
 */
export function interfaceSource(
  name: string,
  options: { networkInterfaces?: typeof osNetworkInterfaces } = {},
): PublicIpSource {
  const list = options.networkInterfaces ?? osNetworkInterfaces;
  return {
    name: `interface ${name}`,
    async lookup(family) {
      const found = (list()[name] ?? []).find(
        (a) =>
          (family === 4 ? a.family === 'IPv4' : a.family === 'IPv6') &&
          !a.internal &&
          !a.address.toLowerCase().startsWith('fe80:'),
      );
      return found?.address;
    },
  };
}

/** What the updater persists for the portal status page (no secrets). */
export interface DdnsState {
  fqdn: string;
  /** Last address published per family. */
  addresses: { ipv4?: string; ipv6?: string };
  /** ISO time of the last run and of the last change. */
  lastCheck: string;
  lastChange?: string;
  lastResult: { status: DdnsStatus; code?: DnsZoneErrorCode; message?: string };
}

/** Outcome of one run. */
export type DdnsStatus = 'updated' | 'unchanged' | 'error';

/** Persists {@link DdnsState}. */
export interface DdnsStateStore {
  read(): Promise<DdnsState | undefined>;
  write(state: DdnsState): Promise<void>;
}

/**
 * A JSON state file, written atomically with the host's `writeFileAtomic` (readers never see
 * half a file; a link at `path` is refused).
 *
 * @param path e.g. `/var/lib/invis/inetcheck.json`
 * @param options `fs`: file operations (default: the host's node:fs facade)
 * @returns the store
 * @throws {DnsZoneError} (from its methods) `DNS_IO`
 */
export function fileStateStore(path: string, options: { fs?: HostFs } = {}): DdnsStateStore {
  const fs = options.fs ?? createNodeFs();
  return {
    async read() {
      try {
        return JSON.parse(await fs.readFile(path)) as DdnsState;
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw new DnsZoneError('DNS_IO', `reading DDNS state ${path}: ${(error as Error).message}`, { cause: error });
      }
    },
    async write(state) {
      try {
        await fs.writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
      } catch (error) {
        throw new DnsZoneError('DNS_IO', `writing DDNS state ${path}: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}

/** Options of {@link createDdnsUpdater}. */
export interface DdnsUpdaterOptions {
  /** The public name, e.g. `invis.dyn.example.org`. */
  fqdn: string;
  /** Zone to update (the server's zone containing `fqdn`). */
  zone: string;
  /** Families to publish (default `[4]`). */
  families?: readonly IpFamily[];
  /** Tried in order; the first that returns an address wins. */
  sources: readonly PublicIpSource[];
  /** Server + TSIG key (the key is usually named after the FQDN). */
  server: DnsUpdateClientOptions;
  /** Record TTL (default 60, as inetcheck). */
  ttl?: number;
  state: DdnsStateStore;
  /** Also compare with what the server answers (default true), so a lost update is repaired. */
  checkDns?: boolean;
  /** Time of `lastCheck`/`lastChange` (default: the system clock). */
  clock?: Clock;
  /** Injected client (tests, instrumentation); default built from `server`. */
  client?: DnsUpdateClient;
}

/** Result of one {@link DdnsUpdater.run}. */
export interface DdnsResult {
  status: DdnsStatus;
  fqdn: string;
  addresses: { ipv4?: string; ipv6?: string };
  previous: { ipv4?: string; ipv6?: string };
  /** Which source answered, per family. */
  sources: { ipv4?: string; ipv6?: string };
  error?: { code: DnsZoneErrorCode; message: string };
  /** For cron/systemd: 0 ok (updated or unchanged), 1 no public address (offline), 2 update failed. */
  exitCode: 0 | 1 | 2;
}

/** The DDNS updater. */
export interface DdnsUpdater {
  /** One check: never throws for network/DNS problems, reports them in the result and state. */
  run(): Promise<DdnsResult>;
}

const key = (family: IpFamily): 'ipv4' | 'ipv6' => (family === 4 ? 'ipv4' : 'ipv6');

/**
 * Creates the DDNS updater (inetcheck successor).
 *
 * @param options name, zone, sources, server/key, state store
 * @returns the updater
 * @example
 * const ddns = createDdnsUpdater({
 *   fqdn: 'invis.dyn.example.org', zone: 'dyn.example.org',
 *   sources: [httpEchoSource('https://api.ipify.org/')],
 *   server: { server: '203.0.113.53', key: { name: 'invis.dyn.example.org', algorithm: 'hmac-sha256', secret } },
 *   state: fileStateStore('/var/lib/invis/inetcheck.json'),
 * });
 * const result = await ddns.run(); process.exitCode = result.exitCode;
 */
export function createDdnsUpdater(options: DdnsUpdaterOptions): DdnsUpdater {
  const fqdn = normalizeName(options.fqdn);
  const zone = normalizeName(options.zone);
  const families = options.families ?? [4];
  const client = options.client ?? createDnsUpdateClient(options.server);
  const clock = options.clock ?? systemClock;
  const ttl = options.ttl ?? 60;

  async function discover(family: IpFamily): Promise<{ address: string; source: string }> {
    const failures: string[] = [];
    for (const source of options.sources) {
      try {
        const found = await source.lookup(family);
        if (found && isFamily(found, family)) return { address: canonicalAddress(found, family), source: source.name };
        failures.push(`${source.name}: no IPv${family} address`);
      } catch (error) {
        failures.push(`${source.name}: ${(error as Error).message}`);
      }
    }
    throw new DnsZoneError(
      'DNS_IP_LOOKUP_FAILED',
      `no public IPv${family} address (${failures.join('; ') || 'no sources'})`,
      {
        details: { family },
      },
    );
  }

  return {
    async run() {
      const previousState = await options.state.read();
      const previous = previousState?.fqdn === fqdn ? previousState.addresses : {};
      const addresses = { ...previous };
      const sources: DdnsResult['sources'] = {};
      let changed = false;
      let result: Pick<DdnsResult, 'status' | 'error' | 'exitCode'>;
      try {
        for (const family of families) {
          const { address, source } = await discover(family);
          sources[key(family)] = source;
          const type = family === 4 ? 'A' : 'AAAA';
          let stale = previous[key(family)] !== address;
          if (!stale && options.checkDns !== false) {
            const { records } = await client.query(fqdn, type);
            stale = !(records.length === 1 && records[0]?.type === type && records[0].address === address);
          }
          if (stale) {
            await client.update({
              zone,
              updates: [
                { op: 'deleteRRset', name: fqdn, type },
                { op: 'add', record: { name: fqdn, ttl, type, address } },
              ],
            });
            changed = true;
          }
          addresses[key(family)] = address;
        }
        result = { status: changed ? 'updated' : 'unchanged', exitCode: 0 };
      } catch (error) {
        const e = isDnsZoneError(error)
          ? error
          : new DnsZoneError('DNS_UPDATE_FAILED', String(error), { cause: error });
        result = {
          status: 'error',
          error: { code: e.code, message: e.message },
          exitCode: e.code === 'DNS_IP_LOOKUP_FAILED' ? 1 : 2,
        };
      }
      const time = clock.now().toISOString();
      await options.state.write({
        fqdn,
        addresses,
        lastCheck: time,
        lastChange: changed ? time : previousState?.lastChange,
        lastResult: { status: result.status, ...(result.error ?? {}) },
      });
      return { ...result, fqdn, addresses, previous, sources };
    },
  };
}

/**
 * Formats a result for cron/systemd: one human line, or JSON with `--json`.
 *
 * @param result from {@link DdnsUpdater.run}
 * @param json JSON output
 */
export function formatDdnsResult(result: DdnsResult, json = false): string {
  if (json) return JSON.stringify(result);
  const addrs = [result.addresses.ipv4, result.addresses.ipv6].filter(Boolean).join(', ') || 'no address';
  if (result.status === 'error') return `${result.fqdn}: ERROR ${result.error?.code}: ${result.error?.message}`;
  return `${result.fqdn}: ${result.status} (${addrs})`;
}

/**
 * The cron/systemd entry point: one run, one line (or JSON with `--json`) written, exit code
 * returned (0 ok, 1 no public address, 2 update failed).
 *
 * @param updater from {@link createDdnsUpdater}
 * @param argv command-line arguments (`--json`)
 * @param write output sink, e.g. `(line) => process.stdout.write(`${line}\n`)`
 * @returns the exit code
 * @example process.exitCode = await runDdnsCheck(ddns, process.argv.slice(2), console.log);
 */
export async function runDdnsCheck(
  updater: DdnsUpdater,
  argv: readonly string[],
  write: (line: string) => void,
): Promise<number> {
  const result = await updater.run();
  write(formatDdnsResult(result, argv.includes('--json')));
  return result.exitCode;
}
