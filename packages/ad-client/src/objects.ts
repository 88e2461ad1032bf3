// Typed read/write of directory objects: an object type maps model fields to attributes with a
// kind (text, list, boolean, integer, DN), so packages store their objects (DHCP hosts, mail
// accounts, portal entries, …) without hand-written attribute juggling.
import { parseDn, rdnValue } from './dn';
import type { AdEntry } from './entry';
import { AdError, isAdError } from './errors';
import { f, type LdapFilter } from './filter';
import type { AdAttributes, AdChange, AdValue, LdapOperations, SearchScope } from './ldap';

/** How a field is stored: single text, multi-valued text, LDAP boolean, integer, DN, DN list. */
export type FieldKind = 'string' | 'strings' | 'boolean' | 'integer' | 'dn' | 'dns';

export interface FieldDef {
  /** LDAP attribute name. */
  attr: string;
  kind: FieldKind;
  /** Must be present on create (the class's mustContain). */
  required?: boolean;
}

/** An object type: its objectClass values and the field → attribute map. */
export interface ObjectType<T> {
  /** Name for messages, e.g. `iscDhcpHost`. */
  name: string;
  /** objectClass values written on create (the first structural class decides the search). */
  objectClass: readonly string[];
  /** Class used to find objects of this type (default the last objectClass). */
  searchClass?: string;
  fields: { readonly [K in keyof T]-?: FieldDef };
}

/** A stored object: the model plus its DN and RDN value. */
export type Stored<T> = T & { dn: string; cn: string };

type FieldValue = string | readonly string[] | boolean | number | undefined | null;

/**
 * Declares an object type (checks the attribute names once).
 * @example
 * const note = defineObjectType<{ text: string }>({ name: 'note', objectClass: ['top','infoEntry'], fields: { text: { attr: 'infoText', kind: 'string', required: true } } });
 */
export function defineObjectType<T>(def: ObjectType<T>): ObjectType<T> {
  for (const fd of Object.values(def.fields) as FieldDef[])
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(fd.attr))
      throw new AdError('AD_CONFIG', `Bad attribute name ${fd.attr} in ${def.name}`);
  return def;
}

function fieldsOf<T>(type: ObjectType<T>): [string, FieldDef][] {
  return Object.entries(type.fields) as [string, FieldDef][];
}

/** Converts one field value to attribute values (empty array = absent). @throws AdError `AD_INVALID_INPUT` */
function encodeField(type: string, field: string, fd: FieldDef, v: FieldValue): AdValue[] {
  const bad = (why: string): AdError =>
    new AdError('AD_INVALID_INPUT', `${type}.${field} ${why}`, { details: { type, field } });
  if (v === undefined || v === null) return [];
  const text = (s: unknown): string => {
    if (typeof s !== 'string') throw bad('must be text');
    if (s.includes('\0')) throw bad('must not contain NUL');
    return s;
  };
  switch (fd.kind) {
    case 'string':
      return text(v) === '' ? [] : [v as string];
    case 'strings':
      if (!Array.isArray(v)) throw bad('must be a list of text');
      return (v as unknown[]).map(text).filter((s) => s !== '');
    case 'boolean':
      if (typeof v !== 'boolean') throw bad('must be true or false');
      return [v];
    case 'integer':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad('must be a whole number');
      return [v];
    case 'dn':
      parseDn(text(v));
      return [v as string];
    case 'dns':
      if (!Array.isArray(v)) throw bad('must be a list of DNs');
      return (v as unknown[]).map((d) => {
        parseDn(text(d));
        return d as string;
      });
  }
}

function decodeField(fd: FieldDef, e: AdEntry): unknown {
  switch (fd.kind) {
    case 'string':
    case 'dn':
      return e.get(fd.attr);
    case 'strings':
    case 'dns':
      return e.getAll(fd.attr);
    case 'boolean':
      return e.getBoolean(fd.attr);
    case 'integer':
      return e.getNumber(fd.attr);
  }
}

/** Attribute map for `add` from a model. @throws AdError `AD_INVALID_INPUT` for missing required fields or wrong kinds */
export function toAttributes<T>(type: ObjectType<T>, model: T): AdAttributes {
  const attrs: AdAttributes = { objectClass: [...type.objectClass] };
  for (const [field, fd] of fieldsOf(type)) {
    const values = encodeField(type.name, field, fd, (model as Record<string, FieldValue>)[field]);
    if (fd.required && values.length === 0)
      throw new AdError('AD_INVALID_INPUT', `${type.name}.${field} is required.`, {
        details: { type: type.name, field },
      });
    if (values.length) attrs[fd.attr] = values;
  }
  return attrs;
}

