// An existing invis server's mail objects in a real Samba AD DC, in the exact shapes the
// original's portal and scripts write them (facts from invisserver/invisAD-setup: the portal's
// mail pages, refreshfrc, the seed catalogue 05_Mail-Providers.ldif, the Postfix ldap_table
// files). Each kind: read by us completely; written by us and found by the original's own LDAP
// filters (Postfix's LDAP client runs them) and by its rc generator (the real fetchmail reads
// the line it would write); a read → write round trip changes nothing the original uses.
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AdClient, createAdClient, type MailProviderEntry } from '@invis/ad-client';
import { createExecaRunner } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { run, type SambaDc, startSambaDc } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  buildFetchmailRc,
  createMailDirectoryStore,
  generateSecretKey,
  type MailDirectoryStore,
  parseMailConfig,
  renderFetchmailRc,
} from '../../src';

const server = inject('mailServer');
const DOMAIN = 'invis.test';
let dc: SambaDc;
let ad: AdClient;
const tmp = useTempDir('mail-rewrite-original-', { shared: true });
let store: MailDirectoryStore;

// ---- The original's data (facts, our own fixtures) ---------------------------------------------

// The portal's account page (and addmailaccount): `pop3s`/`imaps` become `pop3`/`imap` plus
// ONE value "here ssl fetchall"; plain ones "here fetchall". Passwords in clear text.
const ORIGINAL_ACCOUNTS = {
  otto: [
    {
      extAddress: 'otto@gmx.de',
      server: 'pop.gmx.net',
      proto: 'pop3',
      userName: 'otto@gmx.de',
      password: 'Otto-Geheim1',
      fetchOpts: ['here ssl fetchall'],
    },
    {
      extAddress: 'otto.shop@web.de',
      server: 'imap.web.de',
      proto: 'imap',
      userName: 'otto.shop',
      password: 'Shop#Pass 2',
      fetchOpts: ['here fetchall'],
    },
  ],
};

// The seed catalogue's facts (05_Mail-Providers.ldif), freenet's IMAP host with the trailing
// blank it ships with, plus one entry an admin broke.
const SEED_CATALOGUE: Array<MailProviderEntry & { cn: string }> = [
  {
    cn: 'gmx',
    vendor: 'GMX',
    pop: 'pop.gmx.net',
    imap: 'imap.gmx.net',
    smtp: 'mail.gmx.net',
    popSsl: true,
    imapSsl: true,
    smtpPort: 587,
    smtpTls: false,
    userNameHint: 'GMX-Kundennummer oder GMX-email-Adresse',
  },
  {
    cn: 'web.de',
    vendor: 'Web.de',
    pop: 'pop3.web.de',
    imap: 'imap.web.de',
    smtp: 'smtp.web.de',
    popSsl: true,
    imapSsl: true,
    smtpPort: 587,
    smtpTls: false,
    userNameHint: 'Benutzername',
    description: 'SMTP-Auth',
  },
  {
    cn: 'freenet',
    vendor: 'Freenet AG',
    pop: 'mx.freenet.de',
    imap: 'mx.freenet.de ',
    smtp: 'mx.freenet.de',
    popSsl: true,
    imapSsl: true,
    smtpPort: 587,
    smtpTls: true,
    userNameHint: 'Benutzername@freenet.de',
    description: 'SMTP-Auth',
  },
  {
    cn: 'telekom',
    vendor: 'Deutsche Telekom AG',
    pop: 'securepop.t-online.de',
    imap: 'secureimap.t-online.de',
    smtp: 'securesmtp.t-online.de',
    popSsl: true,
    imapSsl: true,
    smtpPort: 465,
    smtpTls: true,
  },
  {
    cn: 'o2',
    vendor: 'Telefonica Germany GmbH und Co. OHG',
    pop: 'pop.o2online.de',
    imap: 'imap.o2online.de',
    smtp: 'mail.o2online.de',
    popSsl: true,
    imapSsl: true,
    smtpPort: 25,
    smtpTls: false,
    description: 'SMTP-Auth, Als IMAP-Standard-Ordener muss "." oder nichts angegeben werden.',
  },
  { cn: 'kaputt', vendor: 'Kaputt GmbH', pop: 'pop kaputt.example', smtp: 'smtp.kaputt.example' },
];

