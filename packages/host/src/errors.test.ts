import { describe, expect, it } from 'vitest';
import { defineErrorGuard, HostError, InvisError, isHostError, isInvisError } from './errors';

class SampleError extends InvisError<'SAMPLE_BAD' | 'SAMPLE_WORSE'> {
  static override readonly scope = '@invis/sample';
}
const isSampleError = defineErrorGuard<SampleError>('@invis/sample');

describe('InvisError', () => {
  it('carries code, message, details and its class name', () => {
    const error = new SampleError('SAMPLE_BAD', 'bad input', { details: { line: 3 } });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('SampleError');
    expect(error.code).toBe('SAMPLE_BAD');
    expect(error.details).toEqual({ line: 3 });
  });

  it('serialises only code, message, details and invis causes', () => {
    const inner = new HostError('HOST_COMMAND_FAILED', 'named-checkconf failed', { details: { exitCode: 1 } });
    const outer = new SampleError('SAMPLE_WORSE', 'check failed', { cause: inner });
    expect(JSON.parse(JSON.stringify(outer))).toEqual({
      code: 'SAMPLE_WORSE',
      message: 'check failed',
      cause: { code: 'HOST_COMMAND_FAILED', message: 'named-checkconf failed', details: { exitCode: 1 } },
    });
    const foreign = new SampleError('SAMPLE_BAD', 'x', { cause: new Error('secret /etc/path') });
    expect(JSON.stringify(foreign)).not.toContain('secret');
  });

  it('guards by brand: per package, and across copies of a class', () => {
    const sample = new SampleError('SAMPLE_BAD', 'x');
    const host = new HostError('HOST_UNSAFE_PATH', 'y');
    expect(isSampleError(sample)).toBe(true);
    expect(isSampleError(host)).toBe(false);
    expect(isHostError(host)).toBe(true);
    expect(isInvisError(sample) && isInvisError(host)).toBe(true);
    // A second copy of the same package (another install of it) is recognised too.
    class SampleErrorCopy extends InvisError<'SAMPLE_BAD'> {
      static override readonly scope = '@invis/sample';
    }
    expect(isSampleError(new SampleErrorCopy('SAMPLE_BAD', 'z'))).toBe(true);
    for (const other of [new Error('x'), { code: 'SAMPLE_BAD' }, null, undefined, 'SAMPLE_BAD']) {
      expect(isSampleError(other)).toBe(false);
      expect(isInvisError(other)).toBe(false);
    }
  });
});
