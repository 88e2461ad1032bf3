// tls-crypt keys. v1 is OpenVPN's "static key V1" file (2048 random bits as 16 lines of hex),
// generated in-process. tls-crypt-v2 server keys come from `openvpn --genkey` through the runner;
// client keys, one per bundle, are wrapped (encrypted) with the server key either by openvpn or
// in-process (wrapTlsCryptV2ClientKey: the same bytes, without a process per bundle).
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { type Clock, type CommandRunner, systemClock } from '@invis/host';
import { OvpnPkiError } from './errors';
import { runOpenVpnChecked } from './openvpn';

const BEGIN = '-----BEGIN OpenVPN Static key V1-----';
const END = '-----END OpenVPN Static key V1-----';
const KEY_BYTES = 256;

/**
 * Renders 256 key bytes as an OpenVPN static key V1 file (what `openvpn --genkey secret` writes).
 * @throws {OvpnPkiError} PKI_INVALID_INPUT when `key` is not 256 bytes
 */
export function renderStaticKey(key: Uint8Array): string {
  if (key.length !== KEY_BYTES) {
    throw new OvpnPkiError('PKI_INVALID_INPUT', `a static key has ${KEY_BYTES} bytes, got ${key.length}`);
  }
  const hex = Buffer.from(key).toString('hex');
  const lines = Array.from({ length: 16 }, (_, i) => hex.slice(i * 32, i * 32 + 32));
  return `#\n# 2048 bit OpenVPN static key\n#\n${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}

/**
 * Parses an OpenVPN static key V1 file (comments allowed around it).
 * @returns the 256 key bytes
 * @throws {OvpnPkiError} PKI_PARSE_FAILED
 */
export function parseStaticKey(text: string): Uint8Array {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start)
    throw new OvpnPkiError('PKI_PARSE_FAILED', 'not an OpenVPN static key V1 (markers missing)');
  const hex = text.slice(start + BEGIN.length, end).replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length !== KEY_BYTES * 2) {
    throw new OvpnPkiError('PKI_PARSE_FAILED', `an OpenVPN static key V1 holds ${KEY_BYTES * 2} hex digits`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/**
 * A new random tls-crypt (v1) key in static key V1 format. Store it 0600.
 * @returns the key file text
 */
export function generateTlsCryptKey(): string {
  return renderStaticKey(randomBytes(KEY_BYTES));
}

/**
 * A new tls-crypt-v2 server key (`openvpn --genkey tls-crypt-v2-server`).
 * @param runner command runner (`createExecaRunner()` from @invis/host)
 * @returns the key file text (PEM-like `OpenVPN tls-crypt-v2 server key`)
 * @throws {OvpnPkiError} OVPN_COMMAND_FAILED
 */
export async function generateTlsCryptV2ServerKey(runner: CommandRunner): Promise<string> {
  return checkV2(await runOpenVpnChecked(runner, ['--genkey', 'tls-crypt-v2-server']), 'server');
}

/**
 * A new tls-crypt-v2 client key wrapped with the server key
 * (`openvpn --tls-crypt-v2 SERVERKEY --genkey tls-crypt-v2-client`). One per client bundle.
 * @param runner command runner (`createExecaRunner()` from @invis/host)
 * @param serverKeyFile path of the server key file
 * @returns the client key text for `<tls-crypt-v2>`
 * @throws {OvpnPkiError} OVPN_COMMAND_FAILED
 */
export async function generateTlsCryptV2ClientKey(runner: CommandRunner, serverKeyFile: string): Promise<string> {
  const out = await runOpenVpnChecked(runner, ['--tls-crypt-v2', serverKeyFile, '--genkey', 'tls-crypt-v2-client']);
  return checkV2(out, 'client');
}

function checkV2(text: string, kind: 'server' | 'client'): string {
  const marker = `-----BEGIN OpenVPN tls-crypt-v2 ${kind} key-----`;
  const at = text.indexOf(marker);
  if (at < 0) throw new OvpnPkiError('OVPN_COMMAND_FAILED', `openvpn printed no tls-crypt-v2 ${kind} key`);
  return `${text.slice(at).trim()}\n`;
}

const V2_SERVER_LABEL = 'OpenVPN tls-crypt-v2 server key';
const V2_CLIENT_LABEL = 'OpenVPN tls-crypt-v2 client key';
/** A server key is one OpenVPN `struct key`: 64 cipher key bytes (Ke), 64 HMAC key bytes (Ka). */
const V2_SERVER_KEY_BYTES = 128;
/** A client key Kc is a `struct key2`: two `struct key`s. */
const V2_CLIENT_KEY_BYTES = 256;
/** Metadata type of `--genkey tls-crypt-v2-client` without metadata: the creation time. */
const V2_METADATA_TIMESTAMP = 0x01;

/** The bytes between the BEGIN/END lines of `label` (base64, any line breaks). */
function pemBody(text: string, label: string): Buffer {
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  const body = start < 0 || stop < start ? undefined : text.slice(start + begin.length, stop).replace(/\s+/g, '');
  if (body === undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
    throw new OvpnPkiError('PKI_PARSE_FAILED', `not an ${label} (markers or base64 broken)`);
  }
  return Buffer.from(body, 'base64');
}

/** `bytes` between BEGIN/END lines of `label`, 64 base64 characters a line (OpenVPN's PEM). */
function pemBlock(label: string, bytes: Uint8Array): string {
  const base64 = Buffer.from(bytes).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * Wraps client key `kc` with `metadata` under a server key (OpenVPN's
 * `tls_crypt_v2_wrap_client_key`, doc/tls-crypt-v2.txt): WKc = T || AES-256-CTR(Ke, IV = T[0..16],
 * Kc || metadata) || len with T = HMAC-SHA256(Ka, len || Kc || metadata) and len the 16-bit length
 * of WKc. Deterministic, so its output can be compared with openvpn's byte for byte.
 * @returns the client key file text: Kc || WKc in a `OpenVPN tls-crypt-v2 client key` block
 */
export function wrapClientKeyWith(serverKey: Uint8Array, kc: Uint8Array, metadata: Uint8Array): string {
  const ke = serverKey.subarray(0, 32); // AES-256 uses the first 32 of the 64 cipher key bytes
  const ka = serverKey.subarray(64, 96); // HMAC-SHA256 the first 32 of the 64 HMAC key bytes
  const length = Buffer.alloc(2);
  length.writeUInt16BE(32 + kc.length + metadata.length + 2);
  const tag = createHmac('sha256', ka).update(length).update(kc).update(metadata).digest();
  const cipher = createCipheriv('aes-256-ctr', ke, tag.subarray(0, 16));
  const encrypted = Buffer.concat([cipher.update(kc), cipher.update(metadata), cipher.final()]);
  return pemBlock(V2_CLIENT_LABEL, Buffer.concat([kc, tag, encrypted, length]));
}

/**
 * A new tls-crypt-v2 client key wrapped with the server key, made in-process: the same format
 * and bytes as `openvpn --tls-crypt-v2 SERVERKEY --genkey tls-crypt-v2-client` (256 random key
 * bytes, the creation time as metadata), without starting openvpn for every bundle.
 * @param serverKey the server key file text (`OpenVPN tls-crypt-v2 server key`)
 * @param options `clock` for the creation-time metadata (default the system clock)
 * @returns the client key text for `<tls-crypt-v2>`
 * @throws {OvpnPkiError} PKI_PARSE_FAILED when `serverKey` is not a tls-crypt-v2 server key
 * @example
 * const tlsCryptV2 = wrapTlsCryptV2ClientKey(await readFile('/etc/openvpn/server/keys/tc-v2-server.key', 'utf8'));
 */
export function wrapTlsCryptV2ClientKey(serverKey: string, options: { clock?: Clock } = {}): string {
  const key = pemBody(serverKey, V2_SERVER_LABEL);
  if (key.length !== V2_SERVER_KEY_BYTES) {
    throw new OvpnPkiError(
      'PKI_PARSE_FAILED',
      `a tls-crypt-v2 server key holds ${V2_SERVER_KEY_BYTES} bytes, got ${key.length}`,
    );
  }
  const metadata = Buffer.alloc(9);
  metadata[0] = V2_METADATA_TIMESTAMP;
  metadata.writeBigInt64BE(BigInt(Math.floor((options.clock ?? systemClock).now().getTime() / 1000)), 1);
  return wrapClientKeyWith(key, randomBytes(V2_CLIENT_KEY_BYTES), metadata);
}
