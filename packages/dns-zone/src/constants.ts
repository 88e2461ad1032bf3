// Protocol numbers as name↔number tables with lookups both ways.

function table<const T extends Record<string, number>>(byName: T) {
  const byNumber = new Map<number, keyof T & string>(
    Object.entries(byName).map(([name, value]) => [value, name as keyof T & string]),
  );
  return {
    byName,
    /** number → name, undefined when unknown */
    name: (value: number): (keyof T & string) | undefined => byNumber.get(value),
    /** name → number, undefined when unknown */
    value: (name: string): number | undefined => (Object.hasOwn(byName, name) ? byName[name] : undefined),
  };
}

/** Name↔number lookup table for one protocol field. */
export interface CodeTable<N extends string> {
  readonly byName: Readonly<Record<N, number>>;
  name(value: number): N | undefined;
  value(name: string): number | undefined;
}

/** Record types this package models. */
export type RecordType = 'A' | 'NS' | 'CNAME' | 'SOA' | 'PTR' | 'MX' | 'TXT' | 'AAAA' | 'SRV' | 'CAA';

/** DNS RR types (RFC 1035, 3596, 2782, 8659; TSIG 8945). */
export const RR_TYPES: CodeTable<RecordType | 'TSIG' | 'AXFR' | 'ANY'> = table({
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  CAA: 257,
  TSIG: 250,
  AXFR: 252,
  ANY: 255,
});

/** DNS classes including NONE (254) and ANY (255) for RFC 2136. */
export const DNS_CLASSES: CodeTable<'IN' | 'NONE' | 'ANY'> = table({ IN: 1, NONE: 254, ANY: 255 });

/** DNS opcodes. */
export const OPCODES: CodeTable<'QUERY' | 'NOTIFY' | 'UPDATE'> = table({ QUERY: 0, NOTIFY: 4, UPDATE: 5 });

/** Response codes (RCODE, plus the TSIG error values of RFC 8945). */
export const RCODES: CodeTable<
  | 'NOERROR'
  | 'FORMERR'
  | 'SERVFAIL'
  | 'NXDOMAIN'
  | 'NOTIMP'
  | 'REFUSED'
  | 'YXDOMAIN'
  | 'YXRRSET'
  | 'NXRRSET'
  | 'NOTAUTH'
  | 'NOTZONE'
  | 'BADSIG'
  | 'BADKEY'
  | 'BADTIME'
  | 'BADTRUNC'
> = table({
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  BADSIG: 16,
  BADKEY: 17,
  BADTIME: 18,
  BADTRUNC: 22,
});

/** The record types modelled by this package, in a stable order. */
export const RECORD_TYPES: readonly RecordType[] = [
  'SOA',
  'NS',
  'A',
  'AAAA',
  'CNAME',
  'MX',
  'TXT',
  'SRV',
  'PTR',
  'CAA',
];
