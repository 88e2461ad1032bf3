// authenticate() and the domain password policy against the real DC: every distinct logon
// failure Samba reports (data 52e / 533 / 775 / 773) becomes its own AdError code.
import { afterAll, describe, expect, it } from 'vitest';
import { AdError } from '../../src/index';
import { adminClient, kinit, uniq } from './helpers';

const ad = adminClient();
const PW = 'Us3r!Pass-2026';
const made: string[] = [];
afterAll(async () => {
  for (const u of made) await ad.users.delete(u).catch(() => undefined);
  for (const g of made) await ad.groups.delete(g).catch(() => undefined);
  await ad.close();
});
const newUser = async (): Promise<string> => {
  const n = uniq('au');
  made.push(n);
  await ad.users.create({ sAMAccountName: n, password: PW });
  return n;
};

describe('authenticate', () => {
  it('returns identity, transitive groups and password state', async () => {
    const u = await newUser();
    const inner = uniq('ag');
    const outer = uniq('ag');
    made.push(inner, outer);
    await ad.groups.create({ name: inner, members: [u] });
    await ad.groups.create({ name: outer, members: [inner] });
    const r = await ad.authenticate(u, PW);
    expect(r.user.sAMAccountName).toBe(u);
    expect(r.groupNames).toEqual(expect.arrayContaining([inner, outer, 'Domain Users']));
    expect(r.passwordExpiry.state).toBe('never');
    // UPN works as login too
    expect((await ad.authenticate(`${u}@invis.test`, PW)).user.sAMAccountName).toBe(u);
  });

  it('wrong password, unknown user and empty password all give AD_INVALID_CREDENTIALS with one message', async () => {
    const u = await newUser();
    const wrong = (await ad.authenticate(u, 'nope-Nope-1').catch((e: unknown) => e)) as AdError;
    expect(wrong).toMatchObject({ code: 'AD_INVALID_CREDENTIALS' });
    const unknown = (await ad.authenticate(`ghost${uniq('')}`, PW).catch((e: unknown) => e)) as AdError;
    expect(unknown.code).toBe('AD_INVALID_CREDENTIALS');
    expect(unknown.message).toBe(wrong.message);
    // an empty password would be an anonymous bind on the DC: refused before it
    await expect(ad.authenticate(u, '')).rejects.toMatchObject({ code: 'AD_INVALID_CREDENTIALS' });
    await expect(ad.verifyBind(u, '')).rejects.toMatchObject({ code: 'AD_INVALID_CREDENTIALS' });
  });

  it('unknown user and wrong password are indistinguishable: same toJSON() and same error fields', async () => {
    const u = await newUser();
    const wrong = (await ad.authenticate(u, 'nope-Nope-1').catch((e: unknown) => e)) as AdError;
    const unknown = (await ad.authenticate(`ghost${uniq('')}`, 'nope-Nope-1').catch((e: unknown) => e)) as AdError;
    expect(wrong).toBeInstanceOf(AdError);
    expect(unknown).toBeInstanceOf(AdError);
    // what an app sends to its clients
    expect(JSON.parse(JSON.stringify(wrong))).toEqual(JSON.parse(JSON.stringify(unknown)));
    expect(wrong.toJSON()).toEqual(unknown.toJSON());
    // and every field a caller can read, except the stack
    const fields = (e: AdError): Record<string, unknown> => {
      const { stack: _stack, ...rest } = Object.fromEntries(
        Object.getOwnPropertyNames(e).map((k) => [k, (e as unknown as Record<string, unknown>)[k]]),
      );
      return { ...rest, name: e.name, code: e.code, details: e.details, adSubCode: e.adSubCode, cause: e.cause };
    };
    expect(fields(wrong)).toEqual(fields(unknown));
  });

  it('disabled account → AD_ACCOUNT_DISABLED (data 533)', async () => {
    const u = await newUser();
    await ad.users.disable(u);
    await expect(ad.authenticate(u, PW)).rejects.toMatchObject({ code: 'AD_ACCOUNT_DISABLED', adSubCode: '533' });
  });

  it('must change password → AD_PASSWORD_MUST_CHANGE (data 773)', async () => {
    const u = await newUser();
    await ad.users.setPassword(u, PW, { mustChange: true });
    await expect(ad.authenticate(u, PW)).rejects.toMatchObject({ code: 'AD_PASSWORD_MUST_CHANGE', adSubCode: '773' });
  });

  it('locked out after the threshold → AD_ACCOUNT_LOCKED (data 775); unlock lets the user in again', async () => {
    const before = await ad.policy.get();
    await ad.policy.update({ lockoutThreshold: 3, lockoutDurationMs: 30 * 60_000, lockoutWindowMs: 30 * 60_000 });
    try {
      const u = await newUser();
      for (let i = 0; i < 3; i++) await ad.authenticate(u, `bad-Pass-${i}`).catch(() => undefined);
      await expect(ad.authenticate(u, PW)).rejects.toMatchObject({ code: 'AD_ACCOUNT_LOCKED', adSubCode: '775' });
      expect((await ad.users.get(u))?.locked).toBe(true);
      expect((await kinit(`${u}@INVIS.TEST`, PW)).ok).toBe(false); // the KDC agrees
      await ad.users.unlock(u);
      expect((await ad.authenticate(u, PW)).user.locked).toBe(false);
    } finally {
      await ad.policy.update({
        lockoutThreshold: before.lockoutThreshold,
        lockoutDurationMs: before.lockoutDurationMs,
        lockoutWindowMs: before.lockoutWindowMs,
      });
    }
  });
});

describe('password policy', () => {
  it('reads the testbed policy (complexity on, ages 0)', async () => {
    const p = await ad.policy.get();
    expect(p).toMatchObject({ complexity: true, minAgeMs: undefined, maxAgeMs: undefined });
    expect(p.minLength).toBeGreaterThan(0);
  });

  it('updates length, complexity and history and enforces them on the DC', async () => {
    const before = await ad.policy.get();
    try {
      const p = await ad.policy.update({ minLength: 12, complexity: false, historyLength: 3 });
      expect(p).toMatchObject({ minLength: 12, complexity: false, historyLength: 3 });
      const u = await newUser().catch((e: unknown) => e); // PW has 14 characters: fine
      expect(u).not.toBeInstanceOf(AdError);
      await expect(ad.users.setPassword(u as string, 'short-11ch')).rejects.toMatchObject({
        code: 'AD_PASSWORD_POLICY',
      });
      await ad.users.setPassword(u as string, 'alllowercaselong'); // complexity off
    } finally {
      await ad.policy.update({
        minLength: before.minLength,
        complexity: before.complexity,
        historyLength: before.historyLength,
      });
    }
    expect(await ad.policy.get()).toEqual(before);
  });

  it('rejects inconsistent settings with AD_INVALID_INPUT before writing', async () => {
    await expect(ad.policy.update({ minAgeMs: 10 * 86_400_000, maxAgeMs: 5 * 86_400_000 })).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
    await expect(ad.policy.update({ minLength: -1 })).rejects.toMatchObject({ code: 'AD_INVALID_INPUT' });
    await expect(ad.policy.update({ historyLength: 1.5 })).rejects.toMatchObject({ code: 'AD_INVALID_INPUT' });
  });
});
