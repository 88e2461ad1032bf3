import { describe, expect, it } from 'vitest';
import { type AdDnsClient, createAdBackend } from './ad-backend';

const unused = (): never => {
  throw new Error('not expected in this test');
};

describe('createAdBackend', () => {
  it('wraps directory failures as DNS_AD_FAILED and retries the naming context later', async () => {
    let calls = 0;
    const client: AdDnsClient = {
      baseDN: async () => {
        calls++;
        throw new Error('connect ECONNREFUSED');
      },
      search: unused,
      get: unused,
      add: unused,
      modify: unused,
      delete: unused,
    };
    const backend = createAdBackend({ client });
    await expect(backend.listZones()).rejects.toMatchObject({ code: 'DNS_AD_FAILED' });
    await expect(backend.listZones()).rejects.toMatchObject({ code: 'DNS_AD_FAILED' });
    expect(calls).toBe(2);
  });
});