/** Model from an entry (absent single fields are undefined, lists are []). */
export function fromEntry<T>(type: ObjectType<T>, e: AdEntry): Stored<T> {
  const out: Record<string, unknown> = { dn: e.dn, cn: rdnValue(e.dn) };
  for (const [field, fd] of fieldsOf(type)) {
    const v = decodeField(fd, e);
    if (v !== undefined) out[field] = v;
  }
  return out as Stored<T>;
}

/** Attributes to request for a type. */
export function attributesOf<T>(type: ObjectType<T>): string[] {
  return ['objectClass', ...fieldsOf(type).map(([, fd]) => fd.attr)];
}

/** Typed object store on top of the directory operations (an AdClient). */
export interface ObjectStore {
  /** Objects of `type` below `base` (default scope `one`). */
  list<T>(
    type: ObjectType<T>,
    base: string,
    options?: { scope?: SearchScope; filter?: LdapFilter },
  ): Promise<Stored<T>[]>;
  get<T>(type: ObjectType<T>, dn: string): Promise<Stored<T> | undefined>;
  create<T>(type: ObjectType<T>, dn: string, model: T): Promise<Stored<T>>;
  /** Replaces the given fields (undefined/null/'' /[] remove an optional one). */
  update<T>(type: ObjectType<T>, dn: string, patch: Partial<T>): Promise<Stored<T>>;
  /** Creates or replaces all fields. */
  put<T>(type: ObjectType<T>, dn: string, model: T): Promise<Stored<T>>;
  delete(dn: string, options?: { recursive?: boolean }): Promise<void>;
  /** Creates `container` objects along `dn` below `stopAt` where missing. */
  ensureContainers(dns: readonly { dn: string; description?: string }[]): Promise<string[]>;
}

export function createObjectStore(ad: LdapOperations): ObjectStore {
  const classFilter = <T>(type: ObjectType<T>): LdapFilter =>
    f.eq('objectClass', type.searchClass ?? type.objectClass[type.objectClass.length - 1] ?? 'top');
  const store: ObjectStore = {
    async list(type, base, options = {}) {
      const found = await ad.search({
        base,
        scope: options.scope ?? 'one',
        filter: f.and(classFilter(type), options.filter),
        attributes: attributesOf(type),
      });
      return found.map((e) => fromEntry(type, e));
    },
    async get(type, dn) {
      const e = await ad.get(dn, attributesOf(type));
      if (!e) return undefined;
      const want = (type.searchClass ?? type.objectClass[type.objectClass.length - 1] ?? '').toLowerCase();
      if (!e.getAll('objectClass').some((c) => c.toLowerCase() === want))
        throw new AdError('AD_SCHEMA_VIOLATION', `${dn} is not a ${type.name}.`, { details: { dn } });
      return fromEntry(type, e);
    },
    async create(type, dn, model) {
      await ad.add(dn, toAttributes(type, model));
      return (await store.get(type, dn)) as Stored<typeof model>;
    },
    async update(type, dn, patch) {
      const changes: AdChange[] = [];
      for (const [field, fd] of fieldsOf(type)) {
        if (!(field in (patch as object))) continue;
        const values = encodeField(type.name, field, fd, (patch as Record<string, FieldValue>)[field]);
        if (fd.required && values.length === 0)
          throw new AdError('AD_INVALID_INPUT', `${type.name}.${field} is required and cannot be removed.`, {
            details: { type: type.name, field },
          });
        changes.push({ operation: 'replace', attribute: fd.attr, values });
      }
      await ad.modify(dn, changes);
      const after = await store.get(type, dn);
      if (!after) throw new AdError('AD_NO_SUCH_OBJECT', `${dn} disappeared during the update.`);
      return after;
    },
    async put(type, dn, model) {
      if (await ad.exists(dn)) {
        const full: Record<string, unknown> = {};
        for (const [field] of fieldsOf(type)) full[field] = (model as Record<string, unknown>)[field];
        return store.update(type, dn, full as Partial<typeof model>) as Promise<Stored<typeof model>>;
      }
      return store.create(type, dn, model);
    },
    delete: (dn, options) => ad.delete(dn, options),
    async ensureContainers(list) {
      const made: string[] = [];
      for (const { dn, description } of list) {
        if (await ad.exists(dn)) continue;
        try {
          await ad.add(dn, {
            objectClass: ['top', 'container'],
            cn: rdnValue(dn),
            description: description || undefined,
          });
          made.push(dn);
        } catch (e) {
          if (!isAdError(e, 'AD_ENTRY_EXISTS')) throw e;
        }
      }
      return made;
    },
  };
  return store;
}
