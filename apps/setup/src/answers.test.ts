import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { parseAnswers, renderAnswers, validateAnswers } from './answers';
import { isSetupError } from './errors';

const example = parseYaml(readFileSync(join(import.meta.dirname, '../examples/answers.yaml'), 'utf8')) as Record<
  string,
  unknown
>;
const good: Record<string, unknown> = { ...example, ssh: { port: 55022, passwordAuthentication: false } };

function issuesOf(data: unknown, lang: 'de' | 'en' = 'en'): string[] {
  try {
    validateAnswers(data, lang);
  } catch (error) {
    if (isSetupError(error) && error.code === 'SETUP_INVALID_ANSWERS') return error.details.issues as string[];
    throw error;
  }
  throw new Error('answers were accepted');
}

describe('answers', () => {
  it('accepts the example file once a port is set, with password login off by default', () => {
    const answers = validateAnswers({ ...good, ssh: { port: 55022 } }, 'en');
    expect(answers.ssh).toEqual({ port: 55022, passwordAuthentication: false });
    expect(answers.interfaces).toEqual({ intern: 'intern', extern: 'extern' });
  });

  it('survives render → parse unchanged', () => {
    const answers = validateAnswers(good, 'de');
    expect(parseAnswers(renderAnswers(answers), 'de')).toEqual(answers);
  });

  it.each([
    ['hostname', { hostname: 'a-very-long-hostname' }, 'hostname: host name'],
    ['hostname', { hostname: '-x' }, 'hostname: host name'],
    ['domain', { domain: 'firma' }, 'domain: domain'],
    ['domain', { domain: 'firma.local' }, 'domain: domain'],
    ['extern', { interfaces: { intern: 'eth0', extern: 'eth0' } }, 'interfaces.extern: intern and extern'],
    ['nic', { interfaces: { intern: 'eth0; rm', extern: 'eth1' } }, 'interfaces.intern: interface name'],
    ['lan', { lan: { address: '192.168.220.0/24' } }, 'lan.address: LAN address'],
    ['lan', { lan: { address: '192.168.220.255/24' } }, 'lan.address: LAN address'],
    ['lan', { lan: { address: '192.168.220.10' } }, 'lan.address: LAN address'],
    ['vpn', { vpn: { network: '192.168.166.1/24' } }, 'vpn.network: VPN network'],
    ['vpn', { vpn: { network: '192.168.220.128/25' } }, 'vpn.network: VPN network overlaps'],
    ['portal port', { portal: { port: 61500 } }, 'portal.port: port: 1024–65535'],
    ['portal port', { portal: { port: 443 } }, 'portal.port: port: 1024–65535'],
    ['openvpn port', { openvpn: { port: 60999 } }, 'openvpn.port: OpenVPN port'],
    ['openvpn port', { openvpn: { port: 65535 } }, 'openvpn.port: OpenVPN port'],
    ['port clash', { portal: { port: 55022 } }, 'portal.port: SSH, portal and OpenVPN ports'],
    ['port clash', { portal: { port: 57001 }, openvpn: { port: 57000 } }, 'portal.port: SSH, portal and OpenVPN'],
    ['webdav port clash', { webdav: { port: 56443 }, portal: { port: 56443 } }, 'webdav.port: WebDAV port'],
    ['webdav port', { webdav: { port: 443 } }, 'webdav.port: port'],
    ['nfs security', { nfs: { enabled: true, security: 'none' } }, 'nfs.security'],
    ['dhcp', { dhcp: { server: 'dnsmasq' } }, 'dhcp.server'],
    [
      'ddns zone',
      { ddns: { fqdn: 'gw.example.org', zone: 'dyn.example.org', server: '203.0.113.53' } },
      'ddns.fqdn: the DDNS name',
    ],
    [
      'ddns plain http echo',
      {
        ddns: {
          fqdn: 'gw.dyn.example.org',
          zone: 'dyn.example.org',
          server: '203.0.113.53',
          source: { type: 'https', url: 'http://echo.example/' },
        },
      },
      'ddns.source.url',
    ],
    ['port', { ssh: { port: 61234 } }, 'ssh.port: SSH port'],
    ['port', { ssh: { port: 70000 } }, 'ssh.port: SSH port'],
  ])('names the bad field (%s)', (_, change, expected) => {
    const issues = issuesOf({ ...good, ...change });
    expect(issues.some((i) => i.startsWith(expected))).toBe(true);
  });

  it('refuses unknown keys, so no password can be stored in the answers', () => {
    const issues = issuesOf({ ...good, ssh: { port: 55022, password: 'geheim' } });
    expect(issues.join('\n')).toMatch(/^ssh: .*password/m);
  });

  it('lists every bad field at once, in German by default', () => {
    const issues = issuesOf({ ...good, hostname: 'X_Y', lan: { address: 'x' } }, 'de');
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(/^hostname: Hostname: 1–15 Zeichen/);
    expect(issues[1]).toMatch(/^lan\.address: LAN-Adresse/);
  });

  it('reports a missing field and a wrong type with zod’s localized message', () => {
    const { domain: _, ...withoutDomain } = good;
    expect(issuesOf(withoutDomain, 'de')[0]).toMatch(/^domain: /);
    expect(issuesOf({ ...good, ssh: { port: '22' } })[0]).toMatch(/^ssh\.port: .*number/i);
  });

  it('turns YAML syntax errors into SETUP_INVALID_ANSWERS', () => {
    expect(() => parseAnswers('hostname: [unclosed', 'en')).toThrow(
      expect.objectContaining({ code: 'SETUP_INVALID_ANSWERS' }),
    );
    expect(() => parseAnswers(stringify([1, 2]), 'en')).toThrow(
      expect.objectContaining({ code: 'SETUP_INVALID_ANSWERS' }),
    );
  });
});

describe('answers of the firewall, DHCP and DDNS modules', () => {
  it('defaults: Kea, no DDNS; a DDNS section gets the https echo, port 53 and the key file', () => {
    const answers = validateAnswers(good, 'en');
    expect(answers.dhcp).toEqual({ server: 'kea' });
    expect(answers.ddns).toBeUndefined();
    const ddns = validateAnswers(
      { ...good, ddns: { fqdn: 'gw.dyn.example.org', zone: 'dyn.example.org', server: '203.0.113.53' } },
      'en',
    ).ddns;
    expect(ddns).toEqual({
      fqdn: 'gw.dyn.example.org',
      zone: 'dyn.example.org',
      server: '203.0.113.53',
      port: 53,
      keyFile: '/etc/invis/ddns/tsig.key',
      source: { type: 'https', url: 'https://api.ipify.org/' },
    });
  });

  it('keeps an answers file saved before the portal and OpenVPN ports existed valid', () => {
    const { portal: _p, openvpn: _o, dhcp: _d, ...old } = good;
    expect(validateAnswers(old, 'en')).toMatchObject({ portal: {}, openvpn: {}, dhcp: { server: 'kea' } });
  });
});
