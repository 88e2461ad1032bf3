import { createDecipheriv, createHmac } from 'node:crypto';
import { fixedClock } from '@invis/host';
import { createScriptedRunner } from '@invis/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOvpnPkiError } from './errors';
import {
  generateTlsCryptKey,
  generateTlsCryptV2ClientKey,
  generateTlsCryptV2ServerKey,
  parseStaticKey,
  renderStaticKey,
  wrapClientKeyWith,
  wrapTlsCryptV2ClientKey,
} from './tls-crypt';

describe('static key V1', () => {
  it('renders the layout openvpn --genkey writes', () => {
    const text = generateTlsCryptKey();
    const lines = text.trimEnd().split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '#',
      '# 2048 bit OpenVPN static key',
      '#',
      '-----BEGIN OpenVPN Static key V1-----',
    ]);
    expect(lines.slice(4, 20).every((l) => /^[0-9a-f]{32}$/.test(l))).toBe(true);
    expect(lines[20]).toBe('-----END OpenVPN Static key V1-----');
    expect(generateTlsCryptKey()).not.toBe(text);
  });

  it('round-trips random keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 256, maxLength: 256 }), (key) => {
        const text = renderStaticKey(key);
        expect(parseStaticKey(text)).toEqual(key);
        expect(renderStaticKey(parseStaticKey(text))).toBe(text);
      }),
    );
  });

  it('gives typed errors for junk and wrong sizes', () => {
    fc.assert(
      fc.property(fc.string(), (junk) => {
        expect(() => parseStaticKey(junk)).toThrow(expect.objectContaining({ code: 'PKI_PARSE_FAILED' }));
      }),
    );
    const error = (() => {
      try {
        renderStaticKey(new Uint8Array(10));
      } catch (e) {
        return e;
      }
    })();
    expect(isOvpnPkiError(error) && error.code === 'PKI_INVALID_INPUT').toBe(true);
  });
});

describe('tls-crypt-v2 through the runner', () => {
  it('passes argument arrays and extracts the key; a failing openvpn is a typed error', async () => {
    const runner = createScriptedRunner({
      openvpn: ({ args }) =>
        args.includes('tls-crypt-v2-client')
          ? { exitCode: 1, stderr: 'Options error: bad key' }
          : {
              stdout:
                '-----BEGIN OpenVPN tls-crypt-v2 server key-----\nAAAA\n-----END OpenVPN tls-crypt-v2 server key-----\n',
            },
    });
    expect(await generateTlsCryptV2ServerKey(runner)).toMatch(
      /^-----BEGIN OpenVPN tls-crypt-v2 server key-----\nAAAA\n/,
    );
    await expect(generateTlsCryptV2ClientKey(runner, '/k/server.key')).rejects.toMatchObject({
      code: 'OVPN_COMMAND_FAILED',
      message: expect.stringContaining('Options error: bad key'),
    });
    expect(runner.calls.map((c) => [c.command, ...c.args])).toEqual([
      ['openvpn', '--genkey', 'tls-crypt-v2-server'],
      ['openvpn', '--tls-crypt-v2', '/k/server.key', '--genkey', 'tls-crypt-v2-client'],
    ]);
  });

  it('a missing openvpn is OVPN_COMMAND_FAILED with the host error as cause', async () => {
    const error = await generateTlsCryptV2ServerKey(createScriptedRunner({})).catch((e: unknown) => e);
    expect(isOvpnPkiError(error) && error.toJSON()).toMatchObject({
      code: 'OVPN_COMMAND_FAILED',
      details: { command: 'openvpn' },
      cause: { code: 'HOST_COMMAND_NOT_FOUND' },
    });
  });
});

