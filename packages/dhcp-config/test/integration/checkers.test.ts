// Random valid models (the unit tests' arbitraries) rendered and handed to the daemons' own
// checkers: every render must be accepted by kea-dhcp4 -t and dhcpd -t.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { run } from '@invis/testbed';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { renderDhcpdConf, renderKeaConfig, validateDhcpConfig } from '../../src/index';
import { arbConfig } from '../../src/testing/arbitraries';

describe('renders accepted by the real checkers', () => {
  const dir = useTempDir('invis-dhcp-check-', { shared: true });

  it('kea-dhcp4 -t and dhcpd -t accept random valid models', async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig, async (input) => {
        // Kea checks that interfaces exist; lo does everywhere.
        const config = validateDhcpConfig({ ...input, interfaces: ['lo'] });
        const kea = join(dir(), 'kea.conf');
        const dhcpd = join(dir(), 'dhcpd.conf');
        await writeFile(
          kea,
          renderKeaConfig(config, { leaseFile: join(dir(), 'leases.csv'), controlSocket: join(dir(), 'sock') }),
        );
        await writeFile(dhcpd, renderDhcpdConf(config, { pingCheck: false }));
        await run('kea-dhcp4', ['-t', kea]);
        await run('dhcpd', ['-t', '-q', '-cf', dhcpd]);
      }),
      { numRuns: 25 },
    );
  });
});
