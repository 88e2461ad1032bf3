// Shared helpers for the integration tests: a client for the testbed DC, unique names, and the
// real command-line clients (ldapsearch, kinit, smbclient) used to cross-check our writes.
import { randomBytes } from 'node:crypto';
import type { SambaDcInfo } from '@invis/testbed';
import { execa } from 'execa';
import { inject } from 'vitest';
import { type AdClient, type AdClientOptions, createAdClient } from '../../src/index';

export function dcInfo(): SambaDcInfo {
  return inject('samba');
}

export function adminClient(extra: Partial<AdClientOptions> = {}): AdClient {
  const dc = dcInfo();
  return createAdClient({
    url: dc.ldapsUrl,
    bindDN: dc.adminDN,
    password: dc.adminPassword,
    ca: dc.caPem,
    baseDN: dc.baseDN,
    ...extra,
  });
}

/** A short unique suffix (sAMAccountName allows 20 characters). */
export function uniq(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`.slice(0, 20);
}

/** `ldapsearch` as admin over LDAPS; returns LDIF (-LLL). */
export async function ldapsearch(base: string, filter: string, attrs: string[] = [], scope = 'sub'): Promise<string> {
  const dc = dcInfo();
  const { stdout } = await execa(
    'ldapsearch',
    [
      '-LLL',
      '-o',
      'ldif-wrap=no',
      '-x',
      '-H',
      dc.ldapsUrl,
      '-D',
      dc.adminDN,
      '-w',
      dc.adminPassword,
      '-b',
      base,
      '-s',
      scope,
      filter,
      ...attrs,
    ],
    { env: { LDAPTLS_CACERT: dc.caFile }, reject: false },
  );
  return stdout;
}

/** `kinit` with the testbed's krb5.conf: resolves true when the KDC issues a ticket. */
export async function kinit(principal: string, password: string): Promise<{ ok: boolean; output: string }> {
  const dc = dcInfo();
  const ccache = `FILE:/tmp/krb5cc_adclient_${randomBytes(4).toString('hex')}`;
  const r = await execa('kinit', [principal], {
    input: `${password}\n`,
    env: { KRB5_CONFIG: dc.krb5Conf, KRB5CCNAME: ccache },
    reject: false,
  });
  await execa('kdestroy', [], { env: { KRB5_CONFIG: dc.krb5Conf, KRB5CCNAME: ccache }, reject: false });
  return { ok: r.exitCode === 0, output: `${r.stdout}\n${r.stderr}` };
}

/**
 * `smbclient -L` as the user (NTLM over SMB2/3). The DC's winbindd comes up a few seconds after
 * LDAPS, and until then smbd answers NT_STATUS_INTERNAL_ERROR/refuses: retry for up to 20 s.
 */
export async function smbclientLogon(user: string, password: string): Promise<{ ok: boolean; output: string }> {
  const dc = dcInfo();
  let output = '';
  for (let i = 0; i < 40; i++) {
    const r = await execa('smbclient', ['-L', dc.address, '-U', `${dc.domain}\\${user}%${password}`], {
      reject: false,
      timeout: 15_000,
    });
    output = `${r.stdout}\n${r.stderr}`;
    if (r.exitCode === 0) return { ok: true, output };
    if (!/NT_STATUS_INTERNAL_ERROR|NT_STATUS_CONNECTION_REFUSED|NT_STATUS_IO_TIMEOUT/.test(output)) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  return { ok: false, output };
}

/** `ldbsearch` directly on the DC's sam.ldb (needs ldb-tools); returns LDIF. */
export async function ldbsearch(filter: string, attrs: string[] = []): Promise<string> {
  const dc = dcInfo();
  const { stdout } = await execa('ldbsearch', ['-H', `${dc.dir}/dc/private/sam.ldb`, filter, ...attrs], {
    reject: false,
  });
  return stdout;
}
