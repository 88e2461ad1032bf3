// The domain password and lockout policy (attributes of the domain object), read and updated
// as the original's `pwsettings` / `samba-tool domain passwordsettings` do.
import { AdError } from './errors';
import type { AdChange, LdapOperations } from './ldap';
import { intervalToMs, msToInterval } from './values';

/** Domain password policy. Ages and durations in milliseconds; `undefined` = never/unlimited. */
export interface PasswordPolicy {
  minLength: number;
  /** Complexity requirement (pwdProperties bit 1). */
  complexity: boolean;
  /** Number of remembered passwords. */
  historyLength: number;
  minAgeMs: number | undefined;
  maxAgeMs: number | undefined;
  /** Failed logons before lockout; 0 = never lock. */
  lockoutThreshold: number;
  lockoutDurationMs: number | undefined;
  lockoutWindowMs: number | undefined;
}

const DOMAIN_PASSWORD_COMPLEX = 1;
const DAY = 86_400_000;

/**
 * Reads the domain password policy.
 * @example const p = await ad.policy.get(); p.maxAgeMs === undefined // passwords never expire
 */
export async function readPasswordPolicy(ad: LdapOperations): Promise<PasswordPolicy> {
  const base = await ad.baseDN();
  const e = await ad.get(base, [
    'minPwdLength',
    'pwdProperties',
    'pwdHistoryLength',
    'minPwdAge',
    'maxPwdAge',
    'lockoutThreshold',
    'lockoutDuration',
    'lockOutObservationWindow',
  ]);
  if (!e) throw new AdError('AD_NO_SUCH_OBJECT', `The domain object ${base} cannot be read.`);
  return {
    minLength: e.getNumber('minPwdLength') ?? 0,
    complexity: ((e.getNumber('pwdProperties') ?? 0) & DOMAIN_PASSWORD_COMPLEX) !== 0,
    historyLength: e.getNumber('pwdHistoryLength') ?? 0,
    minAgeMs: intervalToMs(e.get('minPwdAge')),
    maxAgeMs: intervalToMs(e.get('maxPwdAge')),
    lockoutThreshold: e.getNumber('lockoutThreshold') ?? 0,
    lockoutDurationMs: intervalToMs(e.get('lockoutDuration')),
    lockoutWindowMs: intervalToMs(e.get('lockOutObservationWindow')),
  };
}

const int = (field: string, v: number, min: number, max: number): number => {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new AdError('AD_INVALID_INPUT', `${field} must be a whole number from ${min} to ${max}.`, {
      details: { field },
    });
  return v;
};
const age = (field: string, v: number | undefined): number | undefined => {
  if (v === undefined || v === 0) return undefined;
  if (!Number.isFinite(v) || v < 0)
    throw new AdError('AD_INVALID_INPUT', `${field} must be a positive duration in ms (or undefined for never).`, {
      details: { field },
    });
  return v;
};

/**
 * Changes the domain password policy (only the given fields), checked for consistency first
 * (e.g. minimum age below maximum age, lockout window not longer than the duration).
 * @returns the policy after the change
 * @throws AdError `AD_INVALID_INPUT`, `AD_INSUFFICIENT_RIGHTS`
 */
export async function updatePasswordPolicy(
  ad: LdapOperations,
  patch: Partial<PasswordPolicy>,
): Promise<PasswordPolicy> {
  const cur = await readPasswordPolicy(ad);
  const next: PasswordPolicy = { ...cur, ...patch };
  int('minLength', next.minLength, 0, 255);
  int('historyLength', next.historyLength, 0, 24);
  int('lockoutThreshold', next.lockoutThreshold, 0, 999);
  next.minAgeMs = age('minAgeMs', next.minAgeMs);
  next.maxAgeMs = age('maxAgeMs', next.maxAgeMs);
  next.lockoutDurationMs = age('lockoutDurationMs', next.lockoutDurationMs);
  next.lockoutWindowMs = age('lockoutWindowMs', next.lockoutWindowMs);
  if (next.maxAgeMs !== undefined && next.maxAgeMs > 999 * DAY)
    throw new AdError('AD_INVALID_INPUT', 'maxAgeMs must be at most 999 days.', { details: { field: 'maxAgeMs' } });
  if (next.minAgeMs !== undefined && next.maxAgeMs !== undefined && next.minAgeMs >= next.maxAgeMs)
    throw new AdError('AD_INVALID_INPUT', 'The minimum password age must be shorter than the maximum age.', {
      details: { field: 'minAgeMs' },
    });
  if (
    next.lockoutWindowMs !== undefined &&
    next.lockoutDurationMs !== undefined &&
    next.lockoutWindowMs > next.lockoutDurationMs
  )
    throw new AdError(
      'AD_INVALID_INPUT',
      'The lockout observation window must not be longer than the lockout duration.',
      {
        details: { field: 'lockoutWindowMs' },
      },
    );
  const base = await ad.baseDN();
  const props = (await ad.get(base, ['pwdProperties']))?.getNumber('pwdProperties') ?? 0;
  const changes: AdChange[] = [];
  const set = (attribute: string, value: string | number | bigint): void => {
    changes.push({ operation: 'replace', attribute, values: value });
  };
  if ('minLength' in patch) set('minPwdLength', next.minLength);
  if ('complexity' in patch)
    set('pwdProperties', next.complexity ? props | DOMAIN_PASSWORD_COMPLEX : props & ~DOMAIN_PASSWORD_COMPLEX);
  if ('historyLength' in patch) set('pwdHistoryLength', next.historyLength);
  if ('minAgeMs' in patch) set('minPwdAge', next.minAgeMs === undefined ? 0 : msToInterval(next.minAgeMs));
  if ('maxAgeMs' in patch) set('maxPwdAge', msToInterval(next.maxAgeMs));
  if ('lockoutThreshold' in patch) set('lockoutThreshold', next.lockoutThreshold);
  if ('lockoutDurationMs' in patch) set('lockoutDuration', msToInterval(next.lockoutDurationMs));
  if ('lockoutWindowMs' in patch) set('lockOutObservationWindow', msToInterval(next.lockoutWindowMs));
  await ad.modify(base, changes);
  return readPasswordPolicy(ad);
}
