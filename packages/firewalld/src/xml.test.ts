import { printableText } from '@invis/test-utils/arbitraries';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FirewalldError } from './errors';
import {
  type ForwardPort,
  type Policy,
  PolicySchema,
  type Port,
  REJECT_TYPES,
  type RichRule,
  type Service,
  ServiceSchema,
  type Zone,
  ZoneSchema,
} from './model';
import { parsePolicyXml, parseServiceXml, parseZoneXml, renderPolicyXml, renderServiceXml, renderZoneXml } from './xml';

const word = fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/);
const label = printableText({ minLength: 1, maxLength: 40 });
const portNo = fc.integer({ min: 1, max: 65534 });
const proto = fc.constantFrom('tcp', 'udp', 'sctp', 'dccp' as const);
const ipv4 = fc.ipV4();
const port: fc.Arbitrary<Port> = fc
  .tuple(portNo, fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }), proto)
  .map(([p, span, protocol]) =>
    span === undefined ? { port: p, protocol } : { port: p, to: Math.min(65535, p + span), protocol },
  );
const forward: fc.Arbitrary<ForwardPort> = fc
  .record({
    port: portNo,
    protocol: proto,
    toPort: fc.option(portNo, { nil: undefined }),
    toAddr: fc.option(ipv4, { nil: undefined }),
  })
  .filter((f) => f.toPort !== undefined || f.toAddr !== undefined)
  .map((f) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as unknown as ForwardPort);
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const richRule: fc.Arbitrary<RichRule> = fc
  .record({
    family: opt(fc.constant('ipv4' as const)),
    priority: opt(fc.integer({ min: -100, max: 100 }).filter((n) => n !== 0)),
    source: opt(fc.record({ address: ipv4, invert: opt(fc.constant(true)) })),
    destination: opt(fc.record({ ipset: word })),
    element: opt(
      fc.oneof(
        word.map((name) => ({ kind: 'service' as const, name })),
        port.map((p) => ({ kind: 'port' as const, port: p })),
        fc.constant({ kind: 'masquerade' as const }),
        forward.map((f) => ({ kind: 'forward-port' as const, forward: f })),
        word.map((name) => ({ kind: 'icmp-block' as const, name })),
      ),
    ),
    log: opt(fc.record({ prefix: opt(word), level: opt(fc.constantFrom('info', 'warning' as const)) })),
    action: opt(
      fc.oneof(
        fc.constant({ type: 'accept' as const }),
        fc.constant({ type: 'drop' as const }),
        fc.constantFrom(...REJECT_TYPES).map((w) => ({ type: 'reject' as const, with: w })),
      ),
    ),
  })
  .map((r) => JSON.parse(JSON.stringify(r)) as RichRule);
const strip = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

const zone: fc.Arbitrary<Zone> = fc
  .record({
    name: word,
    short: opt(label),
    description: opt(label),
    target: fc.constantFrom('default', 'ACCEPT', 'DROP', '%%REJECT%%' as const),
    interfaces: fc.array(word, { maxLength: 3 }),
    sources: fc.array(
      fc.oneof(
        ipv4.map((address) => ({ address })),
        word.map((ipset) => ({ ipset })),
      ),
      { maxLength: 2 },
    ),
    services: fc.array(word, { maxLength: 4 }),
    ports: fc.array(port, { maxLength: 3 }),
    protocols: fc.array(word, { maxLength: 2 }),
    icmpBlocks: fc.array(word, { maxLength: 2 }),
    icmpBlockInversion: fc.boolean(),
    masquerade: fc.boolean(),
    forward: fc.boolean(),
    forwardPorts: fc.array(forward, { maxLength: 2 }),
    sourcePorts: fc.array(port, { maxLength: 2 }),
    richRules: fc.array(richRule, { maxLength: 3 }),
  })
  .map((z) => ZoneSchema.parse(strip(z)));

const service: fc.Arbitrary<Service> = fc
  .record({
    name: word,
    short: opt(label),
    ports: fc.array(port, { maxLength: 4 }),
    protocols: fc.array(word, { maxLength: 2 }),
    sourcePorts: fc.array(port, { maxLength: 2 }),
    helpers: fc.array(fc.stringMatching(/^[a-z][a-z0-9.-]{0,11}$/), { maxLength: 2 }),
    destination: opt(fc.record({ ipv4: ipv4 })),
    includes: fc.array(word, { maxLength: 2 }),
  })
  .map((s) => ServiceSchema.parse(strip(s)));

const policy: fc.Arbitrary<Policy> = fc
  .record({
    name: word,
    description: opt(label),
    target: fc.constantFrom('CONTINUE', 'ACCEPT', 'DROP', 'REJECT' as const),
    priority: fc.integer({ min: -32768, max: 32767 }),
    ingressZones: fc.array(word, { minLength: 1, maxLength: 2 }),
    egressZones: fc.array(word, { minLength: 1, maxLength: 2 }),
    services: fc.array(word, { maxLength: 3 }),
    masquerade: fc.boolean(),
    forwardPorts: fc.array(forward, { maxLength: 2 }),
    richRules: fc.array(richRule, { maxLength: 2 }),
  })
  .map((p) => PolicySchema.parse(strip(p)));

