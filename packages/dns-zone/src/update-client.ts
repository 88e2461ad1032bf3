// RFC 2136 dynamic updates and queries against any server, TSIG-signed.

import { randomInt } from 'node:crypto';
import { type Clock, systemClock } from '@invis/host';
import type { RecordType } from './constants';
import { RCODES } from './constants';
import { DnsZoneError, type DnsZoneErrorCode } from './errors';
import type { DnsRecord } from './model';
import { normalizeName } from './names';
import {
  type DnsServerAddress,
  type DnsTransport,
  openTcpSession,
  sendTcpStream,
  udpWithTcpFallback,
} from './transport';
import { signMessage, type TsigKey, verifyMessage } from './tsig';
import { decodeMessage, encodeQuery, encodeUpdate, type Prerequisite, rcodeName, type UpdateOperation } from './wire';

/** Options of {@link createDnsUpdateClient}. */
export interface DnsUpdateClientOptions extends DnsServerAddress {
  /** TSIG key; without it updates go out unsigned (only for servers that allow that). */
  key?: TsigKey;
  /** Default: UDP with TCP fallback. */
  transport?: DnsTransport;
  /** Time source of TSIG signatures and their checks (default: the system clock). */
  clock?: Clock;
}

/** One UPDATE request. */
export interface UpdateRequest {
  zone: string;
  prerequisites?: readonly Prerequisite[];
  updates: readonly UpdateOperation[];
}

/** Options of {@link DnsUpdateClient.updateBatch}. */
export interface UpdateBatchOptions {
  /**
   * Send consecutive requests of one zone that have no prerequisites as one UPDATE (default
   * true). RFC 2136 §3.4.2 applies the updates of a message in order and all or none, so the
   * zone ends as if they were sent one by one; when the server rejects such a message, it is
   * sent again in halves (and those in halves) until every failing request went alone, so every
   * request gets its own result.
   */
  merge?: boolean;
  /**
   * UPDATE messages in flight on the connection at once (default 1, at most 64). Pipelining
   * saves a round trip per message, which pays off for a server far away or hundreds of
   * messages; against a BIND nearby it costs more than it saves: BIND applies a zone's UPDATEs
   * one after the other anyway, and the last answers of a pipelined run wait ~40 ms (BIND's Nagle
   * algorithm holding an answer until our delayed ACK), which one message at a time never meets.
   */
  window?: number;
}

/** The outcome of one request of a batch. */
export type UpdateBatchResult = { ok: true } | { ok: false; error: DnsZoneError };

/** Result of a query. */
export interface QueryResult {
  rcode: string;
  authoritative: boolean;
  records: DnsRecord[];
}

/** Sends signed UPDATEs and plain queries to one server. */
export interface DnsUpdateClient {
  /**
   * Sends one UPDATE; resolves when the server answered NOERROR with a valid signature.
   * @throws {DnsZoneError} `DNS_PREREQUISITE_FAILED`, `DNS_UPDATE_REFUSED`, `DNS_ZONE_NOT_FOUND`,
   *   `DNS_OUT_OF_ZONE`, `DNS_UPDATE_FAILED`, TSIG codes, `DNS_TIMEOUT`, `DNS_NETWORK`, `DNS_WIRE_INVALID`
   */
  update(request: UpdateRequest): Promise<void>;
  /**
   * Sends many UPDATEs over one TCP connection, up to `window` in flight at once, and reports
   * the outcome of each request in order; one failing request (e.g. a failed prerequisite) does not
   * stop the others. The zone ends as if the requests had been sent one by one with
   * {@link DnsUpdateClient.update}: a request is held back while an earlier one touching any of
   * its owner names (updates or prerequisites) is unanswered, so only independent requests
   * overlap, whatever order the server processes pipelined messages in. Requests with
   * prerequisites always go alone. A lost connection or timeout fails the requests not yet
   * answered with `DNS_NETWORK` / `DNS_TIMEOUT` (whether the server applied an unanswered one is
   * unknown, as with {@link DnsUpdateClient.update}).
   *
   * @param requests the UPDATEs, in order
   * @param options merging and window
   * @returns one result per request, in the same order
   * @example
   * const results = await dns.updateBatch(hosts.map((h) => ({ zone, updates: [{ op: 'add', record: h }] })));
   * const failed = results.flatMap((r, i) => (r.ok ? [] : [`${hosts[i]?.name}: ${r.error.code}`]));
   */
  updateBatch(requests: readonly UpdateRequest[], options?: UpdateBatchOptions): Promise<UpdateBatchResult[]>;
  /** Queries one name/type (`ANY` for all types) and returns the answer records. */
  query(name: string, type: RecordType | 'ANY'): Promise<QueryResult>;
  /**
   * Zone transfer (AXFR over TCP, every message's TSIG verified when a key is set); returns
   * the records of the modelled types, SOA first.
   * @throws {DnsZoneError} `DNS_UPDATE_REFUSED` (transfer not allowed), `DNS_ZONE_NOT_FOUND`, TSIG codes
   */
  transfer(zone: string): Promise<DnsRecord[]>;
}

