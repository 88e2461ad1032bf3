import { describe, expect, it } from 'vitest';
import { parseEnvironmentFile } from './supervisor';

const lineError = (line: number) => new Error(`line ${line}`);

describe('parseEnvironmentFile', () => {
  it('reads KEY=value lines, skips comments and blanks, removes one pair of quotes', () => {
    const text =
      '# portal\n\nPORTAL_PORT=8443\nPORTAL_HOST="0.0.0.0"\n  PORTAL_ADMIN_GROUP=\'Domain Admins\'\nEMPTY=\nEQ=a=b\n';
    expect(parseEnvironmentFile(text, lineError)).toEqual({
      PORTAL_PORT: '8443',
      PORTAL_HOST: '0.0.0.0',
      PORTAL_ADMIN_GROUP: 'Domain Admins',
      EMPTY: '',
      EQ: 'a=b',
    });
  });

  it('rejects a line that is not KEY=value with its line number, never half an environment', () => {
    expect(() => parseEnvironmentFile('A=1\nexport B=2\n', lineError)).toThrow('line 2');
    expect(() => parseEnvironmentFile('1A=1\n', lineError)).toThrow('line 1');
  });
});