describe('zone XML', () => {
  it('renders the invis external zone the way firewalld reads it', () => {
    const xml = renderZoneXml(
      ZoneSchema.parse({
        name: 'external',
        target: 'DROP',
        interfaces: ['extern'],
        services: ['invis-ssh', 'http'],
        icmpBlockInversion: true,
        masquerade: true,
        forwardPorts: [{ port: 8080, protocol: 'tcp', toPort: 80, toAddr: '10.1.2.3' }],
        richRules: [
          {
            family: 'ipv4',
            source: { address: '192.0.2.0/24' },
            element: { kind: 'service', name: 'http' },
            action: { type: 'accept' },
          },
        ],
      }),
    );
    expect(xml).toBe(`<?xml version="1.0" encoding="utf-8"?>
<!-- generated by @invis/firewalld — do not edit -->
<zone target="DROP">
  <interface name="extern"/>
  <icmp-block-inversion/>
  <service name="invis-ssh"/>
  <service name="http"/>
  <masquerade/>
  <forward-port port="8080" protocol="tcp" to-port="80" to-addr="10.1.2.3"/>
  <rule family="ipv4">
    <source address="192.0.2.0/24"/>
    <service name="http"/>
    <accept/>
  </rule>
</zone>
`);
  });

  it('reads what firewalld itself writes (other order, invert="True", no marker)', () => {
    const z = parseZoneXml(
      'lab',
      `<?xml version="1.0" encoding="utf-8"?>
<zone>
  <short>Lab &amp; Co</short>
  <service name="ssh"/>
  <port port="9000-9010" protocol="tcp"/>
  <rule family="ipv4" priority="-5">
    <source address="10.0.0.0/8" invert="True"/>
    <port port="22" protocol="tcp"/>
    <log prefix="ssh" level="info"/>
    <reject type="icmp-port-unreachable"/>
  </rule>
  <interface name="labfw0"/>
</zone>`,
    );
    expect(z).toMatchObject({
      name: 'lab',
      short: 'Lab & Co',
      target: 'default',
      interfaces: ['labfw0'],
      services: ['ssh'],
      ports: [{ port: 9000, to: 9010, protocol: 'tcp' }],
      richRules: [
        {
          family: 'ipv4',
          priority: -5,
          source: { address: '10.0.0.0/8', invert: true },
          element: { kind: 'port', port: { port: 22, protocol: 'tcp' } },
          log: { prefix: 'ssh', level: 'info' },
          action: { type: 'reject', with: 'icmp-port-unreachable' },
        },
      ],
    });
  });

  it.each([
    ['<zone><bogus/></zone>', 'FW_PARSE_ERROR'],
    ['<zone><short>x</zone>', 'FW_INVALID_ZONE'],
    ['<service/>', 'FW_INVALID_ZONE'],
    ['<zone><port port="99999" protocol="tcp"/></zone>', 'FW_INVALID_MODEL'],
    ['<zone><port port="80"/></zone>', 'FW_PARSE_ERROR'],
    ['<zone><port port="x" protocol="tcp"/></zone>', 'FW_INVALID_PORT'],
    ['<zone target="WRONG"/>', 'FW_INVALID_MODEL'],
    ['<zone><rule><service name="ssh"/><accept><limit value="1/m"/></accept></rule></zone>', 'FW_PARSE_ERROR'],
    ['<zone><rule><audit/></rule></zone>', 'FW_PARSE_ERROR'],
  ])('%s → %s', (xml, code) => {
    expect(() => parseZoneXml('z', xml)).toThrow(expect.objectContaining({ code }));
  });

  it('round-trips random zones: model → XML → model → identical XML', () => {
    fc.assert(
      fc.property(zone, (z) => {
        const xml = renderZoneXml(z);
        const back = parseZoneXml(z.name, xml);
        expect(back).toEqual(z);
        expect(renderZoneXml(back)).toBe(xml);
      }),
    );
  });

  it('random junk gives a FirewalldError, never a crash', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `<zone>${s}</zone>`),
        ),
        (junk) => {
          try {
            parseZoneXml('j', junk);
          } catch (e) {
            expect(e).toBeInstanceOf(FirewalldError);
          }
        },
      ),
    );
  });
});

describe('service and policy XML', () => {
  it('round-trips random services', () => {
    fc.assert(
      fc.property(service, (s) => {
        const xml = renderServiceXml(s);
        expect(parseServiceXml(s.name, xml)).toEqual(s);
      }),
    );
  });

  it('round-trips random policies', () => {
    fc.assert(
      fc.property(policy, (p) => {
        const xml = renderPolicyXml(p);
        expect(parsePolicyXml(p.name, xml)).toEqual(p);
      }),
    );
  });

  it('maps the deprecated <module> to a helper', () => {
    const s = parseServiceXml('nb', '<service><module name="nf_conntrack_netbios_ns"/></service>');
    expect(s.helpers).toEqual(['netbios-ns']);
  });

  it('rejects a policy without zones and junk', () => {
    expect(() => parsePolicyXml('p', '<policy target="ACCEPT"/>')).toThrow(
      expect.objectContaining({ code: 'FW_INVALID_MODEL' }),
    );
    fc.assert(
      fc.property(fc.string(), (junk) => {
        expect(() => parsePolicyXml('p', junk)).toThrow(FirewalldError);
        expect(() => parseServiceXml('s', `<service>${junk}`)).toThrow(FirewalldError);
      }),
    );
  });
});
