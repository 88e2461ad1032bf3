// The real checkers on what the modules render: sshd -t and chronyd -p accept our files and
// refuse a broken one with the message the module then reports.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { validateAnswers } from '../../src/answers';
import { runChecker } from '../../src/module';
import { renderSshdDropIn } from '../../src/modules/ssh';
import { renderChronyConf } from '../../src/modules/time';
import { PROFILES } from '../../src/profiles';
import { serverRunner } from './helpers';

const answers = validateAnswers(
  {
    hostname: 'invis',
    domain: 'invis-net.loc',
    interfaces: { intern: 'intern', extern: 'extern' },
    lan: { address: '192.168.220.10/24' },
    vpn: { network: '192.168.166.0/24' },
    ssh: { port: 55022, passwordAuthentication: true },
  },
  'en',
);
const profile = PROFILES['debian-12'] as (typeof PROFILES)['debian-12'];

describe('real checkers', () => {
  const dir = useTempDir('setup-checkers-');
  const runner = serverRunner();

  it('sshd -t accepts the drop-in and refuses a broken one', async () => {
    const file = join(dir(), 'invis.conf');
    await writeFile(file, renderSshdDropIn(answers));
    expect(await runChecker(runner, profile.ssh.sshd, ['-t', '-f', file])).toEqual({ ok: true });
    await writeFile(file, renderSshdDropIn(answers).replace('prohibit-password', 'prohibit-pasword'));
    const refused = await runChecker(runner, profile.ssh.sshd, ['-t', '-f', file]);
    expect(refused).toEqual({ ok: false, message: expect.stringContaining('unsupported option "prohibit-pasword"') });
  });

  it('chronyd -p accepts the conf.d file and refuses a broken one', async () => {
    const file = join(dir(), 'invis.conf');
    await writeFile(file, renderChronyConf(answers, profile));
    expect(await runChecker(runner, profile.chrony.chronyd, ['-p', '-f', file])).toEqual({ ok: true });
    await writeFile(file, renderChronyConf(answers, profile).replace('192.168.166.0/24', '192.168.366.0/24'));
    const refused = await runChecker(runner, profile.chrony.chronyd, ['-p', '-f', file]);
    expect(refused).toEqual({ ok: false, message: expect.stringContaining('Could not parse allow directive') });
  });
});