const PREREQUISITE_RCODES = new Set(['YXDOMAIN', 'YXRRSET', 'NXDOMAIN', 'NXRRSET']);

function rcodeError(rcode: number, zone: string, what = 'update'): DnsZoneError | undefined {
  const name = rcodeName(rcode);
  if (name === 'NOERROR') return undefined;
  let code: DnsZoneErrorCode = 'DNS_UPDATE_FAILED';
  if (PREREQUISITE_RCODES.has(name)) code = 'DNS_PREREQUISITE_FAILED';
  else if (name === 'REFUSED') code = 'DNS_UPDATE_REFUSED';
  else if (name === 'NOTAUTH') code = 'DNS_ZONE_NOT_FOUND';
  else if (name === 'NOTZONE') code = 'DNS_OUT_OF_ZONE';
  return new DnsZoneError(code, `${what} of zone ${zone} failed: ${name}`, { details: { rcode: name, zone } });
}

/**
 * Server answers (nothing of the message was applied) that may come from one of its records: a
 * merged message answered so is split to find it.
 */
const RECORD_ANSWERS: ReadonlySet<DnsZoneErrorCode> = new Set([
  'DNS_PREREQUISITE_FAILED',
  'DNS_UPDATE_REFUSED',
  'DNS_OUT_OF_ZONE',
  'DNS_UPDATE_FAILED',
]);
// The other answers (a TSIG error, NOTAUTH for the zone) hold for every request of a merged
// message alike — one key, one zone — so each of them gets that answer without sending it again.

/** Some UPDATE requests sent as one message, and the owner names it touches. */
interface BatchMessage {
  indexes: number[];
  request: UpdateRequest;
  names: Set<string>;
}

function ownerNames(request: UpdateRequest): Set<string> {
  const names = [
    ...(request.prerequisites ?? []).map((p) => ('record' in p ? p.record.name : p.name)),
    ...request.updates.map((u) => ('record' in u ? u.record.name : u.name)),
  ];
  return new Set(names.map(normalizeName));
}

function single(requests: readonly UpdateRequest[], i: number): BatchMessage {
  const request = requests[i] as UpdateRequest;
  return { indexes: [i], request, names: ownerNames(request) };
}

/**
 * A merged message split in two (in order): each half merged again, a half of one request as
 * that request. Only prerequisite-free requests of one zone are ever merged, so any part of
 * them can be sent as one message too.
 */
function halves(requests: readonly UpdateRequest[], indexes: readonly number[]): [BatchMessage, BatchMessage] {
  const middle = Math.ceil(indexes.length / 2);
  const [first, second] = [indexes.slice(0, middle), indexes.slice(middle)].map((part) => {
    if (part.length === 1) return single(requests, part[0] as number);
    const parts = part.map((i) => requests[i] as UpdateRequest);
    const names = new Set(parts.flatMap((r) => [...ownerNames(r)]));
    return { indexes: part, request: { zone: parts[0]?.zone ?? '', updates: parts.flatMap((r) => r.updates) }, names };
  }) as [BatchMessage, BatchMessage];
  // The second half waits for the first (it counts as touching the first half's names too): two
  // answers due at once from BIND's TCP stream wait ~40 ms in its Nagle buffer for our delayed
  // ACK, which is longer than sending the halves one after the other.
  for (const name of first.names) second.names.add(name);
  return [first, second];
}

