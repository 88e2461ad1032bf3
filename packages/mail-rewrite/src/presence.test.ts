import { describe, expect, it } from 'vitest';
import { isMailRewriteError } from './errors';
import { parsePresenceFile } from './presence';

describe('parsePresenceFile', () => {
  it('reads presence and vacation per account, with the default reply interval', () => {
    expect(
      parsePresenceFile({ anna: { presence: 'vacation', vacation: { subject: 'Urlaub', body: 'Bin weg.' } } }),
    ).toEqual({ anna: { presence: 'vacation', vacation: { subject: 'Urlaub', body: 'Bin weg.', days: 7 } } });
  });

  it('names the offending paths, never the values', () => {
    const error = (() => {
      try {
        return parsePresenceFile({ '../x': { presence: 'present' }, bob: { presence: 'away', secret: 's3cr3t' } });
      } catch (e) {
        return e;
      }
    })();
    expect(isMailRewriteError(error) && error.code).toBe('MAIL_INVALID_CONFIG');
    expect(JSON.stringify(error)).not.toContain('s3cr3t');
  });
});