// The original's LDAP filters, copied as data: its Postfix ldap_table files (query_filter,
// result_attribute, search base) and the portal's searches (run here through the same client).
const AUI = 'CN=AdditionalUserInformation,CN=invis-Server';
const ORIGINAL_LOOKUPS = {
  'ldap-users.cf': { base: 'CN=Users', filter: '(&(objectClass=user)(mail=%s))', result: 'mail' },
  'ldap-aliases.cf': { base: 'CN=Users', filter: '(&(objectClass=user)(otherMailbox=%s))', result: 'mail' },
  'ldap-users2.cf': { base: AUI, filter: '(name=%s)', result: 'fspLocalMailAddress' },
  's-canonical.cf': { base: AUI, filter: '(fspLocalMailAddress=%u@%d)', result: 'fspMainMailAddress' },
  'r-canonical.cf': { base: AUI, filter: '(fspExtMailAddress=%u@%d)', result: 'fspLocalMailAddress' },
  // The portal's mail pages: `(&(fspExtMailServer=*)(fspLocalMailAddress=$corusername@*))`.
  'portal-accounts.cf': { base: AUI, filter: '(&(fspExtMailServer=*)(fspLocalMailAddress=%s@*))', result: '' },
  'portal-recipient.cf': {
    base: AUI,
    filter: '(&(fspMainMailAddress=*)(fspLocalMailAddress=%s@*))',
    result: 'fspMainMailAddress',
  },
} as const;
type Lookup = keyof typeof ORIGINAL_LOOKUPS;

// The portal's bfmrc: one rc line per account, `[0]` of every attribute, opts pasted at the end.
const originalRcLine = (a: { server: string; proto: string; user: string; pass: string; opts: string }, sam: string) =>
  `poll ${a.server} proto ${a.proto} user ${a.user} pass '${a.pass}' is ${sam} ${a.opts}\n`;

// ---- helpers ---------------------------------------------------------------------------------