/** Merged messages stay well inside one TCP frame (65535 octets) with room for the TSIG. */
const MERGE_LIMIT = 16_384;

/**
 * The messages of a batch, in order: runs of prerequisite-free requests of one zone merged (up
 * to {@link MERGE_LIMIT} octets). A request that cannot be encoded gets its error in `results`.
 */
function planBatch(requests: readonly UpdateRequest[], merge: boolean, results: UpdateBatchResult[]): BatchMessage[] {
  const messages: BatchMessage[] = [];
  let run: { zone: string; size: number; updates: UpdateOperation[]; message: BatchMessage } | undefined;
  requests.forEach((request, i) => {
    let size: number;
    let message: BatchMessage;
    try {
      size = encodeUpdate({ id: 0, ...request }).length;
      message = single(requests, i);
    } catch (error) {
      results[i] = { ok: false, error: asDnsError(error) };
      return;
    }
    const zone = normalizeName(request.zone);
    const mergeable = merge && (request.prerequisites ?? []).length === 0;
    if (mergeable && run && run.zone === zone && run.size + size <= MERGE_LIMIT) {
      run.size += size;
      run.message.indexes.push(i);
      run.updates.push(...request.updates);
      for (const name of message.names) run.message.names.add(name);
      return;
    }
    messages.push(message);
    if (mergeable) {
      const updates = [...request.updates];
      message.request = { zone: request.zone, updates };
      run = { zone, size, updates, message };
    } else run = undefined;
  });
  return messages;
}

function asDnsError(error: unknown): DnsZoneError {
  return error instanceof DnsZoneError
    ? error
    : new DnsZoneError('DNS_UPDATE_FAILED', `update failed: ${String(error)}`, { cause: error });
}

/**
 * Creates a client for RFC 2136 updates (TSIG-signed when a key is given) to one server.
 *
 * @param options server address, key, transport and clock
 * @returns the client
 * @example
 * const dns = createDnsUpdateClient({ server: '127.0.0.1', key: { name: 'ddns-key', algorithm: 'hmac-sha256', secret } });
 * await dns.update({ zone: 'dyn.invis.test', updates: [{ op: 'deleteRRset', name: 'gw.dyn.invis.test', type: 'A' }] });
 */
