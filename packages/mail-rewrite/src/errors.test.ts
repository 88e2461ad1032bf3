import { HostError, isInvisError } from '@invis/host';
import { describe, expect, it } from 'vitest';
import { isMailRewriteError, MailRewriteError } from './errors';
import { parseMailConfig } from './model';

describe('MailRewriteError', () => {
  it('is an invis error with its own brand, and serialises code, message, details and invis causes only', () => {
    const host = new HostError('HOST_COMMAND_NOT_FOUND', 'postmap is not installed or not on PATH', {
      details: { command: 'postmap' },
    });
    const error = new MailRewriteError('MAIL_COMMAND_FAILED', 'postmap could not run', {
      cause: host,
      details: { command: 'postmap' },
    });
    expect(isMailRewriteError(error)).toBe(true);
    expect(isInvisError(error)).toBe(true);
    expect(isMailRewriteError(host)).toBe(false);
    expect(error.name).toBe('MailRewriteError');
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'MAIL_COMMAND_FAILED',
      message: 'postmap could not run',
      details: { command: 'postmap' },
      cause: {
        code: 'HOST_COMMAND_NOT_FOUND',
        message: 'postmap is not installed or not on PATH',
        details: { command: 'postmap' },
      },
    });
  });

  it('keeps a foreign cause (zod) and the values out of the JSON; the issues are paths and reasons', () => {
    const error = (() => {
      try {
        return parseMailConfig({ localDomain: 'invis.test', users: [{ user: 'a', localAddress: 'secret value' }] });
      } catch (e) {
        return e;
      }
    })();
    expect(isMailRewriteError(error)).toBe(true);
    const json = (error as MailRewriteError).toJSON();
    expect(Object.keys(json).sort()).toEqual(['code', 'details', 'message']);
    expect(json.details?.issues).toEqual([expect.stringMatching(/^users\.0\.localAddress: /)]);
    expect(JSON.stringify(json)).not.toContain('secret value');
  });
});
