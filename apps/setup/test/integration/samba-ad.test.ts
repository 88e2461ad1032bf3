// The `samba_ad` module against a real Samba: into a temp root whose folders the profile names,
// a DC provisioned there and started in its own network namespace (LAN interface `intern`, as on
// the server), the real Administrator password, the invis schema, groups and the service account
// set over LDAPS; the service account binds with its generated secret; a second apply changes
// nothing.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAdClient } from '@invis/ad-client';
import { createDhcpDirectory } from '@invis/dhcp-config';
import { useTempDir } from '@invis/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caModule, certificatePaths } from '../../src/modules/ca';
import { checkSmbConf, renderSmbConf, sambaAdModule } from '../../src/modules/samba-ad';
import { netnsServices, startLan, type TestLan } from './dc';
import { moduleContext } from './module-context';

describe('samba_ad module', () => {
  const dir = useTempDir('setup-samba-');
  let lan: TestLan;

  beforeAll(async () => {
    lan = await startLan();
  });
  afterAll(async () => {
    await lan?.remove();
  });

  it('testparm refuses a broken smb.conf with its own words', async () => {
    const ctx = await moduleContext(dir());
    const file = join(dir(), 'smb.conf');
    await writeFile(file, renderSmbConf(ctx).replace('bind interfaces only', 'bind interface onli'));
    expect(await checkSmbConf(ctx, file)).toEqual({ ok: false, message: expect.stringMatching(/unknown parameter/i) });
  });

  it('staging writes smb.conf only, then plans nothing', async () => {
    const ctx = await moduleContext(dir(), { answers: { lan: { address: lan.cidr } } });
    expect((await sambaAdModule.plan(ctx)).commands).toEqual([]);
    await sambaAdModule.apply(ctx);
    const written = await readFile(join(dir(), 'etc/samba/smb.conf'), 'utf8');
    expect(written).toBe(renderSmbConf(ctx));
    expect(written).toContain(`private dir = ${dir()}/var/lib/samba/private`);
    expect(await sambaAdModule.verify(ctx)).toEqual([{ name: '/etc/samba/smb.conf', ok: true }]);
    const again = await sambaAdModule.plan(ctx);
    expect([again.files.map((f) => f.action), again.commands, again.directories]).toEqual([['unchanged'], [], []]);
  });

  it('provisions, starts the DC, sets the secrets, schema, groups and service account; a second apply changes nothing', {
    timeout: 400_000,
  }, async () => {
    const root = dir();
    const answers = { lan: { address: lan.cidr } };
    const smbConf = join(root, 'etc/samba/smb.conf');
    const services = netnsServices(lan.netns, root);
    try {
      const ctx = await moduleContext(root, { answers, services, staging: false });
      await caModule.apply(ctx);
      // The plan shows the provision without any password.
      expect((await sambaAdModule.plan(ctx)).commands).toEqual([
        expect.objectContaining({ args: expect.arrayContaining(['--adminpass=<random, replaced at once>']) }),
      ]);
      const report = await sambaAdModule.apply(ctx);
      expect(report.changed).toBe(true);
      expect(await readFile(smbConf, 'utf8')).toBe(renderSmbConf(ctx));
      expect(await readFile(smbConf, 'utf8')).not.toContain('schema update allowed');

      const ca = await readFile(join(root, certificatePaths(ctx).caCert), 'utf8');
      const url = `ldaps://${lan.address}:636`;
      // The throwaway provisioning password is gone: the secret binds as Administrator.
      const admin = createAdClient({
        url,
        upn: 'administrator@invis-net.loc',
        password: (await ctx.secrets.get('ad-administrator')) as string,
        ca,
      });
      try {
        for (const group of ['mobilusers', 'maildummies', 'verwaltung', 'archiv', 'diradmins']) {
          expect(await admin.groups.get(group), group).toBeDefined();
        }
        expect(await admin.exists((await admin.invis.layout()).portal)).toBe(true);
        const portal = await admin.users.get('invis-portal');
        expect(portal?.enabled).toBe(true);
        // The LAN subnet is in the directory, so reservations (the portal's hosts) fit in it.
        const dhcp = createDhcpDirectory({ ad: admin });
        const net = lan.address.replace(/\.\d+$/, '');
        expect(await dhcp.putReservation({ hostname: 'pc1', mac: '00:1b:21:3a:4f:10', ip: `${net}.120` })).toBe(
          'created',
        );
        expect((await dhcp.read()).config.subnets).toMatchObject([{ cidr: `${net}.0/24` }]);
        expect(await dhcp.deleteReservation('pc1')).toBe(true);
      } finally {
        await admin.close();
      }
      // The read-only bind account, over LDAPS with the server certificate of `ca`.
      const reader = createAdClient({
        url,
        upn: 'invis-portal@invis-net.loc',
        password: (await ctx.secrets.get('ad-invis-portal')) as string,
        ca,
      });
      try {
        const found = await reader.users.get('Administrator');
        expect(found?.sAMAccountName).toBe('Administrator');
        await expect(
          reader.modify(found?.dn as string, { operation: 'replace', attribute: 'description', values: 'x' }),
        ).rejects.toMatchObject({ code: 'AD_INSUFFICIENT_RIGHTS' });
      } finally {
        await reader.close();
      }

      expect((await sambaAdModule.verify(ctx)).filter((c) => !c.ok)).toEqual([]);
      const again = await sambaAdModule.plan(ctx);
      expect(again.files.every((f) => f.action === 'unchanged')).toBe(true);
      expect(again.commands).toEqual([]);
      expect(again.services).toEqual([]);
      expect(again.directories).toEqual([]);
      expect((await sambaAdModule.apply(ctx)).changed).toBe(false);

      // A missing group is noticed and added again.
      const admin2 = createAdClient({
        url,
        upn: 'administrator@invis-net.loc',
        password: (await ctx.secrets.get('ad-administrator')) as string,
        ca,
      });
      try {
        const archiv = await admin2.groups.get('archiv');
        await admin2.delete(archiv?.dn as string);
      } finally {
        await admin2.close();
      }
      expect((await sambaAdModule.plan(ctx)).commands).toEqual([
        expect.objectContaining({ args: ['create group archiv'] }),
      ]);
      expect((await sambaAdModule.apply(ctx)).changed).toBe(true);
      expect((await sambaAdModule.verify(ctx)).filter((c) => !c.ok)).toEqual([]);
    } finally {
      await services.stopAll();
    }
  });
});
