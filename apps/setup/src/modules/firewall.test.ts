import { describe, expect, it } from 'vitest';
import { validateAnswers } from '../answers';
import { firewallLayout } from './firewall';

const base = {
  hostname: 'invis',
  domain: 'firma.loc',
  interfaces: { intern: 'lan0', extern: 'wan0' },
  lan: { address: '10.20.30.40/16' },
  vpn: { network: '192.168.166.0/24' },
  ssh: { port: 55022 },
  portal: { port: 56443 },
  openvpn: { port: 57194 },
};

describe('firewall layout', () => {
  it('puts the answers’ interfaces into external/internal, opens only the random ports outside', () => {
    const config = firewallLayout(validateAnswers(base, 'en'));
    const external = config.zones.find((z) => z.name === 'external');
    const internal = config.zones.find((z) => z.name === 'internal');
    expect(config.defaultZone).toBe('external');
    expect(external).toMatchObject({ interfaces: ['wan0'], target: 'DROP', masquerade: true });
    expect(external?.services).toEqual(['invis-ssh', 'invis-portal', 'invis-openvpn']);
    expect(internal?.interfaces).toEqual(['lan0', 'vpn', 'vpn-sub']);
    // The LAN services, only inside.
    for (const service of [
      'dns',
      'dhcp',
      'ntp',
      'ldap',
      'ldaps',
      'kerberos',
      'samba-ad-dc',
      'imaps',
      'smtp-submission',
    ]) {
      expect(internal?.services).toContain(service);
      expect(external?.services).not.toContain(service);
    }
    const ports = (name: string) => config.services.find((s) => s.name === name)?.ports;
    expect(ports('invis-ssh')).toEqual([{ port: 55022, protocol: 'tcp' }]);
    expect(ports('invis-portal')).toEqual([{ port: 56443, protocol: 'tcp' }]);
    expect(ports('invis-openvpn')).toEqual([
      { port: 57194, protocol: 'udp' },
      { port: 57195, protocol: 'udp' },
    ]);
    // Samba's RPC ports of this server (smb.conf: 61000–61999), inside only.
    expect(ports('samba-ad-dc')).toContainEqual({ port: 61000, to: 61999, protocol: 'tcp' });
  });

  it('opens the WebDAV port inside only, outside too when answered', () => {
    const inside = firewallLayout(validateAnswers(base, 'en'));
    expect(inside.services.find((s) => s.name === 'invis-webdav')?.ports).toEqual([{ port: 8444, protocol: 'tcp' }]);
    expect(inside.zones.find((z) => z.name === 'internal')?.services).toContain('invis-webdav');
    expect(inside.zones.find((z) => z.name === 'external')?.services).not.toContain('invis-webdav');
    const outside = firewallLayout(validateAnswers({ ...base, webdav: { port: 58444, external: true } }, 'en'));
    expect(outside.services.find((s) => s.name === 'invis-webdav')?.ports).toEqual([{ port: 58444, protocol: 'tcp' }]);
    expect(outside.zones.find((z) => z.name === 'external')?.services).toContain('invis-webdav');
  });

  it('keeps the OpenVPN ports closed and the tun devices out without a VPN network', () => {
    const { vpn: _, ...noVpn } = base;
    const config = firewallLayout(validateAnswers(noVpn, 'en'));
    expect(config.zones.find((z) => z.name === 'external')?.services).toEqual(['invis-ssh', 'invis-portal']);
    expect(config.zones.find((z) => z.name === 'internal')?.interfaces).toEqual(['lan0']);
  });

  it('asks for init when the answers predate the portal and OpenVPN ports', () => {
    const { portal: _p, openvpn: _o, ...old } = base;
    expect(() => firewallLayout(validateAnswers(old, 'en'))).toThrow(
      expect.objectContaining({
        code: 'SETUP_INVALID_ANSWERS',
        message: expect.stringContaining('portal.port: missing'),
      }),
    );
  });

  it('refuses a port that collides with a fixed invis port', () => {
    expect(() => firewallLayout(validateAnswers({ ...base, ssh: { port: 22 } }, 'en'))).toThrow(
      expect.objectContaining({ code: 'FW_PORT_COLLISION' }),
    );
  });
});
