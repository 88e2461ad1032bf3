// tls-crypt keys. v1 is OpenVPN's "static key V1" file (2048 random bits as 16 lines of hex),
// generated in-process; tls-crypt-v2 keys come from `openvpn --genkey` through the runner,
// because their client keys wrap (encrypt) the client key with the server key.
import { randomBytes } from 'node:crypto';
import type { CommandRunner } from '@invis/host';
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
