// systemd unit files the modules render (the DHCP sync and DDNS timers, the portal service) and
// their real checker, `systemd-analyze verify`, run strictly: any line it prints refuses the file,
// because it reports bad values only as "…, ignoring." warnings with exit code 0.
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generatedMarker } from '@invis/host';
import type { CheckResult, ModuleContext } from './module';

/** One `[Section]` of a unit: keys in order; a key may repeat. */
export type UnitSection = readonly (readonly [key: string, value: string])[];

/**
 * A unit file: the generated marker, a comment, then the sections in order.
 * @param comment why the unit exists (one line)
 * @param sections section name → keys
 * @returns the file content
 */
export function renderUnit(comment: string, sections: Readonly<Record<string, UnitSection>>): string {
  const body = Object.entries(sections).map(
    ([name, keys]) => `[${name}]\n${keys.map(([key, value]) => `${key}=${value}\n`).join('')}`,
  );
  return `${generatedMarker('@invis/setup-1', 'hash')}\n# ${comment}\n${body.join('\n')}`;
}

/**
 * The hardening every invis unit shares (each service adds its user, writable paths and
 * capabilities). No MemoryDenyWriteExecute: Node's JIT needs writable code pages.
 */
export const HARDENING: UnitSection = [
  ['NoNewPrivileges', 'yes'],
  ['ProtectSystem', 'strict'],
  ['ProtectHome', 'yes'],
  ['PrivateTmp', 'yes'],
  ['PrivateDevices', 'yes'],
  ['ProtectKernelTunables', 'yes'],
  ['ProtectKernelModules', 'yes'],
  ['ProtectKernelLogs', 'yes'],
  ['ProtectControlGroups', 'yes'],
  ['ProtectClock', 'yes'],
  ['ProtectHostname', 'yes'],
  ['RestrictNamespaces', 'yes'],
  ['RestrictRealtime', 'yes'],
  ['RestrictSUIDSGID', 'yes'],
  ['LockPersonality', 'yes'],
  ['RestrictAddressFamilies', 'AF_UNIX AF_INET AF_INET6'],
  ['SystemCallArchitectures', 'native'],
  ['UMask', '0077'],
];

/**
 * Checks a unit with `systemd-analyze verify`, together with its companions (a timer needs its
 * service beside it). Every printed line refuses — except, when staging, that a program the
 * server will have (invis-setup, the portal's Node) is missing on the machine that renders.
 * @param ctx the module context (runner, profile, staging)
 * @param candidate the candidate file (a real path in a folder of its own)
 * @param companions other units written beside it first
 * @param installedLater programs a staging host may lack
 * @returns the verdict
 */
export async function verifyUnit(
  ctx: ModuleContext,
  candidate: string,
  companions: readonly { name: string; content: string }[],
  installedLater: readonly string[],
): Promise<CheckResult> {
  const dir = dirname(candidate);
  for (const unit of companions) await writeFile(join(dir, unit.name), unit.content, { mode: 0o644 });
  const files = [candidate, ...companions.map((u) => join(dir, u.name))];
  const result = await ctx.runner.run(ctx.profile.systemd.analyze, ['verify', '--man=no', ...files], {
    timeoutMs: 30_000,
  });
  const tolerated = (line: string) =>
    ctx.staging &&
    installedLater.some((program) => line.endsWith(`Command ${program} is not executable: No such file or directory`));
  const problems = result.output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !tolerated(l));
  // systemd-analyze reports the units by their file name; our own content is what matters.
  return problems.length === 0 && (result.exitCode === 0 || result.output.trim() !== '')
    ? { ok: true }
    : { ok: false, message: problems.join('; ') || `exit ${result.exitCode}` };
}
