import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOvpnPkiError } from './errors';
import { cidrToNetmask } from './net';
import {
  type ClientBundle,
  GENERATED_MARKER,
  renderCcdEntry,
  renderClientBundle,
  renderServerConfig,
  type ServerConfigInput,
} from './openvpn-config';

const files = {
  ca: '/etc/openvpn/keys/ca.crt',
  cert: '/etc/openvpn/keys/vpn.example.de.crt',
  key: '/etc/openvpn/keys/vpn.example.de.key',
  crl: '/etc/openvpn/keys/crl.pem',
  tlsCrypt: '/etc/openvpn/keys/tc.key',
};

const roadWarrior: ServerConfigInput = {
  role: 'road-warrior',
  port: 51194,
  network: '192.168.166.0/24',
  files,
  ifconfigPoolPersist: '/var/lib/openvpn/ipp.txt',
  statusFile: '/run/openvpn/invis-server.status',
  push: { routes: ['192.168.220.0/24'], dns: ['192.168.220.10'], domain: 'example.de', wins: ['192.168.220.10'] },
};

const site: ServerConfigInput = {
  role: 'site',
  device: 'vpn-sub',
  port: 51195,
  network: '192.168.167.0/24',
  files,
  clientConfigDir: '/etc/openvpn/ccd',
  push: { routes: ['192.168.220.0/24'] },
  sites: [
    { name: 'branch-hamburg', subnets: ['192.168.221.0/24'] },
    { name: 'branch-berlin', subnets: ['192.168.222.0/24', '10.50.0.0/16'] },
  ],
};

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isOvpnPkiError(e, 'PKI_INVALID_INPUT')) return e.message;
    throw e;
  }
  throw new Error('expected PKI_INVALID_INPUT');
}

describe('renderServerConfig', () => {
  it('renders the road-warrior server', () => {
    expect(renderServerConfig(roadWarrior)).toBe(`${GENERATED_MARKER}
# road-warrior server
port 51194
proto udp
dev vpn
dev-type tun
topology subnet
server 192.168.166.0 255.255.255.0
ifconfig-pool-persist /var/lib/openvpn/ipp.txt
ca /etc/openvpn/keys/ca.crt
cert /etc/openvpn/keys/vpn.example.de.crt
key /etc/openvpn/keys/vpn.example.de.key
dh none
tls-crypt /etc/openvpn/keys/tc.key
crl-verify /etc/openvpn/keys/crl.pem
remote-cert-tls client
tls-version-min 1.2
data-ciphers AES-256-GCM:CHACHA20-POLY1305
push "route 192.168.220.0 255.255.255.0"
push "dhcp-option DNS 192.168.220.10"
push "dhcp-option DOMAIN example.de"
push "dhcp-option WINS 192.168.220.10"
push "dhcp-option NBT 8"
keepalive 10 60
persist-key
persist-tun
user nobody
group nogroup
status /run/openvpn/invis-server.status 10
explicit-exit-notify 1
verb 3
`);
  });

  it('renders the site server with routes, ccd and client-to-client', () => {
    const text = renderServerConfig(site);
    expect(text).toContain('dev vpn-sub\n');
    expect(text).toContain('client-config-dir /etc/openvpn/ccd\n');
    expect(text).toContain(
      'route 192.168.221.0 255.255.255.0\nroute 192.168.222.0 255.255.255.0\nroute 10.50.0.0 255.255.0.0\nclient-to-client\n',
    );
    expect(renderServerConfig({ ...site, siteToSite: false })).not.toContain('client-to-client');
  });

  it('renders tls-crypt-v2 and tcp without explicit-exit-notify', () => {
    const text = renderServerConfig({
      ...roadWarrior,
      proto: 'tcp',
      files: { ...files, tlsCrypt: undefined, tlsCryptV2: '/k/v2.key' },
      user: null,
      group: null,
    });
    expect(text).toContain('tls-crypt-v2 /k/v2.key\n');
    expect(renderServerConfig({ ...roadWarrior, files: { ...files, extraCerts: '/k/cross.crt' } })).toContain(
      'key /etc/openvpn/keys/vpn.example.de.key\nextra-certs /k/cross.crt\ndh none\n',
    );
    expect(text).not.toMatch(/explicit-exit-notify|^user |^group /m);
  });

  it('rejects bad input with typed errors', () => {
    expect(invalid(() => renderServerConfig({ ...roadWarrior, network: '192.168.166.1/24' }))).toMatch(/host bits/);
    expect(invalid(() => renderServerConfig({ ...roadWarrior, files: { ...files, tlsCryptV2: '/x' } }))).toMatch(
      /exactly one/,
    );
    expect(invalid(() => renderServerConfig({ ...roadWarrior, files: { ...files, crl: '/a b/crl.pem' } }))).toMatch(
      /path/,
    );
    expect(invalid(() => renderServerConfig({ ...roadWarrior, push: { domain: 'exa mple.de\npush x' } }))).toMatch(
      /DNS/,
    );
    expect(invalid(() => renderServerConfig({ ...roadWarrior, sites: site.sites }))).toMatch(/role "site"/);
    expect(
      invalid(() => renderServerConfig({ ...site, sites: [{ name: 'a', subnets: ['192.168.167.128/25'] }] })),
    ).toMatch(/overlaps 192.168.167.0\/24/);
    expect(invalid(() => renderServerConfig({ ...site, clientConfigDir: undefined }))).toMatch(/clientConfigDir/);
    expect(invalid(() => renderServerConfig({ ...roadWarrior, port: 70000 }))).toMatch(/port/);
  });
});

