import { AdError } from '@invis/ad-client';
import { HostError } from '@invis/host';
import { describe, expect, it } from 'vitest';
import { toPortalError } from './ad-directory';
import { isPortalError, PortalError } from './errors';

const DN = 'CN=bernd.mueller,CN=Users,DC=invis,DC=test';

describe('PortalError', () => {
  it('is an invis error with the portal scope, status by code and a guard', () => {
    const e = new PortalError('PORTAL_THROTTLED', 'slow down', { details: { retryAfterSeconds: 30 } });
    expect(isPortalError(e)).toBe(true);
    expect(isPortalError(new HostError('HOST_COMMAND_FAILED', 'x'))).toBe(false);
    expect(e.status).toBe(429);
    expect(e.toJSON()).toEqual({ code: 'PORTAL_THROTTLED', message: 'slow down', details: { retryAfterSeconds: 30 } });
  });

  // Security finding 14: a mapped directory error keeps the AdError as cause for the log, but
  // its JSON (what a client gets) must not nest the AdError's JSON with the DN and LDAP code.
  it('never serialises its cause, not even an invis error with a DN in its details', () => {
    const mapped = toPortalError(
      new AdError('AD_ENTRY_EXISTS', `entry ${DN} exists`, { details: { target: DN, ldapCode: 68 } }),
    );
    expect(isPortalError(mapped) && mapped.cause).toBeInstanceOf(AdError);
    expect(JSON.parse(JSON.stringify(mapped))).toEqual({ code: 'PORTAL_CONFLICT', message: 'exists already' });
    const wrapped = new PortalError('PORTAL_SERVICE_ACTION_FAILED', 'restart dhcp failed', {
      cause: new HostError('HOST_SERVICE_FAILED', 'systemctl restart kea-dhcp4-server failed: Unit not found.'),
    });
    expect(JSON.stringify(wrapped)).not.toContain('systemctl');
  });
});
