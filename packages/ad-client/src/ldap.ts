// The generic directory layer: paged search (continuation references never followed, ranged
// attributes retrieved in full), get, add, modify, delete, rename. Everything above it (users,
// groups, invis objects) is built on this, and other packages can use it for their own objects.
import { Attribute, Change, Control, type SearchResult } from 'ldapts';
import type { Connection } from './connection';
import { formatDn, parseDn, type Rdn } from './dn';
import { AdEntry, BINARY_ATTRIBUTES, normalizeEntry } from './entry';
import { AdError, isAdError } from './errors';
import { f, type LdapFilter, toLdaptsFilter } from './filter';

/** A value we can write: text, numbers (as decimal text), booleans (`TRUE`/`FALSE`) or bytes. */
export type AdValue = string | number | bigint | boolean | Uint8Array;

/** Attributes for `add`: undefined, null and empty arrays are left out. */
export type AdAttributes = Record<string, AdValue | readonly AdValue[] | null | undefined>;

/** One modification of a `modify` (applied in order, atomically). */
export interface AdChange {
  operation: 'add' | 'delete' | 'replace';
  attribute: string;
  /** For `delete`: the values to remove; none = the whole attribute. For `replace`: none = remove. */
  values?: AdValue | readonly AdValue[] | null;
}

export type SearchScope = 'base' | 'one' | 'sub';

export interface SearchOptions {
  /** Search base; default the client's base DN. */
  base?: string;
  /** Default `sub`. */
  scope?: SearchScope;
  /** Default `(objectClass=*)`. */
  filter?: LdapFilter;
  /** Attributes to return; default all user attributes. Ranged attributes are fetched in full. */
  attributes?: readonly string[];
  /** Extra attributes to return as bytes (objectGUID, objectSid, … already are). */
  binaryAttributes?: readonly string[];
  /** Maximum entries (0 = all). */
  sizeLimit?: number;
  /** Entries per page (default from the client options, 500). */
  pageSize?: number;
  /** Server-side time limit in seconds (default 0 = the server's). */
  timeLimitSec?: number;
}

export interface DeleteOptions {
  /** Delete the whole subtree (LDAP tree-delete control). */
  recursive?: boolean;
}

export interface RenameOptions {
  /** New RDN value (e.g. the new CN, unescaped). Default: keep. */
  newName?: string;
  /** New RDN attribute type (default: the current one, usually CN/OU). */
  newNameType?: string;
  /** New parent DN to move the entry to. Default: stay. */
  newParent?: string;
}

/**
 * The directory operations the feature modules (users, groups, computers, policy, invis, …) are
 * built on. `AdClient` is one; the modules take this narrow type so they never depend on the
 * client module that composes them.
 */
export interface LdapOperations {
  /** The naming context (from the options or the rootDSE). */
  baseDN(): Promise<string>;
  /** Paged search; all entries. Never follows continuation references. */
  search(options?: SearchOptions): Promise<AdEntry[]>;
  /** Paged search, one page at a time. */
  searchPages(options?: SearchOptions): AsyncGenerator<AdEntry[], void, undefined>;
  /** At most one entry; `AD_AMBIGUOUS` if more match. */
  searchOne(options?: SearchOptions): Promise<AdEntry | undefined>;
  /** One entry by DN, undefined if absent. */
  get(dn: string, attributes?: readonly string[], binaryAttributes?: readonly string[]): Promise<AdEntry | undefined>;
  exists(dn: string): Promise<boolean>;
  add(dn: string, attributes: AdAttributes): Promise<void>;
  modify(dn: string, changes: AdChange | readonly AdChange[]): Promise<void>;
  delete(dn: string, options?: DeleteOptions): Promise<void>;
  /** Rename and/or move; returns the new DN. */
  rename(dn: string, options: RenameOptions): Promise<string>;
  rootDse(): Promise<AdEntry>;
  /**
   * Checks a name/password pair with a separate, short-lived connection (the service
   * connection keeps its identity). Resolves when the bind succeeds.
   * @throws AdError `AD_INVALID_CREDENTIALS`, `AD_ACCOUNT_DISABLED`, `AD_ACCOUNT_LOCKED`, `AD_PASSWORD_EXPIRED`, …
   */
  verifyBind(bindName: string, password: string): Promise<void>;
  /**
   * Runs `fn` on a separate connection bound as another account (e.g. a user changing their
   * own password); the connection is closed afterwards.
   */
  withBind<T>(
    bindName: string,
    password: string,
    fn: (dir: Pick<LdapOperations, 'search' | 'get' | 'modify'>) => Promise<T>,
  ): Promise<T>;
  /** The current time from the options' `clock` (expiry calculations). */
  now(): Date;
}

