import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isSetupError } from './errors';
import { MAX_REQUEST_BYTES, parsePrivilegedRequest, readRequest } from './privileged';

const bytes = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const refusedCode = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (isSetupError(error)) return error.code;
    throw error;
  }
  throw new Error('accepted');
};

describe('parsePrivilegedRequest', () => {
  it('takes the five operations with valid arguments', () => {
    expect(parsePrivilegedRequest(bytes({ op: 'vpn.list' }))).toEqual({ op: 'vpn.list' });
    expect(parsePrivilegedRequest(bytes({ op: 'vpn.issue', commonName: 'anna.schmidt@laptop' }))).toEqual({
      op: 'vpn.issue',
      commonName: 'anna.schmidt@laptop',
    });
    expect(parsePrivilegedRequest(bytes({ op: 'vpn.revoke', commonName: 'hans-peter' })).op).toBe('vpn.revoke');
    expect(parsePrivilegedRequest(bytes({ op: 'vpn.revokeUser', username: 'Hans Peter' })).op).toBe('vpn.revokeUser');
    expect(parsePrivilegedRequest(bytes({ op: 'sync.run', job: 'dhcp' }))).toEqual({ op: 'sync.run', job: 'dhcp' });
  });

  it.each([
    ['an unknown operation', { op: 'shell.run', command: 'id' }],
    ['no operation', { commonName: 'anna' }],
    ['an extra field', { op: 'vpn.list', dir: '/etc' }],
    ['a path in the name', { op: 'vpn.issue', commonName: '../../etc/passwd' }],
    ['a dot-dot name', { op: 'vpn.issue', commonName: '..' }],
    ['a dot-dot device', { op: 'vpn.revoke', commonName: 'anna@..' }],
    ['a slash in the device', { op: 'vpn.issue', commonName: 'anna@a/b' }],
    ['two @', { op: 'vpn.issue', commonName: 'anna@a@b' }],
    ['an empty name', { op: 'vpn.issue', commonName: '' }],
    ['a branch name', { op: 'vpn.issue', commonName: 'site-berlin' }],
    ['a branch name in capitals', { op: 'vpn.revoke', commonName: 'Site-Berlin' }],
    ['the CA', { op: 'vpn.revoke', commonName: 'ca' }],
    ['an account longer than 20', { op: 'vpn.issue', commonName: 'a'.repeat(21) }],
    ['a newline in the name', { op: 'vpn.issue', commonName: 'anna\nb' }],
    ['an account with @', { op: 'vpn.revokeUser', username: 'anna@x' }],
    ['an account with a slash', { op: 'vpn.revokeUser', username: '../root' }],
    ['an account with a control character', { op: 'vpn.revokeUser', username: 'an\u0000na' }],
    ['a padded account', { op: 'vpn.revokeUser', username: ' anna' }],
    ['an unknown sync', { op: 'sync.run', job: 'backup' }],
    ['a name of the wrong type', { op: 'vpn.issue', commonName: ['anna'] }],
    ['an array', [{ op: 'vpn.list' }]],
  ])('refuses %s with SETUP_PRIVILEGED_REFUSED', (_, request) => {
    expect(refusedCode(() => parsePrivilegedRequest(bytes(request)))).toBe('SETUP_PRIVILEGED_REFUSED');
  });

  it('refuses what is no JSON, no UTF-8 or too large', () => {
    expect(refusedCode(() => parsePrivilegedRequest(bytes('{"op":')))).toBe('SETUP_PRIVILEGED_REFUSED');
    expect(refusedCode(() => parsePrivilegedRequest(new Uint8Array([0x7b, 0xff, 0x7d])))).toBe(
      'SETUP_PRIVILEGED_REFUSED',
    );
    const padded = `{"op":"vpn.list"${' '.repeat(MAX_REQUEST_BYTES)}}`;
    expect(refusedCode(() => parsePrivilegedRequest(bytes(padded)))).toBe('SETUP_PRIVILEGED_REFUSED');
  });

  it('does not echo a refused value', () => {
    try {
      parsePrivilegedRequest(bytes({ op: 'vpn.issue', commonName: 'secret-ish/../x' }));
    } catch (error) {
      expect(JSON.stringify(error)).not.toContain('secret-ish');
      expect((error as Error).message).not.toContain('secret-ish');
    }
  });
});

describe('readRequest', () => {
  it('reads up to the first newline', async () => {
    const input = Readable.from([Buffer.from('{"op":"vpn'), Buffer.from('.list"}\n{"op":"sync.run"}')]);
    expect(new TextDecoder().decode(await readRequest(input))).toBe('{"op":"vpn.list"}');
  });

  it('reads to the end without a newline', async () => {
    expect(new TextDecoder().decode(await readRequest(Readable.from([Buffer.from('{"op":"vpn.list"}')])))).toBe(
      '{"op":"vpn.list"}',
    );
  });

  it('stops reading an endless request after the limit', async () => {
    let sent = 0;
    async function* endless() {
      for (;;) {
        sent += 1024;
        yield new Uint8Array(1024).fill(0x20);
      }
    }
    await expect(readRequest(endless())).rejects.toMatchObject({ code: 'SETUP_PRIVILEGED_REFUSED' });
    expect(sent).toBeLessThanOrEqual(MAX_REQUEST_BYTES + 1024);
  });

  it('gives up on a client that sends nothing', async () => {
    const silent = new Readable({ read() {} });
    await expect(readRequest(silent, 50)).rejects.toMatchObject({ code: 'SETUP_PRIVILEGED_REFUSED' });
    silent.destroy();
  });
});
