// The VPN bundle and transfer settings of the environment.
import { describe, expect, it } from 'vitest';
import { loadEnv } from './env';

const base = {
  PORTAL_LDAP_URL: 'ldaps://dc.invis.test',
  PORTAL_LDAP_BIND: 'portal@invis.test',
  PORTAL_LDAP_PASSWORD_FILE: '/etc/invis/portal.pw',
  PORTAL_TRUSTED_PROXIES: '127.0.0.1',
};

describe('VPN and transfer settings', () => {
  it('default to no bundles without self-service and no transfer area', () => {
    const env = loadEnv(base);
    expect(env.PORTAL_VPN_REMOTE).toBeUndefined();
    expect(env.PORTAL_VPN_SELF_SERVICE).toBe(false);
    expect(env.PORTAL_TRANSFER_DIR).toBeUndefined();
    expect(env.PORTAL_TRANSFER_MAX_MB).toBe(100);
    expect(env.PORTAL_TRANSFER_SCANNER).toBe('none');
  });

  it('reads the server the bundles dial and the transfer area', () => {
    const env = loadEnv({
      ...base,
      PORTAL_PKI_DIR: '/var/lib/invis/pki',
      PORTAL_VPN_REMOTE: 'vpn.muster.de',
      PORTAL_VPN_PORT: '51194',
      PORTAL_VPN_TLS_CRYPT_V2_KEY: '/var/lib/invis/pki/tc-v2-server.key',
      PORTAL_VPN_SELF_SERVICE: 'true',
      PORTAL_TRANSFER_DIR: '/srv/shares/portal',
      PORTAL_TRANSFER_SCANNER: 'clamdscan',
    });
    expect(env).toMatchObject({
      PORTAL_VPN_PORT: 51194,
      PORTAL_VPN_SELF_SERVICE: true,
      PORTAL_TRANSFER_SCANNER: 'clamdscan',
    });
  });

  it('refuses two tls-crypt keys, bundles without a PKI, an unknown scanner and a remote with a space', () => {
    const bad = {
      ...base,
      PORTAL_VPN_REMOTE: 'vpn.muster.de',
      PORTAL_VPN_TLS_CRYPT_V2_KEY: '/a',
      PORTAL_VPN_TLS_CRYPT_KEY: '/b',
    };
    expect(() => loadEnv(bad)).toThrow(/PORTAL_VPN_TLS_CRYPT_KEY: set one tls-crypt variant/);
    expect(() => loadEnv(bad)).toThrow(/PORTAL_VPN_REMOTE: VPN bundles need PORTAL_PKI_DIR/);
    expect(() => loadEnv({ ...base, PORTAL_TRANSFER_SCANNER: 'sh -c' })).toThrow(/PORTAL_TRANSFER_SCANNER/);
    expect(() => loadEnv({ ...base, PORTAL_PKI_DIR: '/p', PORTAL_VPN_REMOTE: 'a b' })).toThrow(/PORTAL_VPN_REMOTE/);
  });
});
