// A module context over a staging root for the module tests: the real runner, a rooted file
// system, answers validated like init's, a clock the test can move.
import { type Clock, type CommandRunner, createExecaRunner, type ServiceManager } from '@invis/host';
import { type Answers, validateAnswers } from '../../src/answers';
import type { ModuleContext } from '../../src/module';
import { type PlatformProfile, PROFILES } from '../../src/profiles';
import { createRootedFs } from '../../src/rooted-fs';
import { createSecretStore } from '../../src/secrets';

/** Answers of the module tests. */
export const MODULE_ANSWERS = {
  hostname: 'invis',
  domain: 'invis-net.loc',
  interfaces: { intern: 'intern', extern: 'extern' },
  lan: { address: '192.168.220.10/24' },
  ssh: { port: 55022 },
};

/** A clock whose time the test sets. */
export interface MovableClock extends Clock {
  set(date: Date): void;
}

/**
 * A clock starting now that the test can move.
 * @returns the clock
 */
export function movableClock(): MovableClock {
  let now = new Date();
  return {
    now: () => now,
    set(date) {
      now = date;
    },
  };
}

/** A service manager for staged runs: every action is refused, nothing is active. */
const noServices: ServiceManager = {
  start: refuse,
  stop: refuse,
  restart: refuse,
  reload: refuse,
  reloadOrRestart: refuse,
  isActive: async () => false,
};
async function refuse(unit: string): Promise<void> {
  throw new Error(`no service actions in this test (${unit})`);
}

/**
 * A module context over `root`.
 * @param root the staging root
 * @param options answers (merged over {@link MODULE_ANSWERS}), clock, runner, services, staging flag
 * @returns the context
 */
export async function moduleContext(
  root: string,
  options: {
    answers?: Record<string, unknown>;
    clock?: Clock;
    runner?: CommandRunner;
    services?: ServiceManager;
    staging?: boolean;
    profile?: PlatformProfile;
  } = {},
): Promise<ModuleContext> {
  const fs = await createRootedFs(root);
  const answers: Answers = validateAnswers({ ...MODULE_ANSWERS, ...options.answers }, 'en');
  return {
    answers,
    secrets: createSecretStore(fs),
    fs,
    runner: options.runner ?? createExecaRunner(),
    services: options.services ?? noServices,
    profile: options.profile ?? (PROFILES['debian-12'] as PlatformProfile),
    clock: options.clock ?? movableClock(),
    progress: () => undefined,
    staging: options.staging ?? true,
    lang: 'en',
  };
}
