import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleContext } from '../../test/integration/module-context';
import type { ModuleContext } from '../module';
import type { DavGroupFolder } from '../webdav-groups';
import { caModule } from './ca';
import {
  checkWebdavSite,
  type DavShare,
  davShares,
  groupDn,
  renderWebdavSite,
  requireLines,
  subfolderRules,
} from './webdav';

const SHARES: DavShare[] = [
  { name: 'aktuell', path: '/srv/shares/aktuell', groups: ['Domain Users'], readOnlyGroups: [], kind: 'team' },
  { name: 'verwaltung', path: '/srv/shares/verwaltung', groups: ['verwaltung'], readOnlyGroups: [], kind: 'team' },
  { name: 'archiv', path: '/srv/shares/archiv', groups: ['archiv'], readOnlyGroups: ['verwaltung'], kind: 'team' },
  { name: 'service', path: '/srv/shares/service', groups: [], readOnlyGroups: ['Domain Users'], kind: 'team' },
  { name: 'gruppen', path: '/srv/shares/gruppen', groups: ['Domain Users'], readOnlyGroups: [], kind: 'groups' },
];
/** Group folders with the characters a group name may bring (blank, dot, dollar, parentheses, umlaut). */
const GROUP_FOLDERS: DavGroupFolder[] = [
  { folder: 'Vertrieb', group: 'Vertrieb' },
  { folder: 'Team A.1 (Süd)', group: 'Team A.1 (Süd)' },
  { folder: 'kasse$', group: 'kasse$' },
];
const DN = (g: string) => `CN=${g},CN=Users,DC=invis-net,DC=loc`;

/** What a share everyone may only read renders (no group writes). */
const READ_ONLY_FOR_EVERYONE = [
  '<RequireAll>',
  '\t<RequireAny>',
  '\t\tRequire valid-user',
  '\t</RequireAny>',
  '\t<RequireAny>',
  '\t\tRequire method GET HEAD OPTIONS PROPFIND',
  '\t</RequireAny>',
  '</RequireAll>',
];