async function lookup(table: Lookup, key: string, result?: string): Promise<string[]> {
  const t = ORIGINAL_LOOKUPS[table];
  const file = join(tmp(), `${table}-${result ?? t.result}`);
  await writeFile(
    file,
    [
      `server_host = ldap://${dc.info.address}`,
      'start_tls = yes',
      `tls_ca_cert_file = ${dc.info.caFile}`,
      'tls_require_cert = yes',
      'version = 3',
      'bind = yes',
      `bind_dn = ${dc.info.adminDN}`,
      `bind_pw = ${dc.info.adminPassword}`,
      `search_base = ${t.base},${dc.info.baseDN}`,
      'scope = sub',
      `query_filter = ${t.filter}`,
      `result_attribute = ${result ?? t.result}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const r = await createExecaRunner().run('postmap', ['-c', server.postfixConfigDir, '-q', key, `ldap:${file}`]);
  if (r.exitCode === 1) return [];
  expect(r.exitCode).toBe(0);
  return r.stdout.split(',').map((v) => v.trim());
}

async function configdump(rc: string, name: string): Promise<string> {
  const file = join(tmp(), name);
  await writeFile(file, rc);
  await chmod(file, 0o600);
  return run('fetchmail', ['-f', file, '--configdump']);
}

const field = (dump: string, name: string): string | undefined =>
  new RegExp(`['"]${name}['"]:\\s*([^,\\n]*)`).exec(dump)?.[1]?.trim();

// What the original's generator writes for otto's account `address`, read back from AD with
// its own filter and the attributes its bfmrc takes.
async function originalRc(address: string): Promise<string> {
  const attributes = [
    'fspExtMailServer',
    'fspExtMailProto',
    'fspExtMailUserName',
    'fspExtMailUserPW',
    'fspMailFetchOpts',
  ];
  const [server, proto, user, pass, opts] = await Promise.all(
    attributes.map(async (a) => (await lookup('r-canonical.cf', address, a))[0] ?? ''),
  );
  return originalRcLine(
    { server: server ?? '', proto: proto ?? '', user: user ?? '', pass: pass ?? '', opts: opts ?? '' },
    'otto',
  );
}

async function seedOriginal(): Promise<void> {
  for (const { cn, ...p } of SEED_CATALOGUE) await ad.invis.mail.putProvider(cn, p);
  const local = `otto@${DOMAIN}`;
  for (const a of ORIGINAL_ACCOUNTS.otto) await ad.invis.mail.putFetchAccount('otto', { ...a, localAddress: local });
  await ad.invis.mail.putLocalRecipient('otto', {
    localAddress: local,
    mainAddress: 'otto@gmx.de',
    localHost: 'invis.invis.test',
  });
  // The account page: the first external address replaces the local one in `mail`, the local
  // one and every further external address go to `otherMailbox`.
  await ad.users.update('otto', { mail: 'otto@gmx.de', otherMailbox: [local, 'otto.shop@web.de'] });
}

beforeAll(async () => {
  dc = await startSambaDc({ schemaUpdates: true });
  const { info } = dc;
  ad = createAdClient({ url: info.ldapsUrl, bindDN: info.adminDN, password: info.adminPassword, ca: info.caPem });
  await ad.invis.install();
  await ad.users.create({ sAMAccountName: 'otto', password: 'Otto-Pass!2026x' });
  await seedOriginal();
  store = createMailDirectoryStore({ directory: ad.invis.mail, users: ad.users, key: generateSecretKey() });
}, 180_000);

afterAll(async () => {
  await ad?.close();
  await dc?.stop();
});

async function readOtto() {
  const catalogue = await store.readProviders();
  const read = await store.readUser('otto', {}, catalogue.providers);
  if (!read) throw new Error('otto has mail objects');
  return { read, config: parseMailConfig({ localDomain: DOMAIN, providers: catalogue.providers, users: [read.user] }) };
}

// ---- tests (in order: read the original, write, read again) -----------------------------------

describe('on an existing invis server', () => {
  it('reads the seed catalogue with its trailing blank; a broken entry is reported, the rest kept', async () => {
    const catalogue = await store.readProviders();
    expect(catalogue.providers.map((p) => p.id).sort()).toEqual(['freenet', 'gmx', 'o2', 'telekom', 'web.de']);
    expect(catalogue.providers.find((p) => p.id === 'freenet')?.imap).toEqual({ host: 'mx.freenet.de', tls: true });
    expect(catalogue.rejected).toEqual([{ id: 'kaputt', issues: [expect.stringMatching(/^pop3\.host: /)] }]);
  });

  it('reads the original’s one-value fetch options completely (POP3S stays POP3S on 995 with fetchall)', async () => {
    const { read, config } = await readOtto();
    expect(read.legacySecrets.sort()).toEqual(['otto.shop@web.de', 'otto@gmx.de']);
    const accounts = config.users[0]?.accounts ?? [];
    const gmx = accounts.find((a) => a.address === 'otto@gmx.de');
    const web = accounts.find((a) => a.address === 'otto.shop@web.de');
    expect(gmx).toMatchObject({
      protocol: 'pop3',
      tls: 'implicit',
      port: 995,
      fetchAll: true,
      keep: false,
      password: 'Otto-Geheim1',
      provider: 'gmx',
    });
    expect(web).toMatchObject({
      protocol: 'imap',
      tls: 'starttls',
      port: 143,
      fetchAll: true,
      password: 'Shop#Pass 2',
      provider: 'web.de',
    });
    expect(config.users[0]?.mainAddress).toBe('otto@gmx.de');

    // What our rc makes of it, as the real fetchmail reads it.
    const dump = await configdump(renderFetchmailRc(buildFetchmailRc(config, { smtpHost: server.address })), 'ours-rc');
    const gmxDump = dump.slice(dump.indexOf('"pollname":"pop.gmx.net"'));
    expect(field(gmxDump, 'protocol')).toBe('"POP3"');
    expect(field(gmxDump, 'service')).toBe('"995"');
    expect(field(gmxDump, 'ssl')).toBe('TRUE');
    expect(field(gmxDump, 'fetchall')).toBe('TRUE');
  });

  it('a read → write round trip changes nothing the original uses (only the password is sealed)', async () => {
    const before = {
      gmx: await configdump(await originalRc('otto@gmx.de'), 'orig-gmx-before'),
      web: await configdump(await originalRc('otto.shop@web.de'), 'orig-web-before'),
    };
    expect(field(before.gmx, 'ssl')).toBe('TRUE');

    const { config } = await readOtto();
    await store.writeUser(config.users[0] as (typeof config.users)[number]);

    // One value, the original's keywords first, our settings behind `#`.
    const stored = await ad.invis.mail.fetchAccounts('otto');
    expect(stored.find((a) => a.extAddress === 'otto@gmx.de')?.fetchOpts).toEqual([
      'here ssl fetchall # invis:provider=gmx',
    ]);
    expect(stored.find((a) => a.extAddress === 'otto.shop@web.de')?.fetchOpts).toEqual([
      'here fetchall # invis:provider=web.de',
    ]);

    const after = {
      gmx: await configdump(await originalRc('otto@gmx.de'), 'orig-gmx-after'),
      web: await configdump(await originalRc('otto.shop@web.de'), 'orig-web-after'),
    };
    const withoutPassword = (d: string) => d.replace(/"password":"[^\n]*/g, '').replace(/\/tmp\/[^"]*/g, '');
    expect(withoutPassword(after.gmx)).toBe(withoutPassword(before.gmx));
    expect(withoutPassword(after.web)).toBe(withoutPassword(before.web));
    // The migration: the password is sealed on this first write; the original's generator
    // now puts the sealed text into fetchmail's rc (valid rc, the provider refuses the login).
    expect(field(after.gmx, 'password')).toMatch(/^"\{INVIS-AES256GCM-2\}/);

    // Everything else the original's lookups use is as it was.
    expect(await lookup('ldap-users.cf', 'otto@gmx.de')).toEqual(['otto@gmx.de']);
    expect(await lookup('ldap-aliases.cf', `otto@${DOMAIN}`)).toEqual(['otto@gmx.de']);
    expect(await lookup('ldap-aliases.cf', 'otto.shop@web.de')).toEqual(['otto@gmx.de']);
    expect(await lookup('s-canonical.cf', `otto@${DOMAIN}`)).toEqual(['otto@gmx.de']);
    expect((await ad.invis.mail.localRecipient('otto'))?.localHost).toBe('invis.invis.test');

    // And we read back what we wrote, passwords now sealed.
    const again = await readOtto();
    expect(again.read.legacySecrets).toEqual([]);
    expect(again.config).toEqual(config);
  });

  it('writes new accounts and address changes so the original’s filters and rc generator understand them', async () => {
    const { config } = await readOtto();
    const otto = config.users[0] as (typeof config.users)[number];
    await store.writeUser({
      ...otto,
      mainAddress: 'otto.shop@web.de',
      accounts: [
        ...otto.accounts.filter((a) => a.address !== 'otto@gmx.de'),
        {
          address: 'otto@freenet.de',
          server: 'mx.freenet.de',
          protocol: 'imap',
          port: 993,
          tls: 'implicit',
          login: 'otto@freenet.de',
          password: 'Frei-Net 3',
          keep: true,
          fetchAll: false,
          folders: ['INBOX', 'Bestellungen 2026'],
          provider: 'freenet',
        },
      ],
    });

    // The portal's own searches find the accounts and the recipient.
    expect((await lookup('portal-accounts.cf', 'otto', 'fspExtMailAddress')).sort()).toEqual([
      'otto.shop@web.de',
      'otto@freenet.de',
    ]);
    expect(await lookup('portal-recipient.cf', 'otto')).toEqual(['otto.shop@web.de']);
    // Its Postfix lookups: every address of otto reaches him; the old one none.
    for (const address of ['otto.shop@web.de', 'otto@freenet.de', `otto@${DOMAIN}`]) {
      expect([...(await lookup('ldap-users.cf', address)), ...(await lookup('ldap-aliases.cf', address))]).toEqual([
        'otto.shop@web.de',
      ]);
    }
    expect(await lookup('ldap-users.cf', 'otto@gmx.de')).toEqual([]);
    expect(await lookup('ldap-aliases.cf', 'otto@gmx.de')).toEqual([]);
    expect(await lookup('ldap-users2.cf', 'otto@freenet.de')).toEqual([`otto@${DOMAIN}`]);
    expect(await lookup('r-canonical.cf', 'otto@freenet.de')).toEqual([`otto@${DOMAIN}`]);
    expect(await lookup('s-canonical.cf', `otto@${DOMAIN}`)).toEqual(['otto.shop@web.de']);
    const user = await ad.users.get('otto');
    expect(user?.mail).toBe('otto.shop@web.de');
    expect([...(user?.otherMailbox ?? [])].sort()).toEqual(['otto@freenet.de', `otto@${DOMAIN}`]);

    // The rc line the original's generator writes from our object is valid for fetchmail and
    // keeps IMAPS, keep and the absence of fetchall.
    const dump = await configdump(await originalRc('otto@freenet.de'), 'orig-freenet');
    expect(field(dump, 'protocol')).toBe('"IMAP"');
    expect(field(dump, 'ssl')).toBe('TRUE');
    expect(field(dump, 'keep')).toBe('TRUE');
    expect(field(dump, 'fetchall')).toBe('FALSE');
    expect(
      (await ad.invis.mail.fetchAccounts('otto')).find((a) => a.extAddress === 'otto@freenet.de')?.fetchOpts,
    ).toEqual(['here ssl keep # invis:folder=INBOX invis:folder=Bestellungen%202026 invis:provider=freenet']);
  });
});
