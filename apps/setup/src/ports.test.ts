import { describe, expect, it } from 'vitest';
import { choosePort, parseListeningPorts } from './ports';

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
