// Every option the original invis server sends to clients (its 02_dhcp_initial.ldif, as the
// testbed's prepareOriginalInvis writes it into a real Samba AD DC) arrives in the rendered Kea
// and dhcpd configs, both daemons' checkers accept them, and a real client gets them from Kea.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAdClient, INVIS_SCHEMA } from '@invis/ad-client';
import { useTempDir } from '@invis/test-utils';
import {
  createDhcpLab,
  type DhcpLab,
  type DhcpLabInfo,
  type OriginalInvis,
  prepareOriginalInvis,
  run,
  type SambaDc,
  startKea,
  startSambaDc,
} from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDhcpDirectory,
  type DhcpDirectoryReadResult,
  keaConfigObject,
  keaDdnsPlan,
  renderDhcpdConf,
  renderKeaConfig,
  validateDhcpConfig,
} from '../../src/index';
import { labModel } from './lab-model';

// The iscDhcpOption values of the original's service object (02_dhcp_initial.ldif), as dhcpd
// sends them; domain-name is the DC's domain in the fixture.
const SENT = (domain: string): Array<[name: string, value: string]> => [
  ['domain-name', domain],
  ['domain-name-servers', '192.168.220.10'],
  ['broadcast-address', '192.168.220.255'],
  ['routers', '192.168.220.10'],
  ['netbios-name-servers', '192.168.220.10'],
  ['netbios-node-type', '8'],
  ['subnet-mask', '255.255.255.0'],
  ['smtp-server', '192.168.220.10'],
  ['ntp-servers', '192.168.220.10'],
];

describe('the original invis DHCP service in a real AD', () => {
  let dc: SambaDc;
  let orig: OriginalInvis;
  let read: DhcpDirectoryReadResult;
  const dir = useTempDir('invis-dhcp-orig-', { shared: true });

  beforeAll(async () => {
    dc = await startSambaDc();
    orig = await prepareOriginalInvis(dc.info, { schema: INVIS_SCHEMA });
    const ad = createAdClient({
      url: dc.info.ldapsUrl,
      bindDN: dc.info.adminDN,
      password: dc.info.adminPassword,
      ca: dc.info.caPem,
    });
    read = await createDhcpDirectory({ ad }).read();
  }, 240_000);

  afterAll(async () => {
    await dc?.stop();
  });

  it('carries every option the original sends into Kea option-data and dhcpd.conf', () => {
    const config = validateDhcpConfig({ ...read.config, interfaces: ['lo'] });
    const dhcp4 = keaConfigObject(config).Dhcp4;
    const subnet = (dhcp4.subnet4 as Array<{ 'option-data': unknown[] }>)[0];
    const kea = [...(dhcp4['option-data'] as unknown[]), ...(subnet?.['option-data'] ?? [])];
    const dhcpd = renderDhcpdConf(config);
    for (const [name, value] of SENT(orig.dnsDomain)) {
      expect(kea).toContainEqual({ name, data: value });
      const quoted = name === 'domain-name' ? `"${value}"` : value;
      expect(dhcpd).toMatch(new RegExp(`^\\s*option ${name} ${quoted.replaceAll('.', '\\.')};$`, 'm'));
    }
  });

  it('keeps the original DDNS statements for dhcpd and renders Kea with DDNS off, saying why', () => {
    const config = validateDhcpConfig({ ...read.config, interfaces: ['lo'] });
    expect(renderDhcpdConf(config)).toContain('ddns-update-style interim;\nignore client-updates;\n');
    // even with a kea-dhcp-ddns server declared: the original has no zone and key objects
    const dhcp4 = keaConfigObject(config, { ddnsServer: true }).Dhcp4;
    expect(dhcp4['ddns-send-updates']).toBe(false);
    expect(dhcp4['dhcp-ddns']).toEqual({ 'enable-updates': false });
    expect(dhcp4['ddns-override-client-update']).toBeUndefined();
    expect(keaDdnsPlan(config, { ddnsServer: true }).warnings).toHaveLength(2);
    // the option definitions (codes 121, 249) declare a format and send nothing: reported, not carried
    expect(read.warnings).toEqual([
      `${orig.dhcpServiceDN}: option rfc3442-classless-static-routes not imported`,
      `${orig.dhcpServiceDN}: option ms-classless-static-routes not imported`,
      `${orig.dhcpServiceDN}: "ddns-update-style interim" without a DNS zone and TSIG key object: no update can be sent; Kea renders with DDNS off`,
    ]);
  });

  it('renders configs that kea-dhcp4 -t and dhcpd -t accept', async () => {
    const config = validateDhcpConfig({ ...read.config, interfaces: ['lo'] });
    const kea = join(dir(), 'kea.conf');
    const dhcpd = join(dir(), 'dhcpd.conf');
    await writeFile(kea, renderKeaConfig(config, { leaseFile: join(dir(), 'leases.csv') }));
    await writeFile(dhcpd, renderDhcpdConf(config, { pingCheck: false }));
    await run('kea-dhcp4', ['-t', kea]);
    await run('dhcpd', ['-t', '-q', '-cf', dhcpd]);
  });
});

