// RFC 2136 dynamic updates and queries against any server, TSIG-signed.

import { randomInt } from 'node:crypto';
import { type Clock, systemClock } from '@invis/host';
import type { RecordType } from './constants';
import { RCODES } from './constants';
import { DnsZoneError, type DnsZoneErrorCode } from './errors';
import type { DnsRecord } from './model';
import { type DnsServerAddress, type DnsTransport, sendTcpStream, udpWithTcpFallback } from './transport';
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

  return {
    async update(request) {
      const unsigned = encodeUpdate({ id: randomInt(0, 0x10000), ...request });
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
