// The fileserver module into a staging root: real testparm on the rendered shares, the layout's
// folders with their modes, the logon scripts below netlogon, a second apply that changes nothing.
import { execFileSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { layoutFolders } from '../../src/fileserver-layout';
import { fileserverModule } from '../../src/modules/fileserver';
import { renderSmbConf } from '../../src/modules/samba-ad';
import { moduleContext } from './module-context';

const root = useTempDir('invis-setup-fileserver-');

describe('fileserver module (staging root)', () => {
  it('stages smb.shares.conf, the layout and the logon scripts; the DC smb.conf with its include passes testparm', async () => {
    const ctx = await moduleContext(root());
    const plan = await fileserverModule.plan(ctx);
    expect(plan.files.map((f) => f.path)).toContain('/etc/samba/smb.shares.conf');
    expect(plan.directories).toContain('/srv/shares/verwaltung');
    const report = await fileserverModule.apply(ctx);
    expect(report.changed).toBe(true);
    for (const folder of layoutFolders(ctx)) {
      expect(((await stat(join(root(), folder.path))).mode & 0o7777).toString(8)).toBe(folder.mode.toString(8));
    }
    const script = await readFile(join(root(), '/var/lib/samba/sysvol/invis-net.loc/scripts/user.cmd'), 'utf8');
    expect(script).toContain('net use Q: \\\\INVIS\\gruppen /persistent:no >nul 2>&1\r\n');
    // samba_ad's smb.conf includes the staged file; testparm reads the shares through an include.
    expect(renderSmbConf(ctx)).toContain(`\tinclude = ${join(root(), '/etc/samba/smb.shares.conf')}\n`);
    const main = join(root(), 'main.conf');
    await ctx.fs.writeFileAtomic('/main.conf', `[global]\n\tinclude = ${join(root(), '/etc/samba/smb.shares.conf')}\n`);
    const out = execFileSync('testparm', ['-s', '--suppress-prompt', main], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toContain('[verwaltung]');
    expect(out).toContain('valid users = @INVIS-NET\\verwaltung');
    expect(await fileserverModule.verify(ctx)).toSatisfy((checks: { ok: boolean }[]) => checks.every((c) => c.ok));
    const again = await fileserverModule.apply(ctx);
    expect(again.changed).toBe(false);
  });

  it('refuses a planted symbolic link where a share folder goes', async () => {
    const ctx = await moduleContext(root());
    await ctx.fs.mkdir('/srv/shares', 0o755);
    const { symlink } = await import('node:fs/promises');
    await symlink('/etc', join(root(), '/srv/shares/verwaltung'));
    await expect(fileserverModule.apply(ctx)).rejects.toMatchObject({
      code: expect.stringMatching(/HOST_UNSAFE_PATH|SETUP_CHECK_FAILED/),
    });
  });
});
