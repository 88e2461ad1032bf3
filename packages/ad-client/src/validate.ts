// Input checks shared by the feature modules: logon names and free text are refused with
// AD_INVALID_INPUT before anything is sent to the DC.
import { AdError } from './errors';

const SAM_FORBIDDEN = /["/\\[\]:;|=,+*?<>@\p{Cc}]/u;

/** Validates a logon name (sAMAccountName). @throws AdError `AD_INVALID_INPUT` */
export function checkSamAccountName(name: string, max = 20): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new AdError('AD_INVALID_INPUT', 'The logon name must not be empty.', {
      details: { field: 'sAMAccountName' },
    });
  if ([...name].length > max)
    throw new AdError('AD_INVALID_INPUT', `The logon name may have at most ${max} characters.`, {
      details: { field: 'sAMAccountName', length: name.length },
    });
  if (SAM_FORBIDDEN.test(name) || name.endsWith('.') || name.trim() !== name)
    throw new AdError(
      'AD_INVALID_INPUT',
      'The logon name contains a character that is not allowed (" / \\ [ ] : ; | = , + * ? < > @, control characters, leading/trailing space or a trailing dot).',
      { details: { field: 'sAMAccountName' } },
    );
}

const LIMITS: Record<string, number> = {
  cn: 64,
  displayName: 256,
  givenName: 64,
  sn: 64,
  description: 1024,
  mail: 256,
  otherMailbox: 256,
  company: 64,
  department: 64,
  office: 128,
  telephoneNumber: 64,
  loginShell: 1024,
  unixHomeDirectory: 1024,
};

/** Checks a free-text field: no NUL/control characters, within AD's length limit. */
export function checkText(field: string, value: string | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'string')
    throw new AdError('AD_INVALID_INPUT', `${field} must be text.`, { details: { field } });
  if (
    [...value].some((c) => {
      const n = c.codePointAt(0) ?? 0;
      return (n < 0x20 && n !== 0x09 && n !== 0x0a && n !== 0x0d) || n === 0x7f;
    })
  )
    throw new AdError('AD_INVALID_INPUT', `${field} must not contain control characters.`, { details: { field } });
  if (value.includes('\uFFFD') || /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value))
    throw new AdError(
      'AD_INVALID_INPUT',
      `${field} is not valid Unicode text (was it decoded from non-UTF-8 bytes?).`,
      {
        details: { field },
      },
    );
  const max = LIMITS[field] ?? 1024;
  if ([...value].length > max)
    throw new AdError('AD_INVALID_INPUT', `${field} may have at most ${max} characters.`, {
      details: { field, length: value.length },
    });
}
