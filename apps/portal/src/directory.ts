// The slice of the directory the portal needs. It maps 1:1 onto @invis/ad-client (see
// ad-directory.ts); keeping it small lets the routes and pages be read without LDAP details.

/** invis account types offered on create (original types 0, 1, 3 and 6; groupware is gone). */
export const ACCOUNT_TYPES = ['guest', 'mail', 'user', 'admin'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

/** invis group types offered on create (original types 0, 1 and 2). */
export const GROUP_TYPES = ['team', 'team-mail', 'distribution'] as const;
export type GroupType = (typeof GROUP_TYPES)[number];

/** A user as the portal shows it. */
export interface DirectoryUser {
  username: string;
  displayName: string;
  givenName: string;
  surname: string;
  description: string;
  mail: string;
  department: string;
  office: string;
  telephone: string;
  accountType: AccountType;
  enabled: boolean;
  locked: boolean;
  /** ISO date, or `null` when the password never expires. */
  passwordExpiresAt: string | null;
  groups: string[];
  /** Personal links (`labeledURI`). */
  links: { url: string; label: string }[];
}

/** Fields a user or an admin may change on an account (never an arbitrary attribute map). */
export interface UserProfilePatch {
  displayName?: string;
  givenName?: string;
  surname?: string;
  description?: string;
  mail?: string;
  department?: string;
  office?: string;
  telephone?: string;
  links?: { url: string; label: string }[];
}

/** What an admin enters to create a user. */
export interface NewUser extends UserProfilePatch {
  username: string;
  givenName: string;
  surname: string;
  password: string;
  accountType: AccountType;
}

/** A group as the portal shows it. */
export interface DirectoryGroup {
  name: string;
  description: string;
  type: GroupType | 'other';
  mail: string;
  /** RFC2307 gidNumber, if the group has one. */
  gid: number | null;
  members: string[];
}

/** What an admin enters to create a group. */
export interface NewGroup {
  name: string;
  description?: string;
  type: GroupType;
  members?: string[];
}

/** The outcome of a login attempt; every failure is distinct so the UI can say what to do. */
export type AuthResult =
  /** `groups`: every group of the user, nested and primary included (for the access rules). */
  | { ok: true; username: string; groups: string[] }
  | { ok: false; reason: 'invalid' | 'disabled' | 'locked' | 'expired' | 'must-change' };

/** What access decisions need to know about a user or group, read fresh from the directory. */
export interface Principal {
  /** sAMAccountName as stored. */
  name: string;
  /** Users: the account is enabled (not disabled, not expired); groups: always true. */
  enabled: boolean;
  /** Relative id (the last part of the SID); below 1000 = created by the domain itself. */
  rid: number | null;
  /** `adminCount` is set: the DC protects the object like an administrator. */
  adminCount: boolean;
  /** Groups: a built-in local group (Administrators, Account Operators …). */
  builtin: boolean;
  /** Every group it belongs to, nested and primary included. */
  memberOf: { name: string; rid: number | null }[];
}

/** One page of a list. */
export interface Page<T> {
  total: number;
  items: T[];
}

/**
 * The directory operations of the portal. Implementations throw `PortalError`
 * (PORTAL_NOT_FOUND, PORTAL_CONFLICT, PORTAL_PASSWORD_REJECTED, PORTAL_DIRECTORY_UNAVAILABLE …).
 */
export interface Directory {
  authenticate(username: string, password: string): Promise<AuthResult>;
  /** A user's own password change (works for an expired password too). */
  changePassword(username: string, oldPassword: string, newPassword: string): Promise<void>;
  getUser(username: string): Promise<DirectoryUser | null>;
  /** Fresh facts for access rules (rights re-checks, protected accounts); `null` if it does not exist. */
  principal(kind: 'user' | 'group', name: string): Promise<Principal | null>;
  listUsers(query: { search: string; offset: number; limit: number }): Promise<Page<DirectoryUser>>;
  createUser(input: NewUser): Promise<DirectoryUser>;
  updateUser(username: string, patch: UserProfilePatch): Promise<DirectoryUser>;
  setEnabled(username: string, enabled: boolean): Promise<void>;
  unlock(username: string): Promise<void>;
  resetPassword(username: string, password: string, mustChange: boolean): Promise<void>;
  deleteUser(username: string): Promise<void>;
  listGroups(): Promise<DirectoryGroup[]>;
  getGroup(name: string): Promise<DirectoryGroup | null>;
  createGroup(input: NewGroup): Promise<DirectoryGroup>;
  updateGroup(name: string, patch: { description?: string; members?: string[] }): Promise<DirectoryGroup>;
  deleteGroup(name: string): Promise<void>;
}
