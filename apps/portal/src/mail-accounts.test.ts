import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeFs } from '@invis/host';
import type { MailDirectoryStore, MailUser } from '@invis/mail-rewrite';
import { useTempDir } from '@invis/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import { isPortalError } from './errors';
import { createMailAccounts, type MailAccounts } from './mail-accounts';

const dir = useTempDir('portal-mail-');
let written: MailUser[];
let syncs: number;
let refuse: boolean;
let mail: MailAccounts;

// The directory side is @invis/mail-rewrite's store (proven on the DC in test/integration/mail.test.ts);
// here only what the portal adds: rules, presence file, login test, sync.
function memoryStore(): MailDirectoryStore {
  return {
    readProviders: async () => ({
      providers: [
        {
          id: 'gmx',
          vendor: 'GMX',
          oauth2: false,
          imap: { host: 'imap.gmx.net', tls: true },
          smtp: { host: 'mail.gmx.net', port: 587 },
        },
      ],
      rejected: [],
    }),
    readUser: async (user, state) => {
      const last = written.findLast((u) => u.user === user);
      return last ? { user: { ...structuredClone(last), ...state }, legacySecrets: [] } : undefined;
    },
    writeUser: async (user) => {
      written.push(structuredClone(user));
    },
  };
}

const account = (address: string) => ({
  address,
  server: 'imap.gmx.net',
  protocol: 'imap' as const,
  login: address,
  password: 'secret "quoted"',
  provider: 'gmx',
});
const presenceFile = () => join(dir(), 'mail', 'presence.json');
const code = (e: unknown) => (isPortalError(e) ? e.code : e);

beforeEach(() => {
  written = [];
  syncs = 0;
  refuse = false;
  mail = createMailAccounts({
    store: memoryStore(),
    fs: createNodeFs(),
    presenceFile: presenceFile(),
    localDomain: 'muster.loc',
    sync: async () => {
      syncs++;
    },
    probe: async () => {
      if (refuse) throw new Error('NO [AUTHENTICATIONFAILED]');
    },
  });
});

describe('mail accounts (CorNAz)', () => {
  it('adds accounts after a successful login test, chooses the sender, and syncs after each change', async () => {
    expect((await mail.get('anna')).localAddress).toBe('anna@muster.loc');
    await mail.addAccount('anna', account('anna@gmx.de'));
    const view = await mail.setSender('anna', 'anna@gmx.de');
    expect(view).toMatchObject({ senderAddress: 'anna@gmx.de', accounts: [{ address: 'anna@gmx.de', port: 993 }] });
    expect(JSON.stringify(view)).not.toContain('secret');
    expect(syncs).toBe(2);
    refuse = true;
    expect(code(await mail.addAccount('anna', account('anna@web.de')).catch((e) => e))).toBe(
      'PORTAL_MAIL_LOGIN_FAILED',
    );
    expect((await mail.get('anna')).accounts).toHaveLength(1);
    expect(syncs).toBe(2);
  });

  it('keeps the sender account until it is the last one', async () => {
    await mail.addAccount('anna', account('anna@gmx.de'));
    await mail.addAccount('anna', account('anna@web.de'));
    await mail.setSender('anna', 'anna@gmx.de');
    expect(code(await mail.removeAccount('anna', 'anna@gmx.de').catch((e) => e))).toBe('PORTAL_CONFLICT');
    await mail.removeAccount('anna', 'anna@web.de');
    const last = await mail.removeAccount('anna', 'anna@gmx.de');
    expect(last).toMatchObject({ accounts: [], senderAddress: 'anna@muster.loc' });
  });

  it("enforces the original's presence rules and writes what setup's mail modules read", async () => {
    await mail.setPresence('anna', 'absent');
    expect(code(await mail.startVacation('anna', { subject: 'Urlaub', body: 'Bin weg.' }).catch((e) => e))).toBe(
      'PORTAL_CONFLICT',
    );
    await mail.setPresence('anna', 'present');
    await mail.startVacation('anna', { subject: 'Urlaub', body: 'Bin weg.', start: '2026-12-20', end: '2027-01-06' });
    expect(code(await mail.setPresence('anna', 'absent').catch((e) => e))).toBe('PORTAL_CONFLICT');
    expect(JSON.parse(await readFile(presenceFile(), 'utf8'))).toEqual({
      anna: {
        presence: 'vacation',
        vacation: { subject: 'Urlaub', body: 'Bin weg.', start: '2026-12-20', end: '2027-01-06', days: 7 },
      },
    });
    await mail.endVacation('anna');
    expect(JSON.parse(await readFile(presenceFile(), 'utf8'))).toEqual({});
  });

  it('refuses bad input and never overwrites a presence file it cannot read', async () => {
    expect(
      code(
        await mail
          .startVacation('anna', { subject: 'x', body: 'y', start: '2027-01-06', end: '2026-12-20' })
          .catch((e) => e),
      ),
    ).toBe('PORTAL_VALIDATION');
    await mkdir(join(dir(), 'mail'));
    await writeFile(presenceFile(), '{not json');
    expect(code(await mail.setPresence('anna', 'absent').catch((e) => e))).toBe('PORTAL_CONFIG');
    expect(await readFile(presenceFile(), 'utf8')).toBe('{not json');
  });
});
