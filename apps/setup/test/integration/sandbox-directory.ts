// The prelude of the scripts the whole-server tests run inside the sandbox (the DC's LDAPS is
// reachable only there): their JSON on stdin (no password in a process list), checked, and an
// AD client bound with it.
import { readFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { type AdClient, createAdClient } from '@invis/ad-client';
import { z } from 'zod';

const Connection = z.object({
  url: z.string().startsWith('ldaps://'),
  caFile: z.string(),
  upn: z.string(),
  password: z.string(),
});

/**
 * Reads stdin as JSON with the connection fields plus `fields`, and binds an AD client with it.
 * @returns the input's own fields and the client (the caller closes it)
 */
export async function directoryFromStdin<T extends z.ZodRawShape>(
  fields: T,
): Promise<{ input: z.infer<z.ZodObject<T>>; ad: AdClient }> {
  const raw: unknown = JSON.parse(await text(process.stdin));
  const connection = Connection.parse(raw);
  const ad = createAdClient({
    url: connection.url,
    upn: connection.upn,
    password: connection.password,
    ca: readFileSync(connection.caFile, 'utf8'),
  });
  return { input: z.object(fields).parse(raw), ad };
}
