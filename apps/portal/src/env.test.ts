import { describe, expect, it } from 'vitest';
import { certificateList, loadEnv } from './env';
import { PortalError } from './errors';

const base = {
  PORTAL_LDAP_URL: 'ldaps://dc.invis.test',
  PORTAL_LDAP_BIND: 'portal@invis.test',
  PORTAL_LDAP_PASSWORD_FILE: '/etc/invis/portal.pw',
  PORTAL_TRUSTED_PROXIES: '127.0.0.1',
};

describe('loadEnv', () => {
  it('fills defaults', () => {
    const env = loadEnv(base);
    expect(env.PORTAL_HOST).toBe('127.0.0.1');
    // loopback is not inside: behind the loopback TLS proxy it would be every visitor
    expect(env.PORTAL_INTERNAL_NETWORKS).toEqual(['192.168.220.0/24']);
    expect(env.PORTAL_TRUSTED_PROXIES).toEqual(['127.0.0.1']);
    expect(env.PORTAL_MOBILE_GROUP).toBe('mobilusers');
    expect(certificateList(env.PORTAL_CERT_FILES)).toEqual([{ name: 'ldap', file: '/etc/invis/certs/ldap-cert.pem' }]);
  });

  it('refuses plain HTTP off loopback and names every problem without values', () => {
    try {
      loadEnv({ ...base, PORTAL_HOST: '192.168.220.10', PORTAL_LDAP_URL: 'http://x', PORTAL_PORT: '99999' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PortalError);
      const msg = (e as PortalError).message;
      expect(msg).toContain('PORTAL_HOST');
      expect(msg).toContain('PORTAL_LDAP_URL');
      expect(msg).toContain('PORTAL_PORT');
      expect(msg).not.toContain('http://x');
    }
  });

  it('refuses plain HTTP on loopback without the TLS proxy as trusted proxy', () => {
    const { PORTAL_TRUSTED_PROXIES: _, ...noProxy } = base;
    expect(() => loadEnv(noProxy)).toThrow(/PORTAL_TRUSTED_PROXIES/);
    expect(loadEnv({ ...noProxy, PORTAL_TLS_CERT_FILE: '/c.pem', PORTAL_TLS_KEY_FILE: '/k.pem' }).PORTAL_HOST).toBe(
      '127.0.0.1',
    );
  });

  it('refuses names that only look like loopback and malformed networks', () => {
    expect(() => loadEnv({ ...base, PORTAL_HOST: '127.example.com' })).toThrow(/PORTAL_HOST/);
    expect(() => loadEnv({ ...base, PORTAL_INTERNAL_NETWORKS: '192.168.220.0/' })).toThrow(/PORTAL_INTERNAL_NETWORKS/);
    expect(() => loadEnv({ ...base, PORTAL_TRUSTED_PROXIES: 'proxy.lan' })).toThrow(/PORTAL_TRUSTED_PROXIES/);
  });

  it('wants both TLS files', () => {
    expect(() => loadEnv({ ...base, PORTAL_TLS_CERT_FILE: '/c.pem' })).toThrow(/PORTAL_TLS_KEY_FILE/);
  });

  it('takes an optional VPN PKI, and a CRL file to deploy only with it', () => {
    expect(loadEnv(base).PORTAL_PKI_DIR).toBeUndefined();
    const vpn = { PORTAL_PKI_DIR: '/var/lib/invis/pki/vpn', PORTAL_VPN_CRL_FILE: '/etc/openvpn/server/keys/crl.pem' };
    expect(loadEnv({ ...base, ...vpn })).toMatchObject(vpn);
    expect(() => loadEnv({ ...base, PORTAL_VPN_CRL_FILE: vpn.PORTAL_VPN_CRL_FILE })).toThrow(/PORTAL_VPN_CRL_FILE/);
  });
});
