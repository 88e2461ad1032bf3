import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import { join } from 'node:path';
import { type BackendCore, createBackend, type DnsBackend } from './backend';
import { DnsZoneError } from './errors';
import { parseZone, renderZone } from './master';
import type { DnsRecord, DnsZone, SoaRecord } from './model';
import { normalizeName } from './names';
import { type CommandRunner, execaRunner } from './runner';

/** The file operations the zone-file backend needs (node:fs/promises fits). */
export interface ZoneFileSystem {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  writeFile(path: string, data: string, options: { mode: number }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: boolean }): Promise<void>;
  readdir(path: string): Promise<string[]>;
}

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
  /** Runs `named-checkzone` (default: execa). */
  run?: CommandRunner;
  /** Makes the server load the new file, e.g. `rndc reload <zone>`; a failure rolls back. */
  reload?: (zone: string, file: string) => Promise<void>;
  /** Clock for date-based serials (ms). */
  now?: () => number;
  fs?: ZoneFileSystem;
}

const FILE = /^db\.(.+)$/;
const NOT_A_ZONE = /\.(bak|jnl|tmp-[0-9a-f]+)$/;

/**
 * Next SOA serial in `YYYYMMDDnn` form, always greater than `current` (RFC 1982 arithmetic
 * is avoided by never wrapping).
 *
 * @param current the serial in the file
 * @param nowMs clock
 */
export function nextSerial(current: number, nowMs: number): number {
  const d = new Date(nowMs);
  const today = (d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate()) * 100;
  return Math.min(Math.max(current + 1, today), 0xffffffff);
}

/**
 * A {@link DnsBackend} on BIND zone files: every change re-renders the file with a new serial,
 * validates it with `named-checkzone` before it replaces the old one (atomic rename, `.bak`
 * kept), then calls `reload`; a failed reload restores the backup.
 *
 * @param options directory, SOA defaults, checker, reload hook
 * @returns the backend
 * @throws {DnsZoneError} (from its methods) `DNS_CHECK_FAILED`, `DNS_IO`, `DNS_PARSE_ERROR`
 */
export function createZoneFileBackend(options: ZoneFileBackendOptions): DnsBackend {
  const fs = options.fs ?? (nodeFs as unknown as ZoneFileSystem);
  const run = options.run ?? execaRunner;
  const now = options.now ?? Date.now;
  const ttl = options.defaultTtl ?? 3600;
  const fileOf = (zone: string): string => join(options.dir, `db.${zone}`);

  const io = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof DnsZoneError) throw error;
      throw new DnsZoneError('DNS_IO', `${what}: ${(error as Error).message}`, { cause: error });
    }
  };

  const load = async (zone: string): Promise<DnsZone> =>
    parseZone(await io(`reading zone ${zone}`, () => fs.readFile(fileOf(zone), 'utf8')), { origin: zone });

  async function activate(zone: DnsZone): Promise<void> {
    const file = fileOf(zone.origin);
    const text = renderZone(zone);
    const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
    await io(`writing ${tmp}`, () => fs.writeFile(tmp, text, { mode: 0o644 }));
    const check = await run('named-checkzone', ['-k', 'fail', '-i', 'local', zone.origin, tmp]);
    if (check.exitCode !== 0) {
      await fs.rm(tmp, { force: true });
      const output = `${check.stdout}\n${check.stderr}`.trim();
      throw new DnsZoneError(
        'DNS_CHECK_FAILED',
        `named-checkzone rejected zone ${zone.origin}: ${output.split('\n')[0] ?? ''}`,
        {
          data: { zone: zone.origin, output },
        },
      );
    }
    const existed = await fs.readFile(file, 'utf8').then(
      () => true,
      () => false,
    );
    if (existed) await io(`backing up ${file}`, () => fs.copyFile(file, `${file}.bak`));
    await io(`activating ${file}`, () => fs.rename(tmp, file));
    if (!options.reload) return;
    try {
      await options.reload(zone.origin, file);
    } catch (error) {
      if (existed) await fs.rename(`${file}.bak`, file);
      else await fs.rm(file, { force: true });
      throw new DnsZoneError('DNS_IO', `reloading zone ${zone.origin} failed; previous file restored`, {
        cause: error,
        data: { zone: zone.origin },
      });
    }
  }

  const withNewSerial = (zone: DnsZone, records: DnsRecord[]): DnsZone => ({
    ...zone,
    records: records.map((r) => (r.type === 'SOA' ? { ...r, serial: nextSerial(r.serial, now()) } : r)),
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
        serial: nextSerial(0, now()),
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
