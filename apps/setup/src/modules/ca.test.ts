import { describe, expect, it } from 'vitest';
import { validateAnswers } from '../answers';
import { issueReason, wantedNames } from './ca';

const answers = validateAnswers(
  {
    hostname: 'srv',
    domain: 'firma.loc',
    interfaces: { intern: 'lan0', extern: 'wan0' },
    lan: { address: '10.20.30.40/16' },
    ssh: { port: 55022 },
  },
  'en',
);

describe('ca names', () => {
  it('every certificate carries FQDN, short name and LAN address; ldap the domain, mail the MX name', () => {
    const names = wantedNames(answers);
    expect(names.web).toEqual({ dns: ['srv.firma.loc', 'srv'], ip: ['10.20.30.40'] });
    expect(names.vpn).toEqual(names.web);
    expect(names.ldap.dns).toEqual(['srv.firma.loc', 'srv', 'firma.loc']);
    expect(names.mail.dns).toEqual(['srv.firma.loc', 'srv', 'mail.firma.loc']);
  });

  it('a missing certificate is issued', () => {
    expect(issueReason(undefined, wantedNames(answers).web, new Date())).toBe('missing');
  });
});
