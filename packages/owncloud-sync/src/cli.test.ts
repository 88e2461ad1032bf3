import { describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };
import { runCliCaptured } from '../test/run-cli';

const cli = (...argv: string[]) => runCliCaptured(argv);

describe('runCli', () => {
  it('--help and -h print the usage to stdout and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await cli(flag);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out).toMatch(/^usage:\n {2}invis-sync init <dir>/);
      expect(r.out).toMatch(/--state-root/);
    }
    expect((await cli('run', '/nowhere', '--help')).code).toBe(0);
  });

  it('--version and -V print the version to stdout and exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      expect(await cli(flag)).toEqual({ code: 0, out: `invis-sync ${packageJson.version}\n`, err: '' });
    }
  });

  it('a usage error still goes to stderr with exit 2', async () => {
    const r = await cli('bogus');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/unknown command\nusage:/);
  });

  it('init refuses plain http to a non-loopback host before touching anything', async () => {
    const r = await cli(
      'init',
      '/nowhere',
      '--url',
      'http://127.example.com/dav/',
      '--user',
      'u',
      '--password-file',
      '/nonexistent',
      '--state-root',
      '/nonexistent-state',
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/use https:\/\//);
  });

  it('init answers a URL that is none with a usage error, not a crash', async () => {
    for (const url of ['not a url', 'http://', 'ftp://127.0.0.1/']) {
      const r = await cli('init', '/nowhere', '--url', url, '--user', 'u', '--password-file', '/nonexistent');
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/invalid options: ✖ not an http\(s\) URL/);
    }
  });
});
