import { describe, expect, it } from 'vitest';
import { topoOrder } from './graph';

const node = (id: string, ...dependsOn: string[]) => ({ id, dependsOn });

describe('topoOrder', () => {
  const all = [
    node('ssh', 'check'),
    node('check'),
    node('dns', 'samba'),
    node('samba', 'check', 'time'),
    node('time', 'check'),
  ];

  it('puts every module after its dependencies, ties in registry order', () => {
    expect(topoOrder(all, [])).toEqual(['check', 'ssh', 'time', 'samba', 'dns']);
  });

  it('brings the dependencies of the wanted modules along', () => {
    expect(topoOrder(all, ['dns'])).toEqual(['check', 'time', 'samba', 'dns']);
    expect(topoOrder(all, ['ssh', 'check'])).toEqual(['check', 'ssh']);
  });

  it('names a cycle with a typed error', () => {
    const cyclic = [node('a', 'b'), node('b', 'c'), node('c', 'a')];
    expect(() => topoOrder(cyclic, [])).toThrow(
      expect.objectContaining({ code: 'SETUP_MODULE_CYCLE', details: { cycle: ['a', 'b', 'c', 'a'] } }),
    );
    expect(() => topoOrder([node('a', 'a')], [])).toThrow(expect.objectContaining({ code: 'SETUP_MODULE_CYCLE' }));
  });

  it('refuses unknown modules, wanted or depended on', () => {
    expect(() => topoOrder(all, ['dnss'])).toThrow(expect.objectContaining({ code: 'SETUP_UNKNOWN_MODULE' }));
    expect(() => topoOrder([node('a', 'ghost')], [])).toThrow(/a depends on unknown module "ghost"/);
  });
});
