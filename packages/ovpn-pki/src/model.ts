// Input models of the PKI: names, key algorithms, validity settings. Names become file names
// (issued/<name>.crt) and certificate subjects, so they are strict; zod failures become
// PKI_INVALID_INPUT.
import { z } from 'zod';
import { OvpnPkiError } from './errors';

/** Key algorithms the PKI can generate; `ec-p256` is the default. */
export const KEY_ALGORITHMS = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'] as const;

/** One of {@link KEY_ALGORITHMS}. */
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** Names reserved by the on-disk layout (`private/ca.key`). */
const RESERVED_NAMES = new Set(['ca']);

/**
 * A certificate name: the file name under `issued/` and the subject CN. 1–64 characters of
 * letters, digits, `.`, `_`, `@`, `-`, starting with a letter or digit (easy-rsa-compatible).
 */
export const certNameSchema: z.ZodType<string, string> = z
  .string()
  .min(1, 'name is empty')
  .max(64, 'name is longer than 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'name may only contain letters, digits, ".", "_", "@" and "-"')
  .refine((n) => !RESERVED_NAMES.has(n.toLowerCase()), 'name "ca" is reserved for the CA');

/** A CA common name: 1–64 letters, digits, spaces and `._@()'-`, no leading/trailing space. */
export const caNameSchema: z.ZodType<string, string> = z
  .string()
  .min(1, 'CA name is empty')
  .max(64, 'CA name is longer than 64 characters')
  .regex(
    /^[\p{L}\p{N}._@()'-](?:[\p{L}\p{N} ._@()'-]*[\p{L}\p{N}._@()'-])?$/u,
    'CA name contains forbidden characters',
  );

/** Days of validity: 1 to 100 years. */
const days = z.number().int().min(1).max(36_500);

/** PKI settings with defaults filled in (stored in `pki.json`). */
export interface PkiSettings {
  /** Algorithm for new keys (CA and leaves). Default `ec-p256`. */
  keyAlgorithm: KeyAlgorithm;
  /** CA certificate validity in days. Default 3650. */
  caDays: number;
  /** Server certificate validity in days. Default 825. */
  serverDays: number;
  /** Client certificate validity in days. Default 730 (as the original). */
  clientDays: number;
  /** CRL validity: `nextUpdate` = now + crlDays. Default 180. */
  crlDays: number;
  /** Re-sign the CRL when fewer than this many days of its validity are left. Default crlDays / 2 (90). */
  crlRenewBeforeDays: number;
  /** Certificates expiring within this many days are reported as `expiring`. Default 30. */
  expiringWithinDays: number;
}

/** PKI settings as given by a caller (every field optional). */
export type PkiSettingsInput = Partial<PkiSettings>;

/** Validates PKI settings and fills in defaults. */
export const pkiSettingsSchema: z.ZodType<PkiSettings, PkiSettingsInput> = z
  .object({
    /** Algorithm for new keys (CA and leaves). */
    keyAlgorithm: z.enum(KEY_ALGORITHMS).default('ec-p256'),
    /** CA certificate validity. */
    caDays: days.default(3650),
    /** Server certificate validity (825 = the CA/Browser maximum, accepted everywhere). */
    serverDays: days.default(825),
    /** Client certificate validity (the original used 730). */
    clientDays: days.default(730),
    /** CRL validity: `nextUpdate` = now + crlDays. */
    crlDays: days.default(180),
    /** Re-sign the CRL when fewer than this many days of its validity are left. */
    crlRenewBeforeDays: days.optional(),
    /** Certificates expiring within this many days are reported as `expiring`. */
    expiringWithinDays: days.default(30),
  })
  // Default: half the CRL validity (90 of 180 days), so a shorter crlDays never renews on every check.
  .transform((s) => ({ ...s, crlRenewBeforeDays: s.crlRenewBeforeDays ?? Math.max(1, Math.floor(s.crlDays / 2)) }))
  .refine((s) => s.crlRenewBeforeDays < s.crlDays, {
    message: 'crlRenewBeforeDays must be smaller than crlDays (else the CRL is re-signed on every check)',
    path: ['crlRenewBeforeDays'],
  });

/** Subject alternative names of a server certificate. */
export interface SubjectAltNames {
  /** DNS names (wildcards allowed in the first label). */
  dns: string[];
  /** IPv4/IPv6 addresses. */
  ip: string[];
}

/** Validates subject alternative names. */
export const subjectAltNamesSchema: z.ZodType<SubjectAltNames, Partial<SubjectAltNames>> = z.object({
  dns: z
    .array(
      z
        .string()
        .max(253)
        .regex(
          /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
          'not a DNS name',
        ),
    )
    .default([]),
  ip: z.array(z.union([z.ipv4(), z.ipv6()])).default([]),
});

/**
 * Parses `input` with `schema`, turning zod issues into one PKI_INVALID_INPUT error.
 * @throws {OvpnPkiError} PKI_INVALID_INPUT
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? ` (${issue.path.join('.')})` : '';
  throw new OvpnPkiError('PKI_INVALID_INPUT', `invalid ${what}${path}: ${issue?.message ?? 'invalid value'}`, {
    cause: result.error,
    details: { field: issue?.path.join('.') ?? '' },
  });
}
