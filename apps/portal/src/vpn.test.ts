import { describe, expect, it } from 'vitest';
import { isPortalError } from './errors';
import { belongsToUser, vpnCommonName } from './vpn';

describe('VPN certificate names of an account', () => {
  it('names certificates `<user>` and `<user>@<device>`, and refuses what cannot be a certificate name', () => {
    expect(vpnCommonName('anna.schmidt')).toBe('anna.schmidt');
    expect(vpnCommonName('anna.schmidt', 'laptop-2')).toBe('anna.schmidt@laptop-2');
    for (const [user, device] of [
      ['a@b', undefined],
      ['anna', 'x@y'],
      ['anna', ''],
      ['anna', 'a b'],
      ['müller', undefined],
      ['anna', 'x'.repeat(60)],
      ['', undefined],
    ] as const) {
      let error: unknown;
      try {
        vpnCommonName(user, device);
      } catch (e) {
        error = e;
      }
      expect(isPortalError(error) && error.code, `${user} ${device}`).toBe('PORTAL_VALIDATION');
    }
  });

  it('recognises every name it makes for that account, without case, and none of another account', () => {
    const users = ['anna', 'anna.schmidt', 'Anna.Schmidt2', 'hans-peter', 'hans', 'an_na', 'a'];
    const devices = [undefined, 'laptop', 'phone.2', 'hans-peter', 'x_y'];
    for (const user of users) {
      for (const device of devices) {
        const cn = vpnCommonName(user, device);
        for (const other of users) {
          expect(belongsToUser(cn, other), `${cn} of ${other}`).toBe(other.toLowerCase() === user.toLowerCase());
        }
        expect(belongsToUser(cn.toUpperCase(), user.toLowerCase())).toBe(true);
      }
    }
    // Separators that occur inside account names do not count; an empty name owns nothing.
    expect(belongsToUser('hans-laptop', 'hans')).toBe(false);
    expect(belongsToUser('anna.laptop', 'anna')).toBe(false);
    expect(belongsToUser('@laptop', '')).toBe(false);
  });
});
