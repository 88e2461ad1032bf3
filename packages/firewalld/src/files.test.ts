import { describe, expect, it } from 'vitest';
import { FirewalldError, firewalldErrorName, firewalldExitCode, isFirewalldError } from './errors';
import {
  diffFiles,
  normalizeConfig,
  parseConfigFiles,
  parseFirewalldConf,
  patchFirewalldConf,
  renderConfigFiles,
} from './files';
import { invisFirewallLayout } from './invis';

const conf = '# comment\nDefaultZone=public\nCleanupOnExit=yes\nLogDenied=off\n';

describe('firewalld.conf', () => {
  it('patches only DefaultZone and LogDenied', () => {
    const out = patchFirewalldConf(conf, { defaultZone: 'external', logDenied: 'all' });
    expect(out).toBe('# comment\nDefaultZone=external\nCleanupOnExit=yes\nLogDenied=all\n');
    expect(parseFirewalldConf(out)).toEqual({ defaultZone: 'external', logDenied: 'all' });
    expect(patchFirewalldConf('A=1', { defaultZone: 'x', logDenied: 'off' })).toBe(
      'A=1\nDefaultZone=x\nLogDenied=off\n',
    );
    expect(parseFirewalldConf('')).toEqual({ defaultZone: 'public', logDenied: 'off' });
  });
});

describe('config files', () => {
  it('renders a whole layout and imports it back unchanged', () => {
    const c = invisFirewallLayout({ ports: { ssh: 52022, portal: 53443, openvpn: 54194 } });
    const files = renderConfigFiles(c, conf);
    expect([...files.keys()].sort()).toEqual([
      'firewalld.conf',
      'policies/allowZoneForward.xml',
      'services/invis-openvpn.xml',
      'services/invis-portal.xml',
      'services/invis-ssh.xml',
      'services/keycloak.xml',
      'services/nfs-kombi.xml',
      'services/samba-ad-dc.xml',
      'zones/external.xml',
      'zones/internal.xml',
    ]);
    const back = parseConfigFiles(new Map([...files, ['zones/external.xml.old', 'junk'], ['helpers/x.xml', 'junk']]));
    expect(diffFiles(files, renderConfigFiles(back, conf), '/etc/firewalld')).toEqual([]);
  });

  it('shows what changes between an imported server and the model', () => {
    const c = invisFirewallLayout({ ports: { ssh: 52022, portal: 53443, openvpn: 54194 } });
    const before = renderConfigFiles(c, conf);
    const next = invisFirewallLayout({ ports: { ssh: 52022, portal: 53444, openvpn: 54194 }, letsEncrypt: false });
    next.zones.pop();
    const changes = diffFiles(before, renderConfigFiles(next, conf), '/etc/firewalld');
    expect(changes.map((ch) => `${ch.action} ${ch.path}`)).toEqual([
      'update /etc/firewalld/services/invis-portal.xml',
      'update /etc/firewalld/zones/external.xml',
      'delete /etc/firewalld/zones/internal.xml',
    ]);
    expect(changes[0]?.diff).toMatch(
      /^--- a\/etc\/firewalld\/services\/invis-portal\.xml\n\+\+\+ b\/etc\/firewalld\/services\/invis-portal\.xml\n@@ /,
    );
    expect(changes[0]?.diff).toContain(
      '-  <port port="53443" protocol="tcp"/>\n+  <port port="53444" protocol="tcp"/>',
    );
    expect(changes[2]?.diff).toMatch(/^--- a\/etc\/firewalld\/zones\/internal\.xml\n\+\+\+ \/dev\/null\n/);
  });

  it('rejects duplicate names, shared interfaces and unknown zones', () => {
    const dup = (): unknown =>
      normalizeConfig({
        defaultZone: 'a',
        zones: [
          { name: 'a', interfaces: ['eth0'] },
          { name: 'b', interfaces: ['eth0'] },
        ],
      });
    expect(dup).toThrow(expect.objectContaining({ code: 'FW_INVALID_MODEL' }));
    expect(normalizeConfig({ defaultZone: 'public' }).zones).toEqual([]);
    expect(() => normalizeConfig({ defaultZone: 'x', zones: [] })).toThrow(
      expect.objectContaining({ code: 'FW_UNKNOWN_REFERENCE' }),
    );
    expect(() =>
      normalizeConfig({
        defaultZone: 'a',
        zones: [{ name: 'a' }],
        policies: [{ name: 'p', ingressZones: ['ANY'], egressZones: ['b'] }],
      }),
    ).toThrow(expect.objectContaining({ code: 'FW_UNKNOWN_REFERENCE' }));
    expect(() => normalizeConfig({ defaultZone: 'a-zone-name-too-long' })).toThrow(
      expect.objectContaining({ code: 'FW_INVALID_MODEL' }),
    );
  });
});

describe('errors', () => {
  it('maps exit codes both ways and serialises safely', () => {
    expect(firewalldErrorName(102)).toBe('INVALID_PORT');
    expect(firewalldErrorName(1)).toBeUndefined();
    expect(firewalldExitCode('PARSE_ERROR')).toBe(28);
    const e = new FirewalldError('FW_INVALID_PORT', 'bad', {
      details: { exitCode: 102 },
      cause: new Error('secret stack'),
    });
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      code: 'FW_INVALID_PORT',
      message: 'bad',
      details: { exitCode: 102 },
    });
    expect(isFirewalldError(e)).toBe(true);
    expect(isFirewalldError(new Error('bad'))).toBe(false);
  });
});