/** LDAP_SERVER_DOMAIN_SCOPE_OID: the DC returns no continuation references at all. */
const DOMAIN_SCOPE = '1.2.840.113556.1.4.1339';
/** LDAP_SERVER_TREE_DELETE_OID */
const TREE_DELETE = '1.2.840.113556.1.4.805';
const ATTR_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9=*-]+)*$/;

function checkAttrName(name: string): void {
  if (!ATTR_NAME.test(name)) throw new AdError('AD_INVALID_INPUT', `Invalid attribute name ${JSON.stringify(name)}`);
}

/** Converts values to bytes (ldapts writes Buffers verbatim; text is UTF-8). */
export function toBuffers(value: AdValue | readonly AdValue[] | null | undefined): Buffer[] {
  if (value === null || value === undefined) return [];
  const list = (Array.isArray(value) ? value : [value]) as AdValue[];
  return list.map((v) => {
    if (v instanceof Uint8Array) return Buffer.from(v);
    if (typeof v === 'boolean') return Buffer.from(v ? 'TRUE' : 'FALSE');
    if (typeof v === 'number' && !Number.isFinite(v))
      throw new AdError('AD_INVALID_INPUT', `Not a finite number: ${v}`);
    return Buffer.from(String(v), 'utf8');
  });
}

/** Builds `replace` changes from an attribute map (null/undefined/[] removes the attribute). */
export function replaceChanges(attributes: AdAttributes): AdChange[] {
  return Object.entries(attributes).map(([attribute, values]) => ({ operation: 'replace', attribute, values }));
}

const RANGE_RE = /^(.+);range=(\d+)-(\d+|\*)$/i;

function hasRange(values: Readonly<Record<string, unknown>>): boolean {
  for (const k in values) if (k.includes(';range=')) return true;
  return false;
}

/** Generic directory operations on one connection. */
export class Directory {
  readonly #conn: Connection;
  readonly #baseDN: () => Promise<string>;
  readonly #pageSize: number;

  constructor(conn: Connection, baseDN: () => Promise<string>, pageSize: number) {
    this.#conn = conn;
    this.#baseDN = baseDN;
    this.#pageSize = pageSize;
  }

  /**
   * Paged search returning all matching entries (normalised). Continuation references are
   * suppressed (domain-scope control) and ignored if a server still sends them.
   */
  async search(options: SearchOptions = {}): Promise<AdEntry[]> {
    const out: AdEntry[] = [];
    for await (const page of this.searchPages(options)) out.push(...page);
    return out;
  }

