import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dnsLabel, dnsName, printableText } from './arbitraries';

describe('dnsLabel', () => {
  it('gives labels a resolver takes, up to maxLength', () => {
    fc.assert(
      fc.property(dnsLabel({ maxLength: 20 }), (label) => {
        expect(label).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
        expect(label.length).toBeLessThanOrEqual(20);
      }),
    );
  });

  it('refuses a length DNS does not allow', () => {
    expect(() => dnsLabel({ maxLength: 64 })).toThrow(RangeError);
    expect(() => dnsLabel({ maxLength: 1 })).toThrow(RangeError);
  });
});

describe('dnsName', () => {
  it('joins one to three labels with dots', () => {
    fc.assert(
      fc.property(dnsName(), (name) => {
        expect(name.split('.').length).toBeGreaterThanOrEqual(1);
        expect(name.split('.').length).toBeLessThanOrEqual(3);
        for (const label of name.split('.')) expect(label).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
      }),
    );
  });
});

describe('printableText', () => {
  it('never has control characters or surrounding white space, within the length', () => {
    fc.assert(
      fc.property(printableText({ minLength: 1, maxLength: 40 }), (text) => {
        expect(text).not.toMatch(/\p{Cc}/u);
        expect(text.trim()).toBe(text);
        expect(text.length).toBeGreaterThanOrEqual(1);
        expect(text.length).toBeLessThanOrEqual(40);
      }),
    );
  });
});
