import { HostError, InvisError, isInvisError } from '@invis/host';
import {
  AlreadyExistsError,
  ConstraintViolationError,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  UnwillingToPerformError,
} from 'ldapts';
import { describe, expect, it } from 'vitest';
import {
  AD_BIND_SUBCODES,
  AD_ERROR_CODES,
  AdError,
  type AdErrorCode,
  adSubCode,
  isAdError,
  LDAP_RESULT_CODES,
  ldapResultName,
  toAdError,
} from './errors';

const bind = (data: string): InvalidCredentialsError =>
  new InvalidCredentialsError(
    `80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data ${data}, v1db1 Code: 0x31`,
  );

describe('toAdError', () => {
  it("maps Samba's bind sub-codes (52e/533/775/532/773/701/530)", () => {
    const cases: [string, string][] = [
      ['52e', 'AD_INVALID_CREDENTIALS'],
      ['525', 'AD_INVALID_CREDENTIALS'],
      ['533', 'AD_ACCOUNT_DISABLED'],
      ['775', 'AD_ACCOUNT_LOCKED'],
      ['532', 'AD_PASSWORD_EXPIRED'],
      ['773', 'AD_PASSWORD_MUST_CHANGE'],
      ['701', 'AD_ACCOUNT_EXPIRED'],
      ['530', 'AD_LOGON_RESTRICTED'],
    ];
    for (const [data, code] of cases) {
      const e = toAdError(bind(data), { operation: 'bind' });
      expect(e, data).toMatchObject({ code, details: { operation: 'bind', ldapCode: 49 }, adSubCode: data });
      expect(e.cause).toBeInstanceOf(InvalidCredentialsError);
    }
    expect(AD_BIND_SUBCODES['775']).toBe('AD_ACCOUNT_LOCKED');
  });

  it('maps 19 with 0000052D to AD_PASSWORD_POLICY and 00000056 to AD_INVALID_CREDENTIALS', () => {
    const weak = new ConstraintViolationError(
      '0000052D: Constraint violation - check_password_restrictions: the password is too short. Code: 0x13',
    );
    expect(toAdError(weak, { operation: 'add' })).toMatchObject({ code: 'AD_PASSWORD_POLICY', adSubCode: '52d' });
    const old = new ConstraintViolationError(
      "00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match! Code: 0x13",
    );
    expect(toAdError(old, { operation: 'modify' }).code).toBe('AD_INVALID_CREDENTIALS');
  });

  it('maps result codes and socket errors', () => {
    expect(toAdError(new AlreadyExistsError('x'), { operation: 'add' }).code).toBe('AD_ENTRY_EXISTS');
    expect(toAdError(new NoSuchObjectError('x'), { operation: 'add' }).code).toBe('AD_NO_SUCH_OBJECT');
    expect(toAdError(new InsufficientAccessError('x'), { operation: 'add' }).code).toBe('AD_INSUFFICIENT_RIGHTS');
    expect(
      toAdError(new UnwillingToPerformError('00002035: schema_data_add: updates are not allowed'), { operation: 'add' })
        .code,
    ).toBe('AD_SCHEMA_UPDATE_DISABLED');
    expect(
      toAdError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), { operation: 'bind' }).code,
    ).toBe('AD_CONNECTION');
    expect(toAdError(new Error('SearchRequest: Operation timed out'), { operation: 'search' }).code).toBe('AD_TIMEOUT');
    expect(
      toAdError(Object.assign(new Error('self-signed'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), {
        operation: 'bind',
      }).code,
    ).toBe('AD_TLS');
  });

  it('toJSON has code, message and safe details only: no stack, no foreign cause, no name', () => {
    const e = new AdError('AD_PROTECTED', 'no', { cause: new Error('secret stack'), details: { group: 'x' } });
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'AD_PROTECTED', message: 'no', details: { group: 'x' } });
    expect(new AdError('AD_CLOSED', 'closed').toJSON()).toEqual({ code: 'AD_CLOSED', message: 'closed' });
    expect(AD_ERROR_CODES).toContain(e.code);
    expect(e.name).toBe('AdError');
  });

  it('a mapped LDAP error serialises ldapCode in details, never the sub-code or the diagnostic text', () => {
    // 525 (unknown user on Windows) and 52e (wrong password) must serialise alike: no user enumeration
    const unknown = toAdError(bind('525'), { operation: 'bind' });
    const wrong = toAdError(bind('52e'), { operation: 'bind' });
    expect(unknown.adSubCode).toBe('525');
    expect(unknown.toJSON()).toEqual({
      code: 'AD_INVALID_CREDENTIALS',
      message: 'Wrong user name or password. (bind)',
      details: { operation: 'bind', ldapCode: 49 },
    });
    expect(JSON.stringify(unknown)).toBe(JSON.stringify(wrong));
    expect(JSON.stringify(unknown)).not.toContain('AcceptSecurityContext');
  });

  it('isAdError checks the @invis/ad-client brand and, when given, the codes', () => {
    const e = new AdError('AD_NOT_LEAF', 'children');
    expect(isAdError(e)).toBe(true);
    expect(isAdError(e, 'AD_NOT_LEAF', 'AD_PROTECTED')).toBe(true);
    expect(isAdError(e, 'AD_PROTECTED')).toBe(false);
    // another installed copy of this package: same scope, different class
    class CopiedAdError extends InvisError<AdErrorCode> {
      static override readonly scope: string = '@invis/ad-client';
    }
    expect(isAdError(new CopiedAdError('AD_NOT_LEAF', 'children'), 'AD_NOT_LEAF')).toBe(true);
    expect(isAdError(new HostError('HOST_COMMAND_FAILED', 'x'))).toBe(false);
    expect(isAdError(Object.assign(new Error('look-alike'), { code: 'AD_NOT_LEAF' }))).toBe(false);
    expect(isInvisError(e)).toBe(true);
  });

  it('result code table works both ways', () => {
    expect(LDAP_RESULT_CODES.invalidCredentials).toBe(49);
    expect(ldapResultName(68)).toBe('entryAlreadyExists');
    expect(adSubCode('x data 775, v1db1')).toBe('775');
  });
});