// udhcpc hands received options to its script as environment variables; unknown codes asked
// for with -O come as optNN=<hex>. This hook keeps the ones the test looks at.
const HOOK = `#!/bin/sh
[ "$1" = bound ] || exit 0
{ echo "subnet=$subnet"; echo "broadcast=$broadcast"; echo "opt69=$opt69"; echo "router=$router"; } > "$DHCP_OUT"
`;

describe('Kea hands the original options to a real client', () => {
  let lab: DhcpLab;
  let kea: Awaited<ReturnType<typeof startKea>>;

  beforeAll(async () => {
    lab = await createDhcpLab('dorig');
    const { info } = lab;
    const base = labModel(
      info,
      { mac: '02:00:5e:10:00:09', host: 20, hostname: 'pc1', comment: '-' },
      {
        interfaces: [info.serverIf],
      },
    );
    kea = await startKea({
      lab,
      config: (paths) =>
        renderKeaConfig(
          validateDhcpConfig({
            ...base,
            options: { ...base.options, smtpServers: [info.serverAddress] },
            subnets: (base.subnets ?? []).map((s) => ({
              ...s,
              options: { ...s.options, subnetMask: '255.255.255.0', broadcastAddress: `${info.net}.255` },
            })),
          }),
          { controlSocket: paths.controlSocket, leaseFile: paths.leaseFile, logOutput: 'stdout' },
        ),
    });
  });

  afterAll(async () => {
    await kea?.stop();
    await lab?.remove();
  });

  const ask = async (info: DhcpLabInfo): Promise<Record<string, string>> => {
    const hook = join(info.dir, 'orig-hook.sh');
    const out = join(info.dir, 'orig-lease.env');
    await writeFile(hook, HOOK);
    await chmod(hook, 0o755);
    await run('ip', ['-n', info.clientNetns, 'link', 'set', 'dev', info.clientIf, 'address', '02:00:5e:10:00:09']);
    await run(
      'ip',
      [
        'netns',
        'exec',
        info.clientNetns,
        'busybox',
        'udhcpc',
        ...['-i', info.clientIf, '-f', '-q', '-n', '-t', '5', '-T', '1'],
        ...['-O', 'subnet', '-O', 'broadcast', '-O', '69', '-s', hook],
      ],
      { env: { DHCP_OUT: out } },
    );
    const text = await readFile(out, 'utf8');
    return Object.fromEntries(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  };

  it('receives smtp-server (69), subnet-mask (1) and broadcast-address (28)', async () => {
    const info = lab.info;
    const got = await ask(info);
    const hex = info.serverAddress
      .split('.')
      .map((n) => Number(n).toString(16).padStart(2, '0'))
      .join('');
    expect(got).toEqual({
      subnet: '255.255.255.0',
      broadcast: `${info.net}.255`,
      opt69: expect.stringMatching(new RegExp(`^${hex}$`, 'i')),
      router: info.serverAddress,
    });
  });
});