export function createDnsUpdateClient(options: DnsUpdateClientOptions): DnsUpdateClient {
  const transport = options.transport ?? udpWithTcpFallback;
  const clock = options.clock ?? systemClock;
  const now = (): number => clock.now().getTime();
  const { key } = options;

  async function exchange(message: Buffer): Promise<Buffer> {
    const response = await transport(message, options);
    if (response.length < 12 || response.readUInt16BE(0) !== message.readUInt16BE(0)) {
      throw new DnsZoneError('DNS_WIRE_INVALID', 'response id does not match the request');
    }
    return response;
  }

  /** Sends one UPDATE through `send` and checks rcode and signature. */
  async function updateVia(request: UpdateRequest, id: number, send: DnsTransport): Promise<void> {
    const unsigned = encodeUpdate({ id, ...request });
    const exchange = async (message: Buffer): Promise<Buffer> => {
      const response = await send(message, options);
      if (response.length < 12 || response.readUInt16BE(0) !== id) {
        throw new DnsZoneError('DNS_WIRE_INVALID', 'response id does not match the request');
      }
      return response;
    };
    if (!key) {
      const error = rcodeError(decodeMessage(await exchange(unsigned)).rcode, request.zone);
      if (error) throw error;
      return;
    }
    const signed = signMessage(unsigned, key, now());
    const response = await exchange(signed.message);
    const { rcode } = decodeMessage(response);
    try {
      verifyMessage(response, key, now(), signed.mac);
    } catch (error) {
      // An unsigned error answer (e.g. FORMERR, REFUSED) is reported by its rcode.
      if (error instanceof DnsZoneError && error.code === 'DNS_TSIG_UNSIGNED' && rcode !== RCODES.byName.NOERROR) {
        throw rcodeError(rcode, request.zone) ?? error;
      }
      throw error;
    }
    const error = rcodeError(rcode, request.zone);
    if (error) throw error;
  }

  return {
    update: (request) => updateVia(request, randomInt(0, 0x10000), transport),
    async updateBatch(requests, batchOptions = {}) {
      const window = Math.min(Math.max(Math.trunc(batchOptions.window ?? 1), 1), 64);
      const results = new Array<UpdateBatchResult>(requests.length);
      const queue = planBatch(requests, batchOptions.merge ?? true, results);
      if (queue.length === 0) return results;
      const session = openTcpSession(options);
      const send: DnsTransport = (message) => session.exchange(message);
      const busy = new Map<string, number>(); // owner name → messages in flight touching it
      const inFlight = new Set<Promise<void>>();
      let nextId = randomInt(0, 0x10000);
      const start = (message: BatchMessage): void => {
        for (const name of message.names) busy.set(name, (busy.get(name) ?? 0) + 1);
        const id = nextId;
        nextId = (nextId + 1) & 0xffff;
        const done: Promise<void> = updateVia(message.request, id, send)
          .then(
            () => {
              for (const i of message.indexes) results[i] = { ok: true };
            },
            (error: unknown) => {
              const failure = asDnsError(error);
              if (message.indexes.length > 1 && RECORD_ANSWERS.has(failure.code)) {
                // Nothing of the merged message was applied: its two halves again, before anything
                // after it. A failing request ends up alone with its own result after about
                // 2·log2(n) messages, while the others stay merged (one by one, a bad record among
                // 100 cost 100 UPDATEs, each a journal write in the server).
                queue.unshift(...halves(requests, message.indexes));
                return;
              }
              for (const i of message.indexes) results[i] = { ok: false, error: failure };
            },
          )
          .finally(() => {
            for (const name of message.names) {
              const left = (busy.get(name) ?? 1) - 1;
              if (left === 0) busy.delete(name);
              else busy.set(name, left);
            }
            inFlight.delete(done);
          });
        inFlight.add(done);
      };
      try {
        while (queue.length > 0 || inFlight.size > 0) {
          const head = queue[0];
          if (head && inFlight.size < window && ![...head.names].some((n) => busy.has(n))) {
            queue.shift();
            start(head);
          } else {
            await Promise.race(inFlight);
          }
        }
      } finally {
        session.close();
      }
      return results;
    },
    async transfer(zone) {
      const query = encodeQuery(randomInt(0, 0x10000), zone, 'AXFR');
      const signed = key ? signMessage(query, key, now()) : undefined;
      let priorMac = signed?.mac;
      let messages = 0;
      let unsigned: Buffer[] = []; // a server may leave up to 99 messages between signed ones
      let soaSeen = 0;
      const records: DnsRecord[] = [];
      await sendTcpStream(signed?.message ?? query, options, (response) => {
        const decoded = decodeMessage(response);
        if (decoded.id !== query.readUInt16BE(0))
          throw new DnsZoneError('DNS_WIRE_INVALID', 'transfer answer has another id');
        if (decoded.rcode !== RCODES.byName.NOERROR) {
          if (key && messages === 0) verifyMessage(response, key, now(), priorMac); // TSIG errors first
          throw rcodeError(decoded.rcode, zone, 'transfer') as DnsZoneError;
        }
        for (const r of decoded.answers) {
          if (r.type === 'SOA') soaSeen++;
          if (soaSeen < 2) records.push(r);
        }
        const last = soaSeen >= 2;
        if (key) {
          try {
            const timersOnly = messages > 0;
            priorMac = verifyMessage(response, key, now(), priorMac, { timersOnly, preceding: unsigned }).mac;
            unsigned = [];
          } catch (error) {
            const skippable =
              error instanceof DnsZoneError && error.code === 'DNS_TSIG_UNSIGNED' && messages > 0 && !last;
            if (!skippable || unsigned.length >= 99) throw error;
            unsigned.push(response);
          }
        }
        messages++;
        return last;
      });
      return records;
    },
    async query(name, type) {
      const decoded = decodeMessage(await exchange(encodeQuery(randomInt(0, 0x10000), name, type)));
      return { rcode: rcodeName(decoded.rcode), authoritative: decoded.authoritative, records: decoded.answers };
    },
  };
}
