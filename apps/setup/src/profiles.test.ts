import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { detectProfile, parseOsRelease } from './profiles';
import { createRootedFs } from './rooted-fs';

describe('profiles', () => {
  const dir = useTempDir('setup-profile-');
  const withOsRelease = async (text: string) => {
    await mkdir(join(dir(), 'etc'), { recursive: true });
    await writeFile(join(dir(), 'etc/os-release'), text);
    return createRootedFs(dir());
  };

  it('parses quoted and bare values', () => {
    expect(parseOsRelease('ID=debian\nVERSION_ID="12"\nNAME=\'Debian\'\n# c\n')).toEqual({
      ID: 'debian',
      VERSION_ID: '12',
      NAME: 'Debian',
    });
  });

  it.each([
    ['12', 'debian-12', 'ssh'],
    ['13', 'debian-13', 'chrony'],
  ])('detects Debian %s below the root', async (version, id) => {
    const profile = await detectProfile(await withOsRelease(`ID=debian\nVERSION_ID="${version}"\n`));
    expect(profile.id).toBe(id);
    expect(profile.ssh).toEqual({ unit: 'ssh', sshd: '/usr/sbin/sshd', dropInDir: '/etc/ssh/sshd_config.d' });
    expect(profile.chrony.unit).toBe('chrony');
  });

  it('refuses an unknown system and a missing os-release with SETUP_UNKNOWN_OS', async () => {
    await expect(detectProfile(await withOsRelease('ID=opensuse-leap\nVERSION_ID="16.0"\n'))).rejects.toMatchObject({
      code: 'SETUP_UNKNOWN_OS',
      details: { id: 'opensuse-leap', versionId: '16.0' },
    });
    await expect(detectProfile(await createRootedFs(join(dir(), 'empty')))).rejects.toMatchObject({
      code: 'SETUP_UNKNOWN_OS',
    });
  });
});
