// The presence file: presence and vacation per account. They are not in the invis schema (the
// original kept them in files too); the portal writes the file, the server's mail modules read it.
import { z } from 'zod';
import { MailRewriteError } from './errors';
import type { Presence } from './model';

/** The presence file: `{ "<account>": { presence, vacation? } }`. */
export type PresenceFile = Record<
  string,
  {
    presence: Presence;
    vacation?:
      | { subject: string; body: string; start?: string | undefined; end?: string | undefined; days: number }
      | undefined;
  }
>;

const presenceFileSchema = z.record(
  z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  z.strictObject({
    presence: z.enum(['present', 'absent', 'vacation']),
    vacation: z
      .strictObject({
        subject: z.string(),
        body: z.string(),
        start: z.string().optional(),
        end: z.string().optional(),
        days: z.number().default(7),
      })
      .optional(),
  }),
);

/**
 * Checks the shape of a parsed presence file (texts and dates are checked in full where the
 * entries become mail users, by `parseMailConfig`).
 * @param data the parsed JSON
 * @returns the file's entries
 * @throws MailRewriteError `MAIL_INVALID_CONFIG` with the offending paths (never the values)
 */
export function parsePresenceFile(data: unknown): PresenceFile {
  const parsed = presenceFileSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new MailRewriteError('MAIL_INVALID_CONFIG', `invalid presence file: ${issues.join('; ')}`, {
      cause: parsed.error,
      details: { issues },
    });
  }
  return parsed.data;
}
