import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { processesWithArgument, startSambaDc, TEST_ADMIN_PASSWORD } from '../../src/index';

describe('Samba DC teardown', () => {
  it('leaves no process behind, including the RPC helpers smbd starts in their own session', async () => {
    const dc = await startSambaDc();
    const { address, smbConf } = dc.info;
    // An SMB share listing makes smbd start samba-dcerpcd + rpcd_* on demand. winbindd needs a
    // few seconds after LDAPS is ready before SMB logons work.
    let listing = '';
    for (let i = 0; i < 40 && !/IPC\$/.test(listing); i++) {
      const r = await execa('smbclient', ['-L', address, '-U', `INVIS\\administrator%${TEST_ADMIN_PASSWORD}`], {
        reject: false,
      });
      listing = r.stdout;
      if (!/IPC\$/.test(listing)) await new Promise((r) => setTimeout(r, 500));
    }
    expect(listing).toMatch(/sysvol/);
    expect(processesWithArgument(smbConf).length).toBeGreaterThan(0);
    await dc.stop();
    expect(processesWithArgument(smbConf)).toEqual([]);
  });
});