  /** The same as `search`, one page of entries at a time (for large result sets). */
  async *searchPages(options: SearchOptions = {}): AsyncGenerator<AdEntry[], void, undefined> {
    // checked before anything is sent: only an absent filter means "every object", never a
    // null or a string (JavaScript callers have no type check)
    const filter = toLdaptsFilter(options.filter === undefined ? f.present('objectClass') : options.filter);
    if (options.base !== undefined) parseDn(options.base);
    const base = options.base ?? (await this.#baseDN());
    const attributes = options.attributes ? [...options.attributes] : undefined;
    for (const a of attributes ?? []) if (a !== '*' && a !== '+' && a !== '1.1') checkAttrName(a);
    const binary = new Set(BINARY_ATTRIBUTES);
    for (const a of options.binaryAttributes ?? []) binary.add(a.toLowerCase());
    // ldapts compares these names case-sensitively with the names the server returns, once per
    // attribute of every entry: with an attribute list, pass only the binary ones of it, as
    // spelled (what the DC echoes); those arrive as raw bytes, any other spelling is converted
    // back to bytes by normalizeEntry as before.
    const explicitBuffers =
      attributes && !attributes.includes('*') ? attributes.filter((a) => binary.has(a.toLowerCase())) : [...binary];
    const pageSize = Math.max(1, Math.min(options.pageSize ?? this.#pageSize, 1000));
    const sizeLimit = options.sizeLimit ?? 0;
    let count = 0;
    // ldapts' paginated search is a generator bound to one connection; a lost connection before
    // the first page is retried on a new one, later it surfaces as AD_CONNECTION.
    const gen = await this.#conn.run('search', base, true, async (c) => {
      const g = c.searchPaginated(
        base,
        {
          scope: options.scope ?? 'sub',
          filter,
          ...(attributes ? { attributes } : {}),
          explicitBufferAttributes: explicitBuffers,
          paged: { pageSize },
          ...(sizeLimit ? { sizeLimit } : {}),
          ...(options.timeLimitSec ? { timeLimit: options.timeLimitSec } : {}),
        },
        [new Control(DOMAIN_SCOPE, { critical: false })],
      );
      const first = await g.next();
      return { g, first };
    });
    let next = gen.first;
    while (!next.done) {
      const raw = next.value.searchEntries;
      // Ask for the next page before working on this one, so the DC produces it while we
      // normalise this page and the caller consumes it (not when the size limit is reached).
      let pending: Promise<IteratorResult<SearchResult, void>> | undefined;
      if (!(sizeLimit && count + raw.length >= sizeLimit)) {
        pending = this.#conn.run('search', base, false, () => gen.g.next());
        // a caller that stops early never awaits it; its failure must not be unhandled
        pending.catch(() => undefined);
      }
      const entries = raw.map((e) => normalizeEntry(e, binary));
      // searchReferences are dropped on purpose: never follow continuation references
      const ranged = entries.some((e) => hasRange(e.attributes) || hasRange(e.buffers));
      const expanded = ranged ? await Promise.all(entries.map((e) => this.#expandRanges(e, binary))) : entries;
      const page = sizeLimit ? expanded.slice(0, Math.max(0, sizeLimit - count)) : expanded;
      count += page.length;
      if (page.length) yield page;
      if (!pending || (sizeLimit && count >= sizeLimit)) {
        await pending?.catch(() => undefined);
        await gen.g.return(undefined);
        return;
      }
      next = await pending;
    }
  }

  /** Fetches the rest of `attr;range=a-b` values (Windows DCs cap multi-valued attributes at 1500). */
  async #expandRanges(entry: AdEntry, binary: ReadonlySet<string>): Promise<AdEntry> {
    const ranged = Object.keys({ ...entry.attributes, ...entry.buffers }).filter((k) => RANGE_RE.test(k));
    if (ranged.length === 0) return entry;
    const attributes: Record<string, readonly string[]> = { ...entry.attributes };
    const buffers: Record<string, readonly Buffer[]> = { ...entry.buffers };
    for (const key of ranged) {
      const m = RANGE_RE.exec(key) as RegExpExecArray;
      const name = m[1] as string;
      const isBin = key in buffers;
      const texts: string[] = [...(attributes[key] ?? [])];
      const bins: Buffer[] = [...(buffers[key] ?? [])];
      delete attributes[key];
      delete buffers[key];
      let end = m[3] as string;
      while (end !== '*') {
        const from = Number(end) + 1;
        const res = await this.#conn.run('search', entry.dn, true, (c) =>
          c.search(entry.dn, {
            scope: 'base',
            filter: toLdaptsFilter(f.present('objectClass')),
            attributes: [`${name};range=${from}-*`],
            explicitBufferAttributes: [...binary],
          }),
        );
        const raw = res.searchEntries[0];
        if (!raw) break;
        const part = normalizeEntry(raw, binary);
        const partKey = Object.keys({ ...part.attributes, ...part.buffers }).find((k) => RANGE_RE.test(k));
        if (!partKey) break;
        texts.push(...(part.attributes[partKey] ?? []));
        bins.push(...(part.buffers[partKey] ?? []));
        end = (RANGE_RE.exec(partKey) as RegExpExecArray)[3] as string;
      }
      if (isBin) buffers[name] = bins;
      else attributes[name] = texts;
    }
    return new AdEntry(entry.dn, attributes, buffers);
  }

  /**
   * Exactly one entry or undefined.
   * @throws AdError `AD_AMBIGUOUS` when more than one entry matches
   */
  async searchOne(options: SearchOptions = {}): Promise<AdEntry | undefined> {
    const found = await this.search({ ...options, sizeLimit: 2 });
    if (found.length > 1)
      throw new AdError('AD_AMBIGUOUS', `More than one entry matches ${options.filter?.text ?? '(objectClass=*)'}`, {
        details: { filter: options.filter?.text ?? '(objectClass=*)' },
      });
    return found[0];
  }

  /** Reads one entry by DN; undefined when it does not exist. */
  async get(
    dn: string,
    attributes?: readonly string[],
    binaryAttributes?: readonly string[],
  ): Promise<AdEntry | undefined> {
    try {
      const [e] = await this.search({
        base: dn,
        scope: 'base',
        ...(attributes ? { attributes } : {}),
        ...(binaryAttributes ? { binaryAttributes } : {}),
      });
      return e;
    } catch (e) {
      if (isAdError(e, 'AD_NO_SUCH_OBJECT')) return undefined;
      throw e;
    }
  }

  /** Whether an entry exists. */
  async exists(dn: string): Promise<boolean> {
    return (await this.get(dn, ['1.1'])) !== undefined;
  }

  /** Creates an entry. @throws AdError `AD_ENTRY_EXISTS`, `AD_NO_SUCH_OBJECT` (parent), `AD_SCHEMA_VIOLATION`, … */
  async add(dn: string, attributes: AdAttributes): Promise<void> {
    parseDn(dn);
    const attrs: Attribute[] = [];
    for (const [type, value] of Object.entries(attributes)) {
      checkAttrName(type);
      const values = toBuffers(value);
      if (values.length) attrs.push(new Attribute({ type, values }));
    }
    await this.#conn.run('add', dn, false, (c) => c.add(dn, attrs));
  }

  /** Applies changes to an entry atomically, in order. */
  async modify(dn: string, changes: AdChange | readonly AdChange[]): Promise<void> {
    parseDn(dn);
    const list = (Array.isArray(changes) ? changes : [changes]) as AdChange[];
    if (list.length === 0) return;
    const ch = list.map((c) => {
      checkAttrName(c.attribute);
      if (!['add', 'delete', 'replace'].includes(c.operation))
        throw new AdError('AD_INVALID_INPUT', `Unknown modify operation ${JSON.stringify(c.operation)}`);
      const values = toBuffers(c.values);
      if (c.operation === 'add' && values.length === 0)
        throw new AdError('AD_INVALID_INPUT', `"add" of ${c.attribute} needs at least one value`);
      return new Change({ operation: c.operation, modification: new Attribute({ type: c.attribute, values }) });
    });
    await this.#conn.run('modify', dn, false, (c) => c.modify(dn, ch));
  }

  /** Deletes an entry (with `recursive`, its whole subtree). */
  async delete(dn: string, options: DeleteOptions = {}): Promise<void> {
    parseDn(dn);
    await this.#conn.run('delete', dn, false, (c) =>
      c.del(dn, options.recursive ? [new Control(TREE_DELETE, { critical: true })] : undefined),
    );
  }

