import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipv4ToNumber } from './address';
import { findConflicts } from './conflicts';
import { DhcpConfigError } from './errors';
import { type DhcpConfigInput, normalizeDhcpConfig } from './model';
import { DEVICE_TYPES, type DeviceType, deviceTypeOf, invisDevicePolicy, nextFreeAddress, policyPool } from './policy';

const lan = (reservations: DhcpConfigInput['reservations'] = []) =>
  normalizeDhcpConfig({
    subnets: [{ cidr: '192.168.220.0/24', pools: [policyPool('192.168.220.0/24')] }],
    reservations,
  });

describe('device policy', () => {
  it('has the original /24 ranges and pool', () => {
    const subnet = { cidr: '192.168.220.0/24' };
    expect(policyPool(subnet.cidr)).toEqual({ start: '192.168.220.200', end: '192.168.220.220' });
    expect(
      ['.11', '.19', '.20', '.50', '.60', '.90', '.120', '.199', '.55', '.210'].map((h) =>
        deviceTypeOf(subnet, `192.168.220${h}`),
      ),
    ).toEqual([
      'server',
      'server',
      'printer',
      'printer',
      'ipDevice',
      'ipDevice',
      'client',
      'client',
      undefined,
      undefined,
    ]);
  });

  it('has the original /16 ranges', () => {
    const subnet = { cidr: '172.16.0.0/16' };
    expect(deviceTypeOf(subnet, '172.16.0.253')).toBe('server');
    expect(deviceTypeOf(subnet, '172.16.1.1')).toBe('printer');
    expect(deviceTypeOf(subnet, '172.16.3.254')).toBe('ipDevice');
    expect(deviceTypeOf(subnet, '172.16.4.7')).toBe('client');
    expect(policyPool(subnet.cidr)).toEqual({ start: '172.16.200.1', end: '172.16.200.254' });
    expect(deviceTypeOf(subnet, '172.17.0.1')).toBeUndefined();
  });

  it('refuses subnets too small for the layout', () => {
    expect(() => invisDevicePolicy(25)).toThrow(DhcpConfigError);
  });
});

describe('nextFreeAddress', () => {
  it('returns the lowest free address of the type, skipping reservations and exclusions', () => {
    const config = lan([
      { ip: '192.168.220.20', mac: '02:00:00:00:00:01', hostname: 'p1' },
      { ip: '192.168.220.22', mac: '02:00:00:00:00:02', hostname: 'p2' },
    ]);
    expect(nextFreeAddress(config, { deviceType: 'printer' })).toBe('192.168.220.21');
    expect(nextFreeAddress(config, { deviceType: 'printer', exclude: ['192.168.220.21'] })).toBe('192.168.220.23');
    expect(nextFreeAddress(config, { deviceType: 'client', subnet: '192.168.220.0/24' })).toBe('192.168.220.120');
    expect(nextFreeAddress(config, { deviceType: 'server', subnet: 1 })).toBe('192.168.220.11');
  });

  it('throws DHCP_RANGE_EXHAUSTED when the range is full and DHCP_UNKNOWN_SUBNET for a wrong subnet', () => {
    const servers = Array.from({ length: 9 }, (_, i) => ({
      ip: `192.168.220.${11 + i}`,
      mac: `02:00:00:00:01:${(i + 1).toString(16).padStart(2, '0')}`,
      hostname: `srv${i}`,
    }));
    expect(() => nextFreeAddress(lan(servers), { deviceType: 'server' })).toThrow(
      expect.objectContaining({ code: 'DHCP_RANGE_EXHAUSTED' }),
    );
    expect(() => nextFreeAddress(lan(), { deviceType: 'server', subnet: 9 })).toThrow(
      expect.objectContaining({ code: 'DHCP_UNKNOWN_SUBNET' }),
    );
  });

  it('filling a range address by address never produces a conflict and stays in the range', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom<DeviceType>(...DEVICE_TYPES), { maxLength: 40 }), (types) => {
        let config = lan();
        for (const [i, deviceType] of types.entries()) {
          let ip: string;
          try {
            ip = nextFreeAddress(config, { deviceType });
          } catch (e) {
            expect((e as DhcpConfigError).code).toBe('DHCP_RANGE_EXHAUSTED');
            continue;
          }
          expect(deviceTypeOf(config.subnets[0] as { cidr: string }, ip)).toBe(deviceType);
          config = normalizeDhcpConfig({
            ...config,
            reservations: [
              ...config.reservations,
              { ip, mac: `02:00:00:00:02:${i.toString(16).padStart(2, '0')}`, hostname: `h${i}` },
            ],
          });
          expect(findConflicts(config)).toEqual([]);
        }
        const ips = config.reservations.map((r) => ipv4ToNumber(r.ip));
        expect(new Set(ips).size).toBe(ips.length);
      }),
      { numRuns: 50 },
    );
  });
});