describe('webdav site', () => {
  let root: string;
  let ctx: ModuleContext;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'setup-webdav-'));
    ctx = await moduleContext(root);
    // The web certificate and the CA from the real `ca` module; the bind secret as init makes it.
    await caModule.apply(ctx);
    await ctx.secrets.ensure('ad-invis-portal');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('group DNs are in CN=Users of the domain', () => {
    expect(groupDn('Domain Users', 'firma.example.loc')).toBe('CN=Domain Users,CN=Users,DC=firma,DC=example,DC=loc');
  });

  it('the SMB rules per share: every user, one group, a group plus a read-only group, read-only for everyone', () => {
    expect(requireLines(SHARES[0] as DavShare, 'invis-net.loc')).toEqual([
      '<RequireAll>',
      '\t<RequireAny>',
      '\t\tRequire valid-user',
      '\t</RequireAny>',
      '</RequireAll>',
    ]);
    expect(requireLines(SHARES[1] as DavShare, 'invis-net.loc')).toEqual([
      '<RequireAll>',
      '\t<RequireAny>',
      `\t\tRequire ldap-group ${DN('verwaltung')}`,
      '\t</RequireAny>',
      '</RequireAll>',
    ]);
    // archiv: its group reads and writes, verwaltung only reads.
    expect(requireLines(SHARES[2] as DavShare, 'invis-net.loc')).toEqual([
      '<RequireAll>',
      '\t<RequireAny>',
      `\t\tRequire ldap-group ${DN('archiv')}`,
      `\t\tRequire ldap-group ${DN('verwaltung')}`,
      '\t</RequireAny>',
      '\t<RequireAny>',
      '\t\tRequire method GET HEAD OPTIONS PROPFIND',
      `\t\tRequire ldap-group ${DN('archiv')}`,
      '\t</RequireAny>',
      '</RequireAll>',
    ]);
    // Read-only for everyone: no group writes.
    expect(requireLines(SHARES[3] as DavShare, 'invis-net.loc')).toEqual(READ_ONLY_FOR_EVERYONE);
  });

  it('serves the team shares of the layout, portal read-only for everyone, gruppen folder by folder', () => {
    expect(davShares(ctx).map((s) => [s.name, s.kind])).toEqual([
      ['aktuell', 'team'],
      ['archiv', 'team'],
      ['projekte', 'team'],
      ['gruppen', 'groups'],
      ['media', 'team'],
      ['portal', 'open'],
      ['service', 'team'],
      ['transfer', 'team'],
      ['verwaltung', 'team'],
    ]);
    // portal: the SMB rule (read-only for every domain user) — reads only, for everyone.
    const portal = davShares(ctx).find((s) => s.name === 'portal') as DavShare;
    expect(requireLines(portal, 'invis-net.loc')).toEqual(READ_ONLY_FOR_EVERYONE);
  });

  it('the folder templates in media: diradmins write, every other user only reads (as the folder permissions over SMB)', () => {
    const byName = (n: string) => davShares(ctx).find((s) => s.name === n) as DavShare;
    // One rule for media/portal (verzeichnisvorlagen below it has the same group); archiv's folders are archiv's.
    expect(subfolderRules(ctx, byName('media'))).toEqual([
      ['portal', { groups: ['diradmins'], readOnlyGroups: ['Domain Users'] }],
    ]);
    expect(subfolderRules(ctx, byName('archiv'))).toEqual([]);
    const site = renderWebdavSite(ctx, davShares(ctx), []);
    expect(site).toContain(
      [
        '\t<LocationMatch "^/dav/media/portal(/|$)">',
        '\t\t<RequireAll>',
        '\t\t\t<RequireAny>',
        `\t\t\t\tRequire ldap-group ${DN('diradmins')}`,
        '\t\t\t\tRequire valid-user',
        '\t\t\t</RequireAny>',
        '\t\t\t<RequireAny>',
        '\t\t\t\tRequire method GET HEAD OPTIONS PROPFIND',
        `\t\t\t\tRequire ldap-group ${DN('diradmins')}`,
        '\t\t\t</RequireAny>',
        '\t\t</RequireAll>',
        '\t</LocationMatch>',
      ].join('\n'),
    );
    expect(site.indexOf('"^/dav/media(/|$)"')).toBeLessThan(site.indexOf('"^/dav/media/portal(/|$)"'));
  });

  it('gruppen refuses everything; each group folder (later, so it wins) admits its group only', () => {
    const site = renderWebdavSite(ctx, SHARES, GROUP_FOLDERS);
    expect(site).toContain('\t<LocationMatch "^/dav/gruppen(/|$)">\n\t\tRequire all denied\n\t</LocationMatch>\n');
    expect(site).toContain(
      `\t<LocationMatch "^/dav/gruppen/Team A\\.1 \\(Süd\\)(/|$)">\n\t\t<RequireAll>\n\t\t\t<RequireAny>\n\t\t\t\tRequire ldap-group ${DN('Team A.1 (Süd)')}\n\t\t\t</RequireAny>\n\t\t</RequireAll>\n\t</LocationMatch>\n`,
    );
    expect(site).toContain('\t<LocationMatch "^/dav/gruppen/kasse\\$(/|$)">\n');
    expect(site.indexOf('"^/dav/gruppen(/|$)"')).toBeLessThan(site.indexOf('"^/dav/gruppen/Vertrieb(/|$)"'));
    // Without group folders only the refusal.
    expect(renderWebdavSite(ctx, SHARES, [])).not.toContain('^/dav/gruppen/');
  });

  it('listens on the LAN address only, TLS with the web certificate, LDAPS as invis-portal with the password through a pipe', () => {
    const site = renderWebdavSite(ctx, SHARES, []);
    expect(site.startsWith('# generated by @invis/setup-1 — do not edit\n')).toBe(true);
    expect(site).toContain('Listen 192.168.220.10:8444 https\n');
    expect(site).toContain('<VirtualHost 192.168.220.10:8444>\n');
    expect(site).toContain('\tSSLCertificateFile /etc/invis/certs/web-cert.pem\n');
    expect(site).toContain('\tSSLCertificateKeyFile /etc/invis/private/web-key.pem\n');
    expect(site).toContain('LDAPTrustedGlobalCert CA_BASE64 /etc/invis/certs/ca.crt\n');
    expect(site).toContain(
      '\t\tAuthLDAPURL "ldaps://192.168.220.10:636/DC=invis-net,DC=loc?sAMAccountName?sub?(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"\n',
    );
    expect(site).toContain('\t\tAuthLDAPBindDN invis-portal@invis-net.loc\n');
    expect(site).toContain('\t\tAuthLDAPBindPassword "exec:/usr/bin/cat /etc/invis/secrets/ad-invis-portal"\n');
    expect(site).toContain(
      '\tAlias /dav/verwaltung /srv/shares/verwaltung\n\t<Directory /srv/shares/verwaltung>\n\t\tDav On\n\t\tOptions None\n\t\tAllowOverride None\n\t</Directory>\n\t<LocationMatch "^/dav/verwaltung(/|$)">\n',
    );
    // No secret in the file.
    expect(site).not.toMatch(/AuthLDAPBindPassword [^"]/);
  });

  it('apache2 -t accepts the site with N group folders (with the staged certificates, secret and shares)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'setup-webdav-check-'));
    try {
      for (const s of SHARES) await mkdir(join(root, s.path), { recursive: true });
      const many: DavGroupFolder[] = [
        ...GROUP_FOLDERS,
        ...Array.from({ length: 40 }, (_, i) => ({ folder: `team-${i}`, group: `team-${i}` })),
      ];
      const candidate = join(dir, 'invis-webdav.conf');
      await writeFile(candidate, renderWebdavSite(ctx, SHARES, many));
      expect(await checkWebdavSite(ctx, SHARES, many, candidate)).toEqual({ ok: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('apache2 -t refuses a site whose certificates are missing, in its own words', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'setup-webdav-check-'));
    const other = await moduleContext(join(dir, 'empty-root'));
    try {
      await other.secrets.ensure('ad-invis-portal');
      const candidate = join(dir, 'invis-webdav.conf');
      const verdict = await checkWebdavSite(other, SHARES, GROUP_FOLDERS, candidate);
      expect(verdict.ok).toBe(false);
      expect(verdict.message).toMatch(/certificate file/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
