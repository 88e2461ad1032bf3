import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MailRewriteError } from './errors';
import { parseMailConfig } from './model';
import {
  buildPostfixMaps,
  GENERATED_MARKER,
  POSTFIX_MAP_NAMES,
  parsePostfixMap,
  renderLdapTables,
  renderMainCfSettings,
  renderPostfixMap,
} from './postfix';
import { configInputArb, failsOnlyWith, sampleInput } from './testing';

describe('buildPostfixMaps', () => {
  const maps = buildPostfixMaps(parseMailConfig(sampleInput()));

  it('rewrites outbound local → main address only', () => {
    expect(maps.generic).toEqual([
      ['alice@invis-net.loc', 'alice@gmx.de'],
      ['bob@invis-net.loc', 'bob@gmx.de'],
    ]);
  });

  it('delivers every external address of a colleague locally', () => {
    expect(maps.recipientCanonical).toEqual([
      ['alice.shop@web.de', 'alice@invis-net.loc'],
      ['alice@gmx.de', 'alice@invis-net.loc'],
      ['bob@gmx.de', 'bob@invis-net.loc'],
    ]);
  });

  it('relays and authenticates per sender, each key once', () => {
    expect(maps.relayhost).toEqual([
      ['alice.shop@web.de', '[smtp.web.de]:587'],
      ['alice@gmx.de', '[mail.gmx.net]:587'],
      ['alice@invis-net.loc', '[mail.gmx.net]:587'],
      ['bob@gmx.de', '[mail.gmx.net]:587'],
      ['bob@invis-net.loc', '[mail.gmx.net]:587'],
    ]);
    expect(maps.saslPassword.map(([k]) => k)).toEqual(maps.relayhost.map(([k]) => k));
    expect(maps.saslPassword).toContainEqual(['alice@invis-net.loc', `alice@gmx.de:it's a "secret" \\ #1`]);
    expect(maps.tlsPolicy).toEqual([
      ['[mail.gmx.net]:587', 'secure match=mail.gmx.net'],
      ['[smtp.web.de]:587', 'secure match=smtp.web.de'],
    ]);
  });
});

describe('buildPostfixMaps sender logins', () => {
  it('gives every local and external address of a user to that user’s login', () => {
    const config = parseMailConfig(sampleInput());
    expect(buildPostfixMaps(config).senderLogin).toEqual([
      ['alice.shop@web.de', 'alice'],
      ['alice@gmx.de', 'alice'],
      ['alice@invis-net.loc', 'alice'],
      ['bob@gmx.de', 'bob'],
      ['bob@invis-net.loc', 'bob'],
    ]);
    expect(buildPostfixMaps(config, { login: 'localAddress' }).senderLogin).toContainEqual([
      'alice.shop@web.de',
      'alice@invis-net.loc',
    ]);
  });
});

