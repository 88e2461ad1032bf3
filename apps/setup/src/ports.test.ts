import { describe, expect, it } from 'vitest';
import { chooseExternalPorts, choosePort, parseListeningPorts } from './ports';

/** A "random" source that yields the given values in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return (min: number, max: number) => {
    const v = values[i++ % values.length] as number;
    expect(v).toBeGreaterThanOrEqual(min);
    expect(v).toBeLessThan(max);
    return v;
  };
};

describe('choosePort', () => {
  it('takes the random port when it is free', () => {
    expect(choosePort(new Set(), sequence(55022))).toBe(55022);
  });

  it('skips listeners and the Samba RPC range', () => {
    expect(choosePort(new Set([55022]), sequence(55022, 61000, 61999, 50001))).toBe(50001);
  });

  it('scans when every random try hits a taken port', () => {
    const used = new Set([50001, 50002]);
    expect(choosePort(used, sequence(50001))).toBe(50003);
  });

  it('fails with a typed error when nothing is free', () => {
    const used = new Set<number>();
    for (let p = 50001; p <= 65535; p++) used.add(p);
    expect(() => choosePort(used, sequence(50001))).toThrow(expect.objectContaining({ code: 'SETUP_NO_FREE_PORT' }));
  });
});

describe('chooseExternalPorts', () => {
  it('chooses the missing ports apart from listeners, each other and Samba, OpenVPN with a free + 1', () => {
    // 55022 taken by a listener; 60999 would need 61000 (Samba) as its partner; 57000 is the portal's.
    const ports = chooseExternalPorts(new Set([55022]), sequence(55022, 56000, 57000, 60999, 56999, 57500), {
      portal: 57000,
    });
    expect(ports).toEqual({ ssh: 56000, portal: 57000, openvpn: 57500 });
  });

  it('keeps every port the answers give', () => {
    expect(chooseExternalPorts(new Set(), sequence(50001), { ssh: 1, portal: 2, openvpn: 3 })).toEqual({
      ssh: 1,
      portal: 2,
      openvpn: 3,
    });
  });

  it('never picks 65535 for OpenVPN (its partner would not exist)', () => {
    expect(chooseExternalPorts(new Set(), sequence(65535, 65534), { ssh: 1, portal: 2 }).openvpn).toBe(65534);
  });
});

describe('parseListeningPorts', () => {
  it('reads the local port of every TCP and UDP listener of `ss -Hltnu`', () => {
    const output = [
      'udp   UNCONN 0      0          127.0.0.53%lo:53        0.0.0.0:*',
      'udp   UNCONN 0      0                      *:5353          *:*',
      'tcp   LISTEN 0      128              0.0.0.0:22        0.0.0.0:*',
      'tcp   LISTEN 0      128                 [::]:55022        [::]:*',
      '',
    ].join('\n');
    expect([...parseListeningPorts(output)].sort()).toEqual([22, 53, 5353, 55022]);
  });
});
