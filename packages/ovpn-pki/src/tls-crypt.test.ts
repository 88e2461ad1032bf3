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
