import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BindServer, startBind } from '../../src/index';

describe('BIND 9 from the testbed', () => {
  let bind: BindServer;
  beforeAll(async () => {
    bind = await startBind({ zones: ['dyn.invis.test'] });
  });
  afterAll(async () => {
    await bind?.stop();
  });

  it('answers a TSIG-signed nsupdate and serves the new record', async () => {
    const { address, port, keyFile } = bind.info;
    const script = `server ${address} ${port}\nzone dyn.invis.test\nupdate add gw.dyn.invis.test. 60 A 192.0.2.10\nsend\n`;
    await execa('nsupdate', ['-k', keyFile], { input: script });
    const { stdout } = await execa('dig', ['+short', '-p', String(port), `@${address}`, 'gw.dyn.invis.test', 'A']);
    expect(stdout.trim()).toBe('192.0.2.10');
  });

  it('refuses an unsigned update', async () => {
    const { address, port } = bind.info;
    const script = `server ${address} ${port}\nzone dyn.invis.test\nupdate add evil.dyn.invis.test. 60 A 192.0.2.66\nsend\n`;
    const result = await execa('nsupdate', [], { input: script, reject: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr + result.stdout).toMatch(/REFUSED/);
  });
});
