// fast-check arbitraries that several packages' property tests need alike. Package-specific
// shapes (a zone, a DHCP model) stay with their package and build on these.
import fc from 'fast-check';

/**
 * A lower-case DNS label: letters and digits, inner hyphens, never a hyphen at either end.
 * @param options `maxLength` (2–63, default 12)
 * @returns the arbitrary
 */
export function dnsLabel(options: { maxLength?: number } = {}): fc.Arbitrary<string> {
  const maxLength = options.maxLength ?? 12;
  if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > 63) {
    throw new RangeError(`dnsLabel: maxLength ${maxLength} is not 2–63`);
  }
  return fc.stringMatching(new RegExp(`^[a-z0-9](?:[a-z0-9-]{0,${maxLength - 2}}[a-z0-9])?$`));
}

/**
 * A relative DNS name of 1–3 {@link dnsLabel}s (`pc1`, `a-b.invis.test`).
 * @returns the arbitrary
 */
export function dnsName(): fc.Arbitrary<string> {
  return fc.array(dnsLabel(), { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.'));
}

/**
 * One line of text without control characters or surrounding white space, as a form or a
 * config file takes it (names, labels, passwords).
 * @param options fast-check string constraints (`unit`, `minLength`, `maxLength`)
 * @returns the arbitrary
 */
export function printableText(options: fc.StringConstraints = {}): fc.Arbitrary<string> {
  return fc.string(options).filter((s) => s.trim() === s && !/\p{Cc}/u.test(s));
}
