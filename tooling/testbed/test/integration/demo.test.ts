import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, DEMO_USERS, readDemoDirectory, seedDemoDirectory } from '../../src/demo-directory';
import { type SambaDc, startSambaDc } from '../../src/index';

describe('demo directory', () => {
  let dc: SambaDc;
  beforeAll(async () => {
    dc = await startSambaDc();
    await seedDemoDirectory(dc.info);
  });
  afterAll(async () => {
    await dc?.stop();
  });

  it('reads back every demo person with RFC2307 ids and group memberships', async () => {
    const snapshot = await readDemoDirectory(dc.info);
    expect(snapshot.users.map((u) => u.sAMAccountName)).toEqual(DEMO_USERS.map((u) => u.sAMAccountName).sort());
    const anna = snapshot.users.find((u) => u.sAMAccountName === 'anna.schmidt');
    expect(anna?.memberOf).toEqual(['Domain Admins', 'mobilusers']);
    expect(snapshot.groups.find((g) => g.name === 'mobilusers')?.members).toBe(2);
  });

  it('lets a demo user get a Kerberos ticket with the real kinit', async () => {
    const env = { KRB5_CONFIG: dc.info.krb5Conf, KRB5CCNAME: `FILE:${dc.info.dir}/demo.ccache` };
    await execa('kinit', ['bernd.mueller@INVIS.TEST'], { env, input: `${DEMO_PASSWORD}\n` });
    const { stdout } = await execa('klist', [], { env });
    expect(stdout).toContain('bernd.mueller@INVIS.TEST');
  });
});
