import { HostError } from '@invis/host';
import { describe, expect, it } from 'vitest';
import { validateDhcpConfig } from './conflicts';
import { DhcpConfigError, isDhcpConfigError } from './errors';

describe('DhcpConfigError', () => {
  it('serialises code, message, details, issues and an invis cause, nothing else', () => {
    let caught: unknown;
    try {
      validateDhcpConfig({
        interfaces: ['eth1'],
        subnets: [{ cidr: '10.0.0.0/24', pools: [{ start: '10.0.0.200', end: '10.0.0.220' }] }],
        reservations: [{ mac: '02:00:00:00:00:01', ip: '10.0.0.205', hostname: 'pc1' }],
      });
    } catch (e) {
      caught = e;
    }
    expect(isDhcpConfigError(caught)).toBe(true);
    expect(JSON.parse(JSON.stringify(caught))).toEqual({
      code: 'DHCP_CONFLICT',
      message: (caught as Error).message,
      issues: [{ kind: 'RESERVATION_IN_POOL', path: 'reservations[0].ip', message: expect.any(String) }],
    });

    const cause = new HostError('HOST_COMMAND_NOT_FOUND', 'dhcpd is not installed', { details: { command: 'dhcpd' } });
    const wrapped = new DhcpConfigError('DHCP_CHECK_FAILED', 'dhcpd could not be run', {
      cause,
      details: { command: 'dhcpd' },
    });
    expect(wrapped.toJSON()).toEqual({
      code: 'DHCP_CHECK_FAILED',
      message: 'dhcpd could not be run',
      details: { command: 'dhcpd' },
      cause: { code: 'HOST_COMMAND_NOT_FOUND', message: 'dhcpd is not installed', details: { command: 'dhcpd' } },
    });
    expect(wrapped.name).toBe('DhcpConfigError');
  });

  it('the guard tells its own errors from other invis errors and plain errors', () => {
    expect(isDhcpConfigError(new DhcpConfigError('DHCP_PARSE_ERROR', 'x'))).toBe(true);
    expect(isDhcpConfigError(new HostError('HOST_UNSAFE_PATH', 'x'))).toBe(false);
    expect(isDhcpConfigError(new Error('x'))).toBe(false);
    expect(isDhcpConfigError({ code: 'DHCP_PARSE_ERROR' })).toBe(false);
  });
});
