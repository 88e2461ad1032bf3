import { execa } from 'execa';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restartSambaDc, type SambaDc, startSambaDc } from '../../src/index';

describe('Samba AD DC from the testbed', () => {
  let dc: SambaDc;
  beforeAll(async () => {
    dc = await startSambaDc();
  });
  afterAll(async () => {
    await dc?.stop();
  });

  it('serves the rootDSE over LDAPS with a certificate that verifies against the test CA', async () => {
    const client = new Client({ url: dc.info.ldapsUrl, tlsOptions: { ca: dc.info.caPem } });
    const { searchEntries } = await client.search('', {
      scope: 'base',
      attributes: ['defaultNamingContext', 'dnsHostName'],
    });
    expect(searchEntries[0]?.defaultNamingContext).toBe('DC=invis,DC=test');
    await client.unbind();
  });

  it('accepts the administrator bind over LDAPS and StartTLS, checked with ldapsearch', async () => {
    const env = { LDAPTLS_CACERT: dc.info.caFile };
    const args = [
      '-LLL',
      '-x',
      '-D',
      dc.info.adminUPN,
      '-w',
      dc.info.adminPassword,
      '-b',
      dc.info.baseDN,
      '-s',
      'base',
      'objectClass',
    ];
    const ldaps = await execa('ldapsearch', ['-H', dc.info.ldapsUrl, ...args], { env });
    expect(ldaps.stdout).toContain(`dn: ${dc.info.baseDN}`);
    const startTls = await execa('ldapsearch', ['-ZZ', '-H', dc.info.ldapUrl, ...args], { env });
    expect(startTls.stdout).toContain(`dn: ${dc.info.baseDN}`);
  });

  it('refuses a simple bind without TLS (strong auth required)', async () => {
    const client = new Client({ url: dc.info.ldapUrl });
    await expect(client.bind(dc.info.adminDN, dc.info.adminPassword)).rejects.toThrow(/Strong|encryption/i);
  });

  it('answers DNS for its realm on its own address', async () => {
    const { stdout } = await execa('dig', [
      '+short',
      '-p',
      String(dc.info.dnsPort),
      `@${dc.info.address}`,
      '_ldap._tcp.invis.test',
      'SRV',
    ]);
    expect(stdout).toMatch(/389 dc1\.invis\.test\./);
  });

  it('comes back after a restart with its data', async () => {
    const ms = await restartSambaDc(dc.info);
    expect(ms).toBeGreaterThan(0);
    const client = new Client({ url: dc.info.ldapsUrl, tlsOptions: { ca: dc.info.caPem } });
    await client.bind(dc.info.adminDN, dc.info.adminPassword);
    const { searchEntries } = await client.search(`CN=Users,${dc.info.baseDN}`, {
      scope: 'one',
      filter: '(sAMAccountName=Administrator)',
    });
    expect(searchEntries).toHaveLength(1);
    await client.unbind();
  });
});
