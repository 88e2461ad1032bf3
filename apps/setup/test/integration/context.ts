// A module context for integration tests: the real runner (sshd in its own mount namespace, see
// helpers.ts), a rooted file system over a staged server, recorded service actions.
import { fixedClock, type ServiceManager } from '@invis/host';
import { createRecordingServiceManager } from '@invis/test-utils';
import { type AnswersInput, validateAnswers } from '../../src/answers';
import type { ModuleContext } from '../../src/module';
import { PROFILES } from '../../src/profiles';
import { createRootedFs } from '../../src/rooted-fs';
import { createSecretStore } from '../../src/secrets';
import { serverRunner, stageServer } from './helpers';

/** The answers of the module tests: every port given, VPN on. */
export const MODULE_ANSWERS: AnswersInput = {
  hostname: 'invis',
  domain: 'invis-net.loc',
  interfaces: { intern: 'intern', extern: 'extern' },
  lan: { address: '192.168.220.10/24' },
  vpn: { network: '192.168.166.0/24' },
  ssh: { port: 55022 },
  portal: { port: 56443 },
  openvpn: { port: 57194 },
};

/**
 * A staging context below `root` (prepared like a Debian server).
 * @param root the staging root
 * @param options answers (default {@link MODULE_ANSWERS}), staging (default true), services
 * @returns the context
 */
export async function moduleContext(
  root: string,
  options: { answers?: AnswersInput; staging?: boolean; services?: ServiceManager } = {},
): Promise<ModuleContext> {
  await stageServer(root);
  const fs = await createRootedFs(root);
  return {
    answers: validateAnswers(options.answers ?? MODULE_ANSWERS, 'en'),
    secrets: createSecretStore(fs),
    fs,
    runner: serverRunner(),
    services: options.services ?? createRecordingServiceManager(),
    profile: PROFILES['debian-12'] as (typeof PROFILES)['debian-12'],
    clock: fixedClock('2026-01-02T03:04:05Z'),
    progress: () => undefined,
    staging: options.staging ?? true,
    lang: 'en',
  };
}