// Made by the real OpenVPN 2.6.14: `openvpn --genkey tls-crypt-v2-server srv.key`, then
// `openvpn --tls-crypt-v2 srv.key --genkey tls-crypt-v2-client c1.key`.
const OPENVPN_SERVER_KEY = `-----BEGIN OpenVPN tls-crypt-v2 server key-----
aKEMG1X1TFbz9B8WP0RwJ2Wr8H3UkfHwwpCLp/30DAQ7jqZQwm6BadGGyFUeq3BK
7jJdN2Pkc0zq3TUnkLeNg6DEf4h4bGlR3UUPnyR70KVN/DIhQ75jBBzzW8s1+a2/
UoxUFTH7r02Ulm7qvDDJBkGw+iQmYpuFXYvbs5z6ho4=
-----END OpenVPN tls-crypt-v2 server key-----
`;
const OPENVPN_CLIENT_KEY = `-----BEGIN OpenVPN tls-crypt-v2 client key-----
WCrERoxuwG7nznw88/ghGldDAdGOjkJ/b4HIX6dO2Oh3cOFh7w6lxxIq4KzBKqzF
FAohxf73e3YLCfCjoZEi0yKHXTFb/cS5KyoREIedbX5z8LzA7UGN7LSmq2zDG8Rc
C6661zsj6ekB1Gc0hpqnqGo2mLyk0YEwrKcW30pg9XJ8NXM06lGokueVubT7BCyB
TnZFTyzDoyhVBRGRv3InmE/K7BdB2XRxnGxQIwlFXgFZM42ftvbzlM/1f3UGlQMu
IY3byCaC3CW85stfgxPQBgXpfJb2QP3Qup2RF4iGzLy8Bg0ISkn/Ff8SOqz6GswH
K6Jf5SCTfVtnj/zINBEa3S3R84R90D7T0rVX8FWVLBYTUHD/g+Pyp8aauuqYZHPk
R2Oo/yNKPfX+7yLOtuoJ58tu4geeT/BAZWpO6PWYeRZ4yCXzPfHM7wqM64Bn9B0d
slC8phe/i9JxUVQFFooMsxxmjONZu6HvW4Aw5KHa9HTdKwZEzF1vCq31a36S+tYo
9eGdSBa8zszpFHqMBXwoK8QKoLWZ11lmU3Bfibh3noj3YIIlhHdKyjZPBZI1Ah/N
QCCz0HF5vfCeKWgaxziDiZboQvftik2GwWVygcPL04PGOtaf+VqMWECL6AE3T26F
q0BIenf9xlJcSwDJ2xJgZQHWrONTMjcvr+HeYtNjlcn1Wy8AVunu0GcCtpBbesC1
SYdXnclwJbVkB08qwY6tr9d7oCm4f4oQdwEr
-----END OpenVPN tls-crypt-v2 client key-----
`;

/** Kc, the metadata and whether the tag checks, from a client key file (OpenVPN's unwrap). */
function unwrap(serverKeyText: string, clientKeyText: string) {
  const body = (text: string, label: string) =>
    Buffer.from(text.split(`-----BEGIN ${label}-----`)[1]?.split('-----END')[0]?.replace(/\s+/g, '') ?? '', 'base64');
  const serverKey = body(serverKeyText, 'OpenVPN tls-crypt-v2 server key');
  const file = body(clientKeyText, 'OpenVPN tls-crypt-v2 client key');
  const wkc = file.subarray(256);
  const tag = wkc.subarray(0, 32);
  const decipher = createDecipheriv('aes-256-ctr', serverKey.subarray(0, 32), tag.subarray(0, 16));
  const plain = Buffer.concat([decipher.update(wkc.subarray(32, -2)), decipher.final()]);
  const length = wkc.subarray(-2);
  const expected = createHmac('sha256', serverKey.subarray(64, 96)).update(length).update(plain).digest();
  return {
    serverKey,
    kc: plain.subarray(0, 256),
    metadata: plain.subarray(256),
    tagValid: expected.equals(tag) && length.readUInt16BE(0) === wkc.length,
    outerKcMatches: plain.subarray(0, 256).equals(file.subarray(0, 256)),
  };
}

describe('tls-crypt-v2 client keys in-process', () => {
  it('wraps byte for byte as openvpn --genkey tls-crypt-v2-client does', () => {
    const { serverKey, kc, metadata, tagValid, outerKcMatches } = unwrap(OPENVPN_SERVER_KEY, OPENVPN_CLIENT_KEY);
    expect(tagValid && outerKcMatches).toBe(true);
    expect(metadata[0]).toBe(1); // timestamp metadata
    expect(wrapClientKeyWith(serverKey, kc, metadata)).toBe(OPENVPN_CLIENT_KEY);
  });

  it('makes a fresh key with the creation time, wrapped under the server key', () => {
    const clock = fixedClock(new Date('2026-12-06T20:00:00Z'));
    const a = wrapTlsCryptV2ClientKey(OPENVPN_SERVER_KEY, { clock });
    const b = wrapTlsCryptV2ClientKey(OPENVPN_SERVER_KEY, { clock });
    expect(a).not.toBe(b);
    const { tagValid, outerKcMatches, metadata } = unwrap(OPENVPN_SERVER_KEY, a);
    expect(tagValid && outerKcMatches).toBe(true);
    expect(metadata.readBigInt64BE(1)).toBe(BigInt(Date.parse('2026-12-06T20:00:00Z') / 1000));
    expect(a.length).toBe(OPENVPN_CLIENT_KEY.length); // the same layout as openvpn's
  });

  it('refuses what is not a tls-crypt-v2 server key', () => {
    for (const text of [
      generateTlsCryptKey(),
      OPENVPN_CLIENT_KEY,
      OPENVPN_SERVER_KEY.replace('aKEMG1X1', 'aKEM'),
      OPENVPN_SERVER_KEY.replace('aKEMG1X1', 'aKE*G1X1'),
    ]) {
      expect(() => wrapTlsCryptV2ClientKey(text)).toThrow(
        expect.objectContaining({ code: 'PKI_PARSE_FAILED' }) as unknown as Error,
      );
    }
  });
});
