// Lease files with event blocks (`on expiry { … }`, `on commit`, `on release`): dhcpd writes
// them when a config's `on commit` sets one for the lease, and reads them back on start-up.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner, runChecked } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { type DhcpdServer, requestDhcpLease, startDhcpd } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDhcpdLeases, renderDhcpdConf, validateDhcpConfig } from '../../src/index';
import { labModel } from './lab-model';

const MAC = '02:00:5e:20:00:31';

// Statements executed at commit time; the inner `on` blocks are stored with the lease.
const EVENTS = `
on commit {
  set leased = binary-to-ascii (10, 8, ".", leased-address);
  on expiry {
    if exists agent.circuit-id {
      log (info, concat ("expired relayed ", leased));
    } else {
      log (info, concat ("expired ", leased));
    }
  }
  on release { log (info, "released {not a block}"); }
}
`;

describe('dhcpd lease files with event blocks', () => {
  let server: DhcpdServer;
  const dir = useTempDir('invis-dhcpd-leases-', { shared: true });

  beforeAll(async () => {
    server = await startDhcpd({
      config: (lab) =>
        renderDhcpdConf(
          validateDhcpConfig(labModel(lab, { mac: '02:00:5e:20:00:30', host: 11, hostname: 'nas', comment: 'Keller' })),
          {
            pingCheck: false,
          },
        ) + EVENTS,
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('reads the lease file dhcpd wrote with on expiry and on release blocks', async () => {
    const lease = await requestDhcpLease(server.info, { mac: MAC });
    const text = await readFile(server.info.leaseFile, 'utf8');
    expect(text).toMatch(/^ {2}on expiry \{$/m);
    expect(text).toMatch(/^ {2}on release \{$/m);
    expect(parseDhcpdLeases(text, { now: new Date() }).find((l) => l.mac === MAC)).toMatchObject({
      ip: lease.ip,
      state: 'active',
    });
  });

  it('reads a hand-written file that dhcpd -T accepts, skipping the blocks', async () => {
    const text = `lease 10.250.0.101 {
  starts 4 2099/12/31 10:00:00;
  ends 4 2099/12/31 11:00:00;
  binding state active;
  next binding state free;
  hardware ethernet 02:00:00:00:00:43;
  set vendor-class-identifier = "MSFT 5.0";
  on expiry {
    if exists agent.circuit-id {
      log (info, "relayed");
    } else {
      log (info, "direct } {");
    }
  }
  on commit or release { log (info, "done"); }
  client-hostname "pc1";
}
lease 10.250.0.102 {
  starts 4 2099/12/31 10:00:00;
  ends 4 2099/12/31 11:00:00;
  binding state active;
  hardware ethernet 02:00:00:00:00:44;
}
`;
    const conf = join(dir(), 'dhcpd.conf');
    const leases = join(dir(), 'dhcpd.leases');
    await writeFile(conf, 'subnet 10.250.0.0 netmask 255.255.255.0 { range 10.250.0.100 10.250.0.150; }\n');
    await writeFile(leases, text);
    // dhcpd -T exits 0 even for a broken file; its verdict is in the output.
    const check = await runChecked(createExecaRunner(), 'dhcpd', [
      '-T',
      '-cf',
      conf,
      '-lf',
      leases,
      '-pf',
      join(dir(), 'dhcpd.pid'),
    ]);
    expect(check.output).toContain('Wrote 2 leases to leases file.');
    expect(check.output).not.toMatch(/ line \d+: /);
    expect(parseDhcpdLeases(text)).toEqual([
      {
        ip: '10.250.0.101',
        mac: '02:00:00:00:00:43',
        hostname: 'pc1',
        starts: new Date('2099-12-31T10:00:00Z'),
        ends: new Date('2099-12-31T11:00:00Z'),
        state: 'active',
      },
      {
        ip: '10.250.0.102',
        mac: '02:00:00:00:00:44',
        starts: new Date('2099-12-31T10:00:00Z'),
        ends: new Date('2099-12-31T11:00:00Z'),
        state: 'active',
      },
    ]);
  });
});