describe('renderCcdEntry', () => {
  it('routes the site subnets to the site and pushes the other sites', () => {
    expect(renderCcdEntry(site, 'branch-hamburg')).toBe(`${GENERATED_MARKER}
# site branch-hamburg
iroute 192.168.221.0 255.255.255.0
push "route 192.168.222.0 255.255.255.0"
push "route 10.50.0.0 255.255.0.0"
`);
    expect(renderCcdEntry({ ...site, siteToSite: false }, 'branch-berlin')).toBe(`${GENERATED_MARKER}
# site branch-berlin
iroute 192.168.222.0 255.255.255.0
iroute 10.50.0.0 255.255.0.0
`);
    expect(invalid(() => renderCcdEntry(site, 'nowhere'))).toMatch(/no site named/);
  });
});

const pem = (label: string, body = 'QUJD'): string => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
const bundle: ClientBundle = {
  name: 'anna.laptop',
  remotes: [{ host: 'vpn.example.de', port: 51194 }],
  serverName: 'vpn.example.de',
  caPem: pem('CERTIFICATE'),
  certPem: `Certificate:\n    Data: text dump openssl x509 -text adds\n${pem('CERTIFICATE', 'Q0VSVA==')}`,
  keyPem: pem('PRIVATE KEY', 'S0VZ'),
  tlsCrypt: `#\n# 2048 bit OpenVPN static key\n#\n${pem('OpenVPN Static key V1', 'abcd')}`,
};

describe('renderClientBundle', () => {
  it('renders an inline bundle with the real remote and port', () => {
    expect(renderClientBundle(bundle)).toBe(`${GENERATED_MARKER}
# client anna.laptop
client
dev tun
remote vpn.example.de 51194 udp
resolv-retry infinite
nobind
persist-key
persist-tun
remote-cert-tls server
verify-x509-name vpn.example.de name
tls-version-min 1.2
data-ciphers AES-256-GCM:CHACHA20-POLY1305
explicit-exit-notify 1
verb 3
<ca>
-----BEGIN CERTIFICATE-----
QUJD
-----END CERTIFICATE-----
</ca>
<cert>
-----BEGIN CERTIFICATE-----
Q0VSVA==
-----END CERTIFICATE-----
</cert>
<key>
-----BEGIN PRIVATE KEY-----
S0VZ
-----END PRIVATE KEY-----
</key>
<tls-crypt>
-----BEGIN OpenVPN Static key V1-----
abcd
-----END OpenVPN Static key V1-----
</tls-crypt>
`);
  });

  it('supports several remotes and tls-crypt-v2', () => {
    const text = renderClientBundle({
      ...bundle,
      remotes: [
        { host: '203.0.113.7', port: 51194 },
        { host: 'vpn.example.de', port: 443, proto: 'tcp' },
      ],
      tlsCrypt: undefined,
      tlsCryptV2: pem('OpenVPN tls-crypt-v2 client key'),
    });
    expect(text).toContain('remote 203.0.113.7 51194 udp\nremote vpn.example.de 443 tcp\nremote-random-hostname\n');
    expect(text).not.toContain('explicit-exit-notify');
    expect(text).toContain('<tls-crypt-v2>\n-----BEGIN OpenVPN tls-crypt-v2 client key-----');
  });

  it('rejects injection attempts and missing material', () => {
    expect(
      invalid(() => renderClientBundle({ ...bundle, remotes: [{ host: 'x\nscript-security 3', port: 1 }] })),
    ).toMatch(/remotes/);
    expect(invalid(() => renderClientBundle({ ...bundle, serverName: 'a b' }))).toMatch(/serverName/);
    expect(invalid(() => renderClientBundle({ ...bundle, keyPem: 'nope' }))).toMatch(/keyPem/);
    expect(invalid(() => renderClientBundle({ ...bundle, remotes: [] }))).toMatch(/remotes/);
    expect(invalid(() => renderClientBundle({ ...bundle, tlsCrypt: undefined }))).toMatch(/exactly one/);
  });
});

describe('cidrToNetmask', () => {
  it('converts every prefix length', () => {
    expect(cidrToNetmask('10.0.0.0/8')).toBe('10.0.0.0 255.0.0.0');
    expect(cidrToNetmask('0.0.0.0/0')).toBe('0.0.0.0 0.0.0.0');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 32 }), (bits) => {
        const mask = cidrToNetmask(`0.0.0.0/${bits}`).split(' ')[1] ?? '';
        const ones = mask
          .split('.')
          .map((o) => Number(o).toString(2).padStart(8, '0'))
          .join('');
        expect(ones).toBe('1'.repeat(bits) + '0'.repeat(32 - bits));
      }),
    );
  });
});

describe('junk input', () => {
  it('gives PKI_INVALID_INPUT, never a crash', () => {
    const typed = (fn: () => unknown): void => {
      try {
        fn();
      } catch (e) {
        if (!isOvpnPkiError(e, 'PKI_INVALID_INPUT')) throw e;
      }
    };
    fc.assert(
      fc.property(fc.anything(), fc.string(), (junk, name) => {
        typed(() => renderServerConfig(junk as ServerConfigInput));
        typed(() => renderClientBundle(junk as ClientBundle));
        typed(() => renderCcdEntry(site, name));
        typed(() => renderClientBundle({ ...bundle, name, serverName: name }));
        typed(() => renderServerConfig({ ...roadWarrior, network: name }));
      }),
    );
  });
});
