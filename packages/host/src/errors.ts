// The one error base of invis. Every package derives its own class with a stable `scope`
// (its package name) and a union of codes; guards check a brand instead of `instanceof`, so
// they keep working when two copies of a package end up in one program.

const ERROR_SCOPE = Symbol.for('@invis/host.error-scope');

/** Safe structured detail of an error: what a portal may show to a browser (no secrets, no stacks). */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

/** The JSON form of an {@link InvisError}; `cause` is present only when the cause is an invis error too. */
export interface InvisErrorJson {
  code: string;
  message: string;
  details?: ErrorDetails;
  cause?: InvisErrorJson;
}

/** Options of an {@link InvisError}. */
export interface InvisErrorOptions {
  /** The original error (execa result, ldapts error, parser error); kept for logs, never serialised unless it is an invis error. */
  cause?: unknown;
  /** Safe structured detail (line numbers, exit codes, names). */
  details?: ErrorDetails;
}

/**
 * Base class of every invis error: a stable `code`, a human `message`, safe `details`, the
 * `cause`, and a `toJSON()` that nests invis causes and drops everything else.
 * Subclasses set `static readonly scope` to their package name.
 * @example
 * class DnsZoneError extends InvisError<'DNS_BAD_NAME'> { static override readonly scope = '@invis/dns-zone'; }
 * throw new DnsZoneError('DNS_BAD_NAME', 'name too long', { details: { length: 300 } });
 */
export class InvisError<Code extends string = string> extends Error {
  /** The package that defines the subclass; subclasses override it. */
  static readonly scope: string = '@invis/host';
  /** Stable machine-readable code, e.g. `AD_ENTRY_EXISTS`. */
  readonly code: Code;
  /** Safe structured detail. */
  readonly details: ErrorDetails;

  constructor(code: Code, message: string, options: InvisErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, ERROR_SCOPE, { value: (new.target as typeof InvisError).scope, enumerable: false });
  }

  /** Code, message, details and nested invis causes: what may leave the process. */
  toJSON(): InvisErrorJson {
    const json: InvisErrorJson = { code: this.code, message: this.message };
    if (Object.keys(this.details).length > 0) json.details = this.details;
    if (isInvisError(this.cause)) json.cause = this.cause.toJSON();
    return json;
  }
}

/**
 * Whether `value` is an error from any invis package (brand check, not `instanceof`).
 * @param value anything caught
 * @returns true for every {@link InvisError}
 */
export function isInvisError(value: unknown): value is InvisError {
  return (
    typeof value === 'object' && value !== null && typeof (value as Record<symbol, unknown>)[ERROR_SCOPE] === 'string'
  );
}

/**
 * Builds the `is…Error` guard of one package: true only for errors whose class has that `scope`.
 * @param scope the package name the error classes of that package declare
 * @returns a type guard
 * @example export const isDnsZoneError = defineErrorGuard<DnsZoneError>('@invis/dns-zone');
 */
export function defineErrorGuard<E extends InvisError>(scope: string): (value: unknown) => value is E {
  return (value: unknown): value is E =>
    isInvisError(value) && (value as unknown as Record<symbol, unknown>)[ERROR_SCOPE] === scope;
}

/** Every code of @invis/host itself. */
export type HostErrorCode =
  | 'HOST_COMMAND_NOT_FOUND'
  | 'HOST_COMMAND_FAILED'
  | 'HOST_COMMAND_TIMEOUT'
  | 'HOST_UNSAFE_PATH'
  | 'HOST_SERVICE_FAILED';

/** Errors of the host layer: a program that is missing or failed, an unsafe path, a service that did not obey. */
export class HostError extends InvisError<HostErrorCode> {
  static override readonly scope: string = '@invis/host';
}

/** Whether `value` is a {@link HostError}. */
export const isHostError: (value: unknown) => value is HostError = defineErrorGuard<HostError>('@invis/host');

/**
 * Whether `e` is a "no such file or directory" error from node:fs.
 * @param e anything caught
 * @returns true for `ENOENT`
 */
export function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