  /**
   * Renames and/or moves an entry.
   * @returns the new DN
   */
  async rename(dn: string, options: RenameOptions): Promise<string> {
    const rdns = parseDn(dn);
    const first = rdns[0]?.[0];
    if (!first) throw new AdError('AD_INVALID_DN', 'Cannot rename the root DN');
    const rdn: Rdn = [{ type: options.newNameType ?? first.type, value: options.newName ?? first.value }];
    if (options.newName !== undefined && options.newName === '')
      throw new AdError('AD_INVALID_INPUT', 'The new name must not be empty');
    const parent = options.newParent ?? formatDn(rdns.slice(1));
    if (options.newParent !== undefined) parseDn(options.newParent);
    // ldapts splits newDN at the first comma not preceded by a backslash; our RDN escaping
    // never ends in a backslash (it writes \5C), so the split is exact.
    const newRdn = formatDn([rdn]);
    const newDn = parent ? `${newRdn},${parent}` : newRdn;
    await this.#conn.run('rename', dn, false, (c) => c.modifyDN(dn, newDn));
    return newDn;
  }

  /** Reads the rootDSE (namingContexts, defaultNamingContext, supportedControl, …). */
  async rootDse(): Promise<AdEntry> {
    const r = await this.#conn.run('search', 'rootDSE', true, (c) =>
      c.search('', { scope: 'base', filter: toLdaptsFilter(f.present('objectClass')) }),
    );
    const raw = r.searchEntries[0];
    if (!raw) throw new AdError('AD_NO_SUCH_OBJECT', 'The server returned no rootDSE');
    return normalizeEntry(raw);
  }
}
