import type { AdClient } from '@invis/ad-client';
import type { CertificateInfo } from '@invis/ovpn-pki';
import { describe, expect, it } from 'vitest';
import { validateAnswers } from '../answers';
import { renderWarningMail } from '../openvpn-check';
import { accountOf, decideConnect } from '../openvpn-connect';
import { PROFILES } from '../profiles';
import { renderRoadWarriorConfig, renderSiteConfig, serverConfigs, siteCertName } from './openvpn';

const base = {
  hostname: 'invis',
  domain: 'firma.loc',
  interfaces: { intern: 'lan0', extern: 'wan0' },
  lan: { address: '192.168.220.10/24' },
  vpn: { network: '192.168.166.0/24' },
  ssh: { port: 55022 },
  portal: { port: 56443 },
  openvpn: { port: 51194, sites: [{ name: 'berlin', subnets: ['10.50.0.0/24'] }] },
};
const answers = validateAnswers(base, 'en');
const profile = PROFILES['debian-12'] as (typeof PROFILES)['debian-12'];
const files = { ca: '/k/ca.crt', cert: '/k/s.crt', key: '/k/s.key', crl: '/k/crl.pem', tlsCryptV2: '/k/tc.key' };

describe('openvpn answers', () => {
  it('old answers stay valid: no branches, the site pool defaults to 192.168.167.0/24', () => {
    const { openvpn: _, ...old } = base;
    const a = validateAnswers(old, 'en');
    expect(a.openvpn).toEqual({ siteNetwork: '192.168.167.0/24', sites: [] });
  });

  it('refuses branch subnets that overlap the LAN, the VPN or each other, and duplicate names', () => {
    const bad = {
      ...base,
      openvpn: {
        port: 51194,
        sites: [
          { name: 'berlin', subnets: ['192.168.220.0/24'] },
          { name: 'berlin', subnets: ['10.1.0.0/16', '10.1.2.0/24'] },
        ],
      },
    };
    expect(() => validateAnswers(bad, 'en')).toThrow(
      /openvpn\.sites\.0\.subnets\.0: network overlaps.*\n.*openvpn\.sites\.1\.subnets\.1: network overlaps.*\n.*openvpn\.sites: site name/s,
    );
    expect(() =>
      validateAnswers(
        { ...base, openvpn: { port: 51194, sites: [{ name: 'Berlin!', subnets: ['10.9.0.0/24'] }] } },
        'en',
      ),
    ).toThrow(/site name/);
  });
});

describe('openvpn renders', () => {
  const configs = serverConfigs(answers, { network: '192.168.166.0/24' }, profile, files);

  it('road warrior: the VPN pool on the port, LAN route and the server as DNS, the AD check at every connect', () => {
    const text = renderRoadWarriorConfig(configs.roadWarrior, profile);
    expect(text).toContain('port 51194\nproto udp\ndev vpn\n');
    expect(text).toContain('server 192.168.166.0 255.255.255.0\n');
    expect(text).toContain('tls-crypt-v2 /k/tc.key\n');
    expect(text).toContain('push "route 192.168.220.0 255.255.255.0"\npush "route 10.50.0.0 255.255.255.0"\n');
    expect(text).toContain('push "dhcp-option DNS 192.168.220.10"\npush "dhcp-option DOMAIN firma.loc"\n');
    expect(text).toContain('user nobody\ngroup invis-vpn\n');
    expect(text).toMatch(/script-security 2\nclient-connect "\/usr\/bin\/invis-setup vpn connect"\n$/);
  });

  it('site server: port + 1, own pool, a route per branch, ccd-exclusive', () => {
    const text = renderSiteConfig(configs.site);
    expect(text).toContain('port 51195\nproto udp\ndev vpn-sub\n');
    expect(text).toContain('server 192.168.167.0 255.255.255.0\n');
    expect(text).toContain(`client-config-dir ${profile.openvpn.ccdDir}\nroute 10.50.0.0 255.255.255.0\n`);
    expect(text).toMatch(/ccd-exclusive\n$/);
    expect(configs.site.sites).toEqual([{ name: siteCertName('berlin'), subnets: ['10.50.0.0/24'] }]);
  });
});

describe('connect check', () => {
  it('takes the account from the common name; names outside the convention have none', () => {
    expect(accountOf('anna.schmidt')).toBe('anna.schmidt');
    expect(accountOf('anna.schmidt@laptop')).toBe('anna.schmidt');
    expect(accountOf('a*)(uid=*')).toBeUndefined();
    expect(accountOf('@laptop')).toBeUndefined();
    expect(accountOf('')).toBeUndefined();
  });

  const group = { dn: 'CN=mobilusers,CN=Users,DC=firma,DC=loc' };
  const fakeAd = (user: { enabled: boolean; memberOf: string[] } | undefined, withGroup = true) =>
    ({
      users: { get: async (name: string) => (name === 'anna' ? user : undefined) },
      groups: { get: async (name: string) => (withGroup && name === 'mobilusers' ? group : undefined) },
    }) as unknown as Pick<AdClient, 'users' | 'groups'>;

  it('allows an enabled member of mobilusers and refuses everyone else', async () => {
    const member = { enabled: true, memberOf: ['cn=MOBILUSERS,cn=users,dc=firma,dc=loc'] };
    expect(await decideConnect(fakeAd(member), 'anna@phone')).toMatchObject({ allow: true, account: 'anna' });
    expect(await decideConnect(fakeAd({ ...member, enabled: false }), 'anna')).toMatchObject({
      allow: false,
      reason: 'refused anna: disabled in AD',
    });
    expect(await decideConnect(fakeAd({ enabled: true, memberOf: [] }), 'anna')).toMatchObject({
      allow: false,
      reason: 'refused anna: not in mobilusers',
    });
    expect(await decideConnect(fakeAd(member, false), 'anna')).toMatchObject({ allow: false });
    expect(await decideConnect(fakeAd(member), 'otto')).toMatchObject({
      allow: false,
      reason: 'refused otto: no such account',
    });
    expect(await decideConnect(fakeAd(member), 'site-berlin*')).toMatchObject({ allow: false });
  });
});

describe('expiry warning mail', () => {
  it('names every certificate with its days and end date', () => {
    const cert = (name: string, kind: CertificateInfo['kind'], daysLeft: number): CertificateInfo => ({
      name,
      kind,
      serial: '01',
      subject: `/CN=${name}`,
      notAfter: new Date(Date.UTC(2027, 0, 1 + daysLeft)),
      status: 'valid',
      expiry: 'expiring',
      daysLeft,
      current: true,
    });
    const mail = renderWarningMail(
      'root@invis.firma.loc',
      ['chef@firma.de', 'it@firma.de'],
      [cert('anna', 'client', 3), cert('ca', 'ca', 12)],
    );
    expect(mail).toMatch(
      /^From: root@invis\.firma\.loc\nTo: chef@firma\.de, it@firma\.de\nSubject: invis VPN: 2 certificate/,
    );
    expect(mail).toContain('- anna (client): ends in 3 days, 2027-01-04\n- CA (ca): ends in 12 days, 2027-01-13\n');
  });
});
