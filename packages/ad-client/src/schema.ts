// Idempotent install of the invis schema extensions (DHCP iscDhcp*, CorNAz fsp*, portal
// iPortEntry, …) with the original OIDs and schemaIDGUIDs, so an existing invis directory and a
// fresh one look the same. Needs a DC started with `dsdb:schema update allowed = true`.
import { childDn } from './dn';
import { AdError } from './errors';
import { f } from './filter';
import type { LdapOperations } from './ldap';
import {
  INVIS_SCHEMA_ATTRIBUTES,
  INVIS_SCHEMA_CLASSES,
  type SchemaAttributeDef,
  type SchemaClassDef,
  type SchemaSet,
} from './schema-data';

export interface SchemaInstallResult {
  /** lDAPDisplayNames added by this run. */
  added: string[];
  /** lDAPDisplayNames that were already present with the same OID. */
  present: string[];
  /**
   * lDAPDisplayNames of the invis schema this directory lacks and that were NOT added: on a
   * directory that already holds invis schema (an existing invis server) without explicit `sets`.
   */
  missing: string[];
}

export interface SchemaInstallOptions {
  /**
   * Which sets to install. Given: the admin asks for exactly these (missing objects are added).
   * Omitted: a directory without any invis schema gets all sets; a directory that already has
   * some (an existing invis server) gets no schema change, and what it lacks is reported in `missing`.
   */
  sets?: readonly SchemaSet[];
}

/** oMObjectClass of DN-syntax attributes (2.5.5.1 / 127): 1.3.12.2.1011.28.0.714. */
const DN_OM_OBJECT_CLASS = Buffer.from('KwwCh3McAIVK', 'base64');
const CATEGORY: Record<SchemaClassDef['category'], number> = { structural: 1, abstract: 2, auxiliary: 3 };

/** Attribute and class definitions of the invis schema, for inspection. */
export const INVIS_SCHEMA: { attributes: readonly SchemaAttributeDef[]; classes: readonly SchemaClassDef[] } = {
  attributes: INVIS_SCHEMA_ATTRIBUTES,
  classes: INVIS_SCHEMA_CLASSES,
};

/** Orders classes so that superiors/superclasses from the same install come first. */
function ordered(classes: readonly SchemaClassDef[]): SchemaClassDef[] {
  const byName = new Map(classes.map((c) => [c.name.toLowerCase(), c]));
  const done = new Set<string>();
  const out: SchemaClassDef[] = [];
  const visit = (c: SchemaClassDef, path: Set<string>): void => {
    const key = c.name.toLowerCase();
    if (done.has(key) || path.has(key)) return;
    path.add(key);
    for (const dep of [c.subClassOf, ...c.possSuperiors]) {
      const d = byName.get(dep.toLowerCase());
      if (d && d !== c) visit(d, path);
    }
    done.add(key);
    out.push(c);
  };
  for (const c of classes) visit(c, new Set());
  return out;
}

/**
 * Installs the invis schema extensions; objects already present (same lDAPDisplayName and OID)
 * are left alone, so it is safe to run on every start. On an existing invis server (some invis
 * schema present) and without explicit `sets` nothing is added: what is missing (the original's
 * setup never installed `sudoRole`) is reported in `missing`.
 * @returns which names were added and which were present
 * @throws AdError `AD_SCHEMA_UPDATE_DISABLED` when the DC does not allow schema changes,
 *   `AD_SCHEMA_VIOLATION` when a name exists with a different OID
 */
export async function installInvisSchema(
  ad: LdapOperations,
  options: SchemaInstallOptions = {},
): Promise<SchemaInstallResult> {
  const asked = options.sets !== undefined;
  const sets = new Set(options.sets ?? ['dhcp', 'invis', 'postfix', 'sudo']);
  const attrs = INVIS_SCHEMA_ATTRIBUTES.filter((a) => sets.has(a.set));
  const classes = INVIS_SCHEMA_CLASSES.filter((c) => sets.has(c.set));
  const root = await ad.rootDse();
  const schemaDN = root.get('schemaNamingContext');
  if (!schemaDN) throw new AdError('AD_CONFIG', 'The rootDSE has no schemaNamingContext.');
  const names = [...attrs.map((a) => a.name), ...classes.map((c) => c.name)];
  const existing = new Map<string, string>();
  for (let i = 0; i < names.length; i += 50) {
    const found = await ad.search({
      base: schemaDN,
      scope: 'one',
      filter: f.anyOf('lDAPDisplayName', names.slice(i, i + 50)),
      attributes: ['lDAPDisplayName', 'attributeID', 'governsID'],
    });
    for (const e of found)
      existing.set((e.get('lDAPDisplayName') ?? '').toLowerCase(), e.get('attributeID') ?? e.get('governsID') ?? '');
  }
  const result: SchemaInstallResult = { added: [], present: [], missing: [] };
  // Existing invis server: only compare (the OID is what matters; objectClassCategory, which the
  // original's DHCP files leave out, and everything else are not compared).
  const reportOnly = !asked && existing.size > 0;
  const check = (name: string, oid: string): boolean => {
    const have = existing.get(name.toLowerCase());
    if (have === undefined) return false;
    if (have !== oid)
      throw new AdError(
        'AD_SCHEMA_VIOLATION',
        `Schema conflict: ${name} exists with OID ${have}, invis expects ${oid}. Resolve by hand; nothing was changed for it.`,
        { details: { name, have, expected: oid } },
      );
    result.present.push(name);
    return true;
  };
  const updateNow = (): Promise<void> => ad.modify('', { operation: 'add', attribute: 'schemaUpdateNow', values: '1' });

  for (const a of attrs) {
    if (check(a.name, a.oid)) continue;
    if (reportOnly) {
      result.missing.push(a.name);
      continue;
    }
    await ad.add(childDn(schemaDN, a.name), {
      objectClass: ['top', 'attributeSchema'],
      cn: a.name,
      lDAPDisplayName: a.name,
      attributeID: a.oid,
      attributeSyntax: a.syntax,
      oMSyntax: a.omSyntax,
      isSingleValued: a.single,
      ...(a.syntax === '2.5.5.1' ? { oMObjectClass: DN_OM_OBJECT_CLASS } : {}),
      ...(a.guid ? { schemaIDGUID: Buffer.from(a.guid, 'base64') } : {}),
    });
    result.added.push(a.name);
  }
  if (result.added.length) await updateNow();
  let classesAdded = 0;
  for (const c of ordered(classes)) {
    if (check(c.name, c.oid)) continue;
    if (reportOnly) {
      result.missing.push(c.name);
      continue;
    }
    const dn = childDn(schemaDN, c.name);
    await ad.add(dn, {
      objectClass: ['top', 'classSchema'],
      cn: c.name,
      lDAPDisplayName: c.name,
      governsID: c.oid,
      objectClassCategory: CATEGORY[c.category],
      subClassOf: c.subClassOf,
      possSuperiors: c.possSuperiors,
      mustContain: c.must,
      mayContain: c.may,
      defaultObjectCategory: dn,
      ...(c.guid ? { schemaIDGUID: Buffer.from(c.guid, 'base64') } : {}),
    });
    result.added.push(c.name);
    classesAdded++;
    // a later class may name this one as possible superior: make it known now
    if (classes.some((o) => o.possSuperiors.some((p) => p.toLowerCase() === c.name.toLowerCase()))) await updateNow();
  }
  if (classesAdded) await updateNow();
  return result;
}
