// The group folders a portal without root rights asks the server to make: a small JSON file the
// portal writes and a root job reads. The reader treats it as hostile input (it is writable by a
// network-facing service): every name must be one plain folder name, and anything else is refused
// whole rather than partly believed.
import { z } from 'zod';
import { SharesError } from './errors';

/** The requests file's name in the portal's data folder (what the portal writes and setup's sync reads). */
export const FOLDER_REQUESTS_FILE = 'group-shares.json';

/**
 * One folder name: no path separator, NUL or control character, not `.`/`..`, no leading `-`,
 * not ending in `.archiv` (the archive names), at most 64 characters.
 */
export function isPlainFolderName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 64 &&
    name !== '.' &&
    name !== '..' &&
    !name.startsWith('-') &&
    !/\.archiv$/i.test(name) &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    !/[/\\\u0000-\u001f\u007f]/.test(name)
  );
}

const FolderName = z.string().refine(isPlainFolderName, 'not a plain folder name');

const RequestsFile = z
  .object({
    version: z.literal(1),
    groups: z.record(FolderName, z.strictObject({ template: FolderName.nullable() })),
  })
  .strict()
  .refine((f) => Object.keys(f.groups).length <= 10_000, 'more than 10,000 requests');

/** Group name → the template its folder is copied from (null: an empty folder). */
export type FolderRequests = Map<string, string | null>;

/**
 * Reads a requests file.
 * @param text the file's content
 * @returns the requests by group name
 * @throws SharesError `SHARES_PARSE_ERROR` for anything but a well-formed file of plain names
 *   (the message never repeats the content)
 */
export function parseFolderRequests(text: string): FolderRequests {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SharesError('SHARES_PARSE_ERROR', 'the folder requests are no JSON');
  }
  const parsed = RequestsFile.safeParse(json);
  if (!parsed.success) {
    throw new SharesError('SHARES_PARSE_ERROR', 'the folder requests are malformed', {
      details: { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).slice(0, 10) },
    });
  }
  return new Map(Object.entries(parsed.data.groups).map(([group, r]) => [group, r.template]));
}

/**
 * Writes a requests file (sorted, so an unchanged set gives the same bytes).
 * @throws SharesError `SHARES_INVALID_SHARE` for a name that is not a plain folder name
 */
export function renderFolderRequests(requests: ReadonlyMap<string, string | null>): string {
  const groups: Record<string, { template: string | null }> = {};
  for (const [group, template] of [...requests].sort(([a], [b]) => a.localeCompare(b))) {
    for (const name of [group, template]) {
      if (name !== null && !isPlainFolderName(name)) {
        throw new SharesError('SHARES_INVALID_SHARE', `${JSON.stringify(name)} is not a plain folder name`, {
          issues: [{ path: `groups.${group}`, message: 'not a plain folder name' }],
        });
      }
    }
    groups[group] = { template };
  }
  return `${JSON.stringify({ version: 1, groups }, null, 2)}\n`;
}
