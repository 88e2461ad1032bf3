import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  type Clock,
  type CommandResult,
  type CommandRunner,
  createExecaRunner,
  createNodeFs,
  type HostFs,
  isHostError,
  systemClock,
} from '@invis/host';
import { type BackendCore, createBackend, type DnsBackend } from './backend';
import { DnsZoneError, isDnsZoneError } from './errors';
import { parseZone, renderZone } from './master';
import type { DnsRecord, DnsZone, SoaRecord } from './model';
import { normalizeName } from './names';

/** Options of {@link createZoneFileBackend}. */
export interface ZoneFileBackendOptions {
  /** Directory holding `db.<zone>` files. */
  dir: string;
  /** SOA MNAME and RNAME (mailbox as a name) for zones created here. */
  soa: { mname: string; rname: string };
  /** NS records for zones created here. */
  nameServers: readonly string[];
  /** Default TTL of new zones and records (3600). */
  defaultTtl?: number;
  /** Runs `named-checkzone` (default: the host's execa runner). */
  runner?: CommandRunner;
  /** Makes the server load the new file, e.g. `rndc reload <zone>`; a failure rolls back. */
  reload?: (zone: string, file: string) => Promise<void>;
  /** Clock for date-based serials (default: the system clock). */
  clock?: Clock;
  /** File operations (default: the host's node:fs facade). */
  fs?: HostFs;
}

const FILE = /^db\.(.+)$/;
const NOT_A_ZONE = /\.(bak|jnl|tmp-[0-9a-f]+)$/;

/**
 * Next SOA serial in `YYYYMMDDnn` form, always greater than `current` (RFC 1982 arithmetic
 * is avoided by never wrapping).
 *
 * @param current the serial in the file
 * @param nowMs the time, in ms since the epoch (`clock.now().getTime()`)
 * @returns the new serial
 */
export function nextSerial(current: number, nowMs: number): number {
  const d = new Date(nowMs);
  const today = (d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate()) * 100;
  return Math.min(Math.max(current + 1, today), 0xffffffff);
}

/**
 * A {@link DnsBackend} on BIND zone files: every change re-renders the file with a new serial,
 * validates a temp copy with `named-checkzone` before it replaces the old one (the host's
 * `writeFileAtomic`: mode and owner kept, `.bak` kept), then calls `reload`; a failed reload
 * restores the previous file. A checker that cannot run is `DNS_CHECK_FAILED` with the host
 * error as `cause`.
 *
 * @param options directory, SOA defaults, checker, reload hook
 * @returns the backend
 * @throws {DnsZoneError} (from its methods) `DNS_CHECK_FAILED`, `DNS_IO`, `DNS_PARSE_ERROR`
 */
export function createZoneFileBackend(options: ZoneFileBackendOptions): DnsBackend {
  const fs = options.fs ?? createNodeFs();
  const runner = options.runner ?? createExecaRunner();
  const clock = options.clock ?? systemClock;
  const ttl = options.defaultTtl ?? 3600;
  const fileOf = (zone: string): string => join(options.dir, `db.${zone}`);

  const io = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (isDnsZoneError(error)) throw error;
      throw new DnsZoneError('DNS_IO', `${what}: ${(error as Error).message}`, { cause: error });
    }
  };

  const load = async (zone: string): Promise<DnsZone> =>
    parseZone(await io(`reading zone ${zone}`, () => fs.readFile(fileOf(zone))), { origin: zone });

  /** `named-checkzone` on a temp copy beside the file (created exclusively, removed afterwards). */
  async function check(zone: DnsZone, text: string, file: string): Promise<void> {
    const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
    await io(`writing ${tmp}`, () => fs.createExclusive(tmp, text, 0o644));
    let result: CommandResult;
    try {
      result = await runner.run('named-checkzone', ['-k', 'fail', '-i', 'local', zone.origin, tmp]);
    } catch (error) {
      // A checker that cannot run (missing, timed out) has accepted nothing.
      if (!isHostError(error)) throw error;
      throw new DnsZoneError('DNS_CHECK_FAILED', `named-checkzone could not be run: ${error.message}`, {
        cause: error,
        details: { zone: zone.origin },
      });
    } finally {
      await fs.remove(tmp);
    }
    if (result.exitCode !== 0) {
      const output = result.output.trim();
      throw new DnsZoneError(
        'DNS_CHECK_FAILED',
        `named-checkzone rejected zone ${zone.origin}: ${output.split('\n')[0] ?? ''}`,
        { details: { zone: zone.origin, output } },
      );
    }
  }

  async function activate(zone: DnsZone): Promise<void> {
    const file = fileOf(zone.origin);
    const text = renderZone(zone);
    await check(zone, text, file);
    const previous = await io(`reading ${file}`, () => fs.readFileIfExists(file));
    if (previous !== undefined) await io(`backing up ${file}`, () => fs.writeFileAtomic(`${file}.bak`, previous));
    // Atomic replace; mode and owner of the old file (e.g. root:bind 0644) are kept.
    await io(`activating ${file}`, () => fs.writeFileAtomic(file, text));
    if (!options.reload) return;
    try {
      await options.reload(zone.origin, file);
    } catch (error) {
      if (previous !== undefined) await fs.writeFileAtomic(file, previous);
      else await fs.remove(file);
      throw new DnsZoneError('DNS_IO', `reloading zone ${zone.origin} failed; previous file restored`, {
        cause: error,
        details: { zone: zone.origin },
      });
    }
  }

  const withNewSerial = (zone: DnsZone, records: DnsRecord[]): DnsZone => ({
    ...zone,
    records: records.map((r) => (r.type === 'SOA' ? { ...r, serial: nextSerial(r.serial, clock.now().getTime()) } : r)),
  });

  // Writes to one file are serialised in this process: each re-reads the file it rewrites.
  const queues = new Map<string, Promise<unknown>>();
  function serialized(zone: string, fn: () => Promise<void>): Promise<void> {
    const run = (queues.get(zone) ?? Promise.resolve()).then(fn, fn);
    queues.set(
      zone,
      run.catch(() => undefined),
    );
    return run;
  }

  const core: BackendCore = {
    async listZones() {
      const names = await io(`listing ${options.dir}`, () => fs.readdir(options.dir));
      return names
        .filter((f) => !NOT_A_ZONE.test(f))
        .map((f) => FILE.exec(f)?.[1])
        .filter((z): z is string => z !== undefined)
        .map(normalizeName);
    },
    async readZone(zone) {
      return (await load(zone)).records;
    },
    async readName(zone, name) {
      return (await load(zone)).records.filter((r) => r.name === name);
    },
    writeName(zone, name, _before, after) {
      return serialized(zone, async () => {
        const current = await load(zone);
        await activate(withNewSerial(current, [...current.records.filter((r) => r.name !== name), ...after]));
      });
    },
    async createZone(zone) {
      const soa: SoaRecord = {
        name: zone,
        ttl,
        type: 'SOA',
        mname: normalizeName(options.soa.mname),
        rname: normalizeName(options.soa.rname),
        serial: nextSerial(0, clock.now().getTime()),
        refresh: 3600,
        retry: 600,
        expire: 1209600,
        minimum: 300,
      };
      const ns: DnsRecord[] = options.nameServers.map((target) => ({
        name: zone,
        ttl,
        type: 'NS',
        target: normalizeName(target),
      }));
      await activate({ origin: zone, ttl, records: [soa, ...ns] });
    },
  };
  return createBackend(core, ttl);
}
