// authenticate(login, password): bind as the user on a separate connection, then report who
// it is, its groups (transitive, primary group included) and its password state. Distinct
// errors for wrong password, disabled, locked, expired, must-change (Samba's data 52e/533/775/532/773).
import { AdError, isAdError } from './errors';
import type { AdGroup, GroupsApi } from './groups';
import type { LdapOperations } from './ldap';
import type { AdUser, PasswordExpiry, UsersApi } from './users';

export interface AuthResult {
  user: AdUser;
  /** All groups, nested and primary included. */
  groups: AdGroup[];
  /** Group names (sAMAccountName), for quick checks. */
  groupNames: string[];
  passwordExpiry: PasswordExpiry;
}

/**
 * @param login sAMAccountName or UPN
 * @throws AdError `AD_INVALID_CREDENTIALS` (also for unknown users and empty passwords — no
 *   anonymous bind, no user enumeration), `AD_ACCOUNT_DISABLED`, `AD_ACCOUNT_LOCKED`,
 *   `AD_PASSWORD_EXPIRED`, `AD_PASSWORD_MUST_CHANGE`, `AD_ACCOUNT_EXPIRED`, `AD_CONNECTION`, …
 */
export async function authenticate(
  deps: { ad: LdapOperations; users: UsersApi; groups: GroupsApi },
  login: string,
  password: string,
): Promise<AuthResult> {
  const fail = (): AdError => new AdError('AD_INVALID_CREDENTIALS', 'Wrong user name or password.');
  if (typeof login !== 'string' || typeof password !== 'string' || login === '' || password === '') throw fail();
  if (login.length > 256 || password.length > 1024 || login.includes('\0') || password.includes('\0')) throw fail();
  const user = await deps.users.find(login);
  if (!user) throw fail();
  try {
    await deps.ad.verifyBind(user.dn, password);
  } catch (e) {
    // exactly the error of an unknown user — no details (ldapCode, target), sub-code or cause, which would
    // tell (also through toJSON) that the account exists: no user enumeration
    if (isAdError(e, 'AD_INVALID_CREDENTIALS')) throw fail();
    throw e;
  }
  const [groups, passwordExpiry] = await Promise.all([
    deps.groups.groupsOf(user.dn, { transitive: true }),
    deps.users.passwordExpiry(user.sAMAccountName),
  ]);
  return { user, groups, groupNames: groups.map((g) => g.name), passwordExpiry };
}