describe('renderPostfixMap / parsePostfixMap', () => {
  it('round-trips the sample', () => {
    const maps = buildPostfixMaps(parseMailConfig(sampleInput()));
    for (const name of POSTFIX_MAP_NAMES) {
      const text = renderPostfixMap(maps[name]);
      expect(text.startsWith(`${GENERATED_MARKER}\n`)).toBe(true);
      expect(parsePostfixMap(text)).toEqual(maps[name]);
      expect(renderPostfixMap(parsePostfixMap(text))).toBe(text);
    }
  });

  it('reads continuation lines and comments as postmap does', () => {
    expect(parsePostfixMap('# c\n\na  b\n  c\r\n#x\nd\te\n')).toEqual([
      ['a', 'b c'],
      ['d', 'e'],
    ]);
  });

  it('refuses entries that would break the line structure', () => {
    expect(() => renderPostfixMap([['a b', 'c']])).toThrow(MailRewriteError);
    expect(() => renderPostfixMap([['a', 'b\nrelayhost x']])).toThrow(MailRewriteError);
    expect(() => renderPostfixMap([['#a', 'b']])).toThrow(MailRewriteError);
    expect(() => renderPostfixMap([['a', ' b']])).toThrow(MailRewriteError);
  });

  it('round-trips random valid configurations: one line per entry, nothing injected (fuzzed)', () => {
    fc.assert(
      fc.property(configInputArb, (input) => {
        const maps = buildPostfixMaps(parseMailConfig(input));
        for (const name of POSTFIX_MAP_NAMES) {
          const text = renderPostfixMap(maps[name]);
          expect(text.split('\n').length).toBe(maps[name].length + 2);
          expect(parsePostfixMap(text)).toEqual(maps[name]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives a typed error for junk, never a crash (fuzzed)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), failsOnlyWith('MAIL_PARSE_ERROR', parsePostfixMap)));
  });
});

describe('renderMainCfSettings', () => {
  const files = {
    generic: '/m/g',
    recipientCanonical: '/m/r',
    relayhost: '/m/h',
    saslPassword: '/m/s',
    tlsPolicy: '/m/t',
    senderLogin: '/m/l',
  };
  it('wires the static tables and keeps passwords off plaintext connections', () => {
    const s = renderMainCfSettings({ type: 'lmdb', files, trust: { caPath: '/etc/ssl/certs' } });
    expect(s).toMatchObject({
      smtp_generic_maps: 'lmdb:/m/g',
      recipient_canonical_maps: 'lmdb:/m/r',
      recipient_canonical_classes: 'envelope_recipient',
      sender_dependent_relayhost_maps: 'lmdb:/m/h',
      smtp_sasl_password_maps: 'lmdb:/m/s',
      smtp_sasl_security_options: 'noanonymous, noplaintext',
      smtp_tls_policy_maps: 'lmdb:/m/t',
      smtp_tls_CApath: '/etc/ssl/certs',
    });
    expect(s).not.toHaveProperty('sender_canonical_maps');
  });
  it('lets only the server itself relay without login, everyone else only as their own addresses', () => {
    const s = renderMainCfSettings({ type: 'lmdb', files });
    expect(s).toMatchObject({
      mynetworks: '127.0.0.0/8, [::1]/128',
      smtpd_sender_login_maps: 'lmdb:/m/l',
      smtpd_relay_restrictions: 'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
      smtpd_sender_restrictions:
        'reject_authenticated_sender_login_mismatch, permit_mynetworks, reject_unauthenticated_sender_login_mismatch',
    });
    // No SASL service given: nobody outside the trusted networks can relay at all.
    expect(s).not.toHaveProperty('smtpd_sasl_auth_enable');
    const withSasl = renderMainCfSettings({
      type: 'lmdb',
      files,
      submission: { sasl: { type: 'dovecot', path: 'private/auth' }, trustedClients: ['127.0.0.1/32'] },
    });
    expect(withSasl).toMatchObject({
      mynetworks: '127.0.0.1/32',
      smtpd_sasl_auth_enable: 'yes',
      smtpd_sasl_type: 'dovecot',
      smtpd_sasl_path: 'private/auth',
    });
  });
  it.each([
    [{ trustedClients: [] }],
    [{ trustedClients: ['10.0.0.0/8, 0.0.0.0/0'] }],
    [{ trustedClients: ['$mynetworks'] }],
    [{ sasl: { type: 'dovecot' as const, path: 'private/auth\nrelayhost = evil' } }],
  ])('refuses submission options %j', (submission) => {
    expect(() => renderMainCfSettings({ type: 'lmdb', files, submission })).toThrow(MailRewriteError);
  });
  it('uses ldap tables for the address maps when asked', () => {
    const s = renderMainCfSettings({
      type: 'texthash',
      files,
      ldap: { generic: '/g.cf', recipientCanonical: '/r.cf' },
    });
    expect(s.smtp_generic_maps).toBe('ldap:/g.cf');
    expect(s.recipient_canonical_maps).toBe('ldap:/r.cf');
    expect(s.smtp_sasl_password_maps).toBe('texthash:/m/s');
  });
});

describe('renderLdapTables', () => {
  const options = {
    serverUrl: 'ldap://dc1.invis-net.loc',
    baseDn: 'DC=invis-net,DC=loc',
    bindDn: 'CN=postfix-reader,CN=Users,DC=invis-net,DC=loc',
    bindPassword: `r3ad'only"`,
    caFile: '/etc/ssl/invis-ca.pem',
  };
  it('binds read-only over StartTLS and queries the invis objects', () => {
    const { generic, recipientCanonical } = renderLdapTables(options);
    expect(generic).toContain('start_tls = yes\n');
    expect(generic).toContain('tls_require_cert = yes\n');
    expect(generic).toContain(`bind_pw = r3ad'only"\n`);
    expect(generic).toContain('query_filter = (&(objectClass=fspLocalMailRecipient)(fspLocalMailAddress=%s))');
    expect(generic).toContain('result_attribute = fspMainMailAddress');
    expect(recipientCanonical).toContain('(&(objectClass=fspFetchMailAccount)(fspExtMailAddress=%s))');
    expect(recipientCanonical).toContain(
      'search_base = CN=AdditionalUserInformation,CN=invis-Server,DC=invis-net,DC=loc',
    );
  });
  it.each([
    ['bindPassword', 'a\nserver_host = evil'],
    ['bindPassword', 'pa$$word'],
    ['bindPassword', ' pw'],
    ['serverUrl', 'ldaps://x'],
  ])('refuses %s %j', (field, value) => {
    expect(() => renderLdapTables({ ...options, [field]: value })).toThrow(MailRewriteError);
  });
});
