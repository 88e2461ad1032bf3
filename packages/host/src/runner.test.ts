import { describe, expect, it } from 'vitest';
import { isHostError } from './errors';
import { createExecaRunner, runChecked } from './runner';

const runner = createExecaRunner();

describe('createExecaRunner', () => {
  it('resolves with the exit code, stdout, stderr and interleaved output', async () => {
    const result = await runner.run('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(result).toMatchObject({ command: 'sh', exitCode: 3, stdout: 'out', stderr: 'err' });
    expect(result.output.split('\n').sort()).toEqual(['err', 'out']);
  });

  it('passes arguments verbatim, never through a shell', async () => {
    const result = await runner.run('printf', ['%s|', '$(id)', '; rm -rf /', '*']);
    expect(result.stdout).toBe('$(id)|; rm -rf /|*|');
  });

  it('feeds input on stdin (the place for secrets) and closes stdin otherwise', async () => {
    expect((await runner.run('cat', [], { input: 's3cret' })).stdout).toBe('s3cret');
    expect((await runner.run('cat', [])).stdout).toBe('');
  });

  it('adds env and cwd', async () => {
    const result = await runner.run('sh', ['-c', 'echo "$INVIS_X $(pwd)"'], { env: { INVIS_X: 'y' }, cwd: '/tmp' });
    expect(result.stdout).toBe('y /tmp');
  });

  it('rejects with HOST_COMMAND_NOT_FOUND for a missing program', async () => {
    const error = await runner.run('invis-no-such-program', []).catch((e: unknown) => e);
    expect(isHostError(error) && error.code).toBe('HOST_COMMAND_NOT_FOUND');
  });

  it('rejects with HOST_COMMAND_TIMEOUT when the program overruns', async () => {
    const error = await runner.run('sleep', ['5'], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(isHostError(error) && error.code).toBe('HOST_COMMAND_TIMEOUT');
  });

  it('runChecked quotes the last output line and keeps the exit code', async () => {
    const error = await runChecked(runner, 'sh', ['-c', 'echo first >&2; echo "bad line 3" >&2; exit 2']).catch(
      (e: unknown) => e,
    );
    expect(isHostError(error) && error.toJSON()).toEqual({
      code: 'HOST_COMMAND_FAILED',
      message: 'sh failed (exit 2): bad line 3',
      details: { command: 'sh', exitCode: 2 },
    });
    expect((await runChecked(runner, 'true', [])).exitCode).toBe(0);
  });
});
