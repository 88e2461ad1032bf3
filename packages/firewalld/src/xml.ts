// Pure render/parse of firewalld's zone, service and policy XML. No fs, no programs.
// Rendering is canonical (fixed element order, two-space indent), so render → parse → render
// is byte-identical; parsing accepts what firewalld itself writes (any order, `invert="True"`).
import { generatedMarker } from '@invis/host';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { z } from 'zod';
import { type FirewalldErrorName, firewalldError, invalidModel } from './errors';
import {
  type ForwardPort,
  type Policy,
  PolicySchema,
  type Port,
  type RichRule,
  type RichRuleElement,
  type Service,
  ServiceSchema,
  type Source,
  type Zone,
  ZoneSchema,
} from './model';

/** First line after the XML declaration of every file we write. */
const MARKER = generatedMarker('@invis/firewalld', 'xml');

type Attrs = Record<string, string | number | undefined>;

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function element(tag: string, attrs: Attrs = {}, indent = '  '): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
  return `${indent}<${tag}${a}/>`;
}

const textElement = (tag: string, text: string | undefined): string[] =>
  text === undefined ? [] : [`  <${tag}>${escapeXml(text)}</${tag}>`];

const portValue = (p: { port: number; to?: number | undefined }): string =>
  p.to === undefined ? String(p.port) : `${p.port}-${p.to}`;

const portAttrs = (p: Port): Attrs => ({ port: portValue(p), protocol: p.protocol });

const forwardAttrs = (f: ForwardPort): Attrs => ({
  port: portValue(f),
  protocol: f.protocol,
  'to-port': f.toPort,
  'to-addr': f.toAddr,
});

function sourceAttrs(s: Source): Attrs {
  if ('address' in s) return { address: s.address };
  if ('mac' in s) return { mac: s.mac };
  return { ipset: s.ipset };
}

function ruleElement(e: RichRuleElement, indent: string): string {
  switch (e.kind) {
    case 'service':
      return element('service', { name: e.name }, indent);
    case 'port':
      return element('port', portAttrs(e.port), indent);
    case 'source-port':
      return element('source-port', portAttrs(e.port), indent);
    case 'protocol':
      return element('protocol', { value: e.value }, indent);
    case 'icmp-block':
    case 'icmp-type':
      return element(e.kind, { name: e.name }, indent);
    case 'masquerade':
      return element('masquerade', {}, indent);
    case 'forward-port':
      return element('forward-port', forwardAttrs(e.forward), indent);
  }
}

function renderRule(rule: RichRule): string[] {
  const inner = '    ';
  const lines = [
    `  <rule${rule.family ? ` family="${rule.family}"` : ''}${rule.priority ? ` priority="${rule.priority}"` : ''}>`,
  ];
  for (const tag of ['source', 'destination'] as const) {
    const m = rule[tag];
    if (!m) continue;
    const target = 'address' in m ? { address: m.address } : { ipset: m.ipset };
    lines.push(element(tag, { ...target, invert: m.invert ? 'True' : undefined }, inner));
  }
  if (rule.element) lines.push(ruleElement(rule.element, inner));
  if (rule.log) lines.push(element('log', { prefix: rule.log.prefix, level: rule.log.level }, inner));
  if (rule.action) {
    lines.push(
      rule.action.type === 'reject'
        ? element('reject', { type: rule.action.with }, inner)
        : element(rule.action.type, {}, inner),
    );
  }
  lines.push('  </rule>');
  return lines;
}

/** Elements zones and policies share, in firewalld's writer order. */
function commonBody(o: Zone | Policy): string[] {
  return [
    ...o.services.map((name) => element('service', { name })),
    ...o.ports.map((p) => element('port', portAttrs(p))),
    ...o.protocols.map((value) => element('protocol', { value })),
    ...o.icmpBlocks.map((name) => element('icmp-block', { name })),
    ...(o.masquerade ? [element('masquerade')] : []),
    ...o.forwardPorts.map((f) => element('forward-port', forwardAttrs(f))),
    ...o.sourcePorts.map((p) => element('source-port', portAttrs(p))),
    ...o.richRules.flatMap(renderRule),
  ];
}

function document(root: string, attrs: Attrs, body: string[]): string {
  const open = element(root, attrs, '').slice(0, -2);
  return ['<?xml version="1.0" encoding="utf-8"?>', MARKER, `${open}>`, ...body, `</${root}>`, ''].join('\n');
}

/**
 * Renders a zone as `zones/<name>.xml` content.
 * @param zone a resolved zone (see {@link ZoneSchema})
 * @returns the XML text, with the generated-by-@invis/firewalld marker after the XML declaration
 * @example renderZoneXml(ZoneSchema.parse({ name: 'external', target: 'DROP', masquerade: true }))
 */
export function renderZoneXml(zone: Zone): string {
  return document('zone', { target: zone.target === 'default' ? undefined : zone.target }, [
    ...textElement('short', zone.short),
    ...textElement('description', zone.description),
    ...zone.interfaces.map((name) => element('interface', { name })),
    ...zone.sources.map((s) => element('source', sourceAttrs(s))),
    ...(zone.icmpBlockInversion ? [element('icmp-block-inversion')] : []),
    ...(zone.forward ? [element('forward')] : []),
    ...commonBody(zone),
  ]);
}

/**
 * Renders a service as `services/<name>.xml` content.
 * @param service a resolved service
 * @returns the XML text
 */
export function renderServiceXml(service: Service): string {
  return document('service', {}, [
    ...textElement('short', service.short),
    ...textElement('description', service.description),
    ...service.ports.map((p) => element('port', portAttrs(p))),
    ...service.protocols.map((value) => element('protocol', { value })),
    ...service.sourcePorts.map((p) => element('source-port', portAttrs(p))),
    ...service.helpers.map((name) => element('helper', { name })),
    ...(service.destination ? [element('destination', { ...service.destination })] : []),
    ...service.includes.map((s) => element('include', { service: s })),
  ]);
}

/**
 * Renders a policy as `policies/<name>.xml` content.
 * @param policy a resolved policy
 * @returns the XML text
 */
export function renderPolicyXml(policy: Policy): string {
  return document('policy', { target: policy.target, priority: policy.priority }, [
    ...textElement('short', policy.short),
    ...textElement('description', policy.description),
    ...policy.ingressZones.map((name) => element('ingress-zone', { name })),
    ...policy.egressZones.map((name) => element('egress-zone', { name })),
    ...commonBody(policy),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface Node {
  tag: string;
  attrs: Record<string, string>;
  children: Node[];
  text: string;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

function toNodes(raw: unknown): Node[] {
  if (!Array.isArray(raw)) return [];
  const nodes: Node[] = [];
  for (const item of raw as Record<string, unknown>[]) {
    const tag = Object.keys(item).find((k) => k !== ':@');
    if (tag === undefined || tag === '#text' || tag.startsWith('?')) continue;
    const children = item[tag];
    const text = Array.isArray(children)
      ? (children as Record<string, unknown>[]).map((c) => (typeof c['#text'] === 'string' ? c['#text'] : '')).join('')
      : '';
    nodes.push({ tag, attrs: (item[':@'] as Record<string, string>) ?? {}, children: toNodes(children), text });
  }
  return nodes;
}

type Kind = 'zone' | 'service' | 'policy';
const INVALID: Record<Kind, FirewalldErrorName> = {
  zone: 'INVALID_ZONE',
  service: 'INVALID_SERVICE',
  policy: 'INVALID_POLICY',
};

function rootOf(kind: Kind, name: string, xml: string): Node {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw firewalldError(
      INVALID[kind],
      `${INVALID[kind]}: not a valid ${kind} file: ${valid.err.msg} (line ${valid.err.line})`,
      { kind, name, line: valid.err.line },
    );
  }
  const roots = toNodes(parser.parse(xml));
  const root = roots[0];
  if (roots.length !== 1 || root?.tag !== kind) {
    throw firewalldError(INVALID[kind], `${INVALID[kind]}: not a valid ${kind} file: root element is not <${kind}>`, {
      kind,
      name,
    });
  }
  return root;
}

function pushTo(out: Record<string, unknown>, key: string, value: unknown): void {
  const list = out[key];
  if (Array.isArray(list)) list.push(value);
  else out[key] = [value];
}

class Reader {
  constructor(
    readonly kind: Kind,
    readonly name: string,
  ) {}

  fail(message: string): never {
    throw firewalldError('PARSE_ERROR', `PARSE_ERROR: ${message}`, { kind: this.kind, name: this.name });
  }

  attr(node: Node, key: string): string {
    const v = node.attrs[key];
    if (v === undefined) this.fail(`Missing attribute ${key} for ${node.tag}`);
    return v;
  }

  port(node: Node): Port {
    return { ...this.range(this.attr(node, 'port')), protocol: this.attr(node, 'protocol') as Port['protocol'] };
  }

  range(value: string): { port: number; to?: number } {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value);
    if (!m) throw firewalldError('INVALID_PORT', `INVALID_PORT: '${value}'`, { kind: this.kind, name: this.name });
    return m[2] === undefined ? { port: Number(m[1]) } : { port: Number(m[1]), to: Number(m[2]) };
  }

  forward(node: Node): ForwardPort {
    const f: Record<string, unknown> = {
      ...this.range(this.attr(node, 'port')),
      protocol: this.attr(node, 'protocol'),
    };
    if (node.attrs['to-port'] !== undefined) f.toPort = Number(node.attrs['to-port']);
    if (node.attrs['to-addr'] !== undefined) f.toAddr = node.attrs['to-addr'];
    return f as unknown as ForwardPort;
  }

  rule(node: Node): RichRule {
    const rule: Record<string, unknown> = {};
    if (node.attrs.family !== undefined) rule.family = node.attrs.family;
    if (node.attrs.priority !== undefined) rule.priority = Number(node.attrs.priority);
    for (const child of node.children) {
      const a = child.attrs;
      // <limit> inside <log>/<accept>/… is not modelled; refuse rather than drop it.
      if (child.children.length) {
        this.fail(`Unsupported element ${child.children[0]?.tag} in ${child.tag}`);
      }
      switch (child.tag) {
        case 'source':
        case 'destination': {
          const m: Record<string, unknown> = a.address !== undefined ? { address: a.address } : { ipset: a.ipset };
          if (a.invert !== undefined && /^(yes|true)$/i.test(a.invert)) m.invert = true;
          rule[child.tag] = m;
          break;
        }
        case 'service':
          rule.element = { kind: 'service', name: this.attr(child, 'name') };
          break;
        case 'port':
        case 'source-port':
          rule.element = { kind: child.tag, port: this.port(child) };
          break;
        case 'protocol':
          rule.element = { kind: 'protocol', value: this.attr(child, 'value') };
          break;
        case 'icmp-block':
        case 'icmp-type':
          rule.element = { kind: child.tag, name: this.attr(child, 'name') };
          break;
        case 'masquerade':
          rule.element = { kind: 'masquerade' };
          break;
        case 'forward-port':
          rule.element = { kind: 'forward-port', forward: this.forward(child) };
          break;
        case 'log': {
          const log: Record<string, string> = {};
          if (a.prefix !== undefined) log.prefix = a.prefix;
          if (a.level !== undefined) log.level = a.level;
          rule.log = log;
          break;
        }
        case 'accept':
        case 'drop':
          rule.action = { type: child.tag };
          break;
        case 'reject':
          rule.action = a.type === undefined ? { type: 'reject' } : { type: 'reject', with: a.type };
          break;
        default:
          this.fail(`Unexpected element ${child.tag} in rule`);
      }
    }
    return rule as RichRule;
  }

  /** Fills the fields zones and policies share; returns false for elements it does not know. */
  common(out: Record<string, unknown[] | unknown>, child: Node): boolean {
    const push = (key: string, value: unknown): void => pushTo(out, key, value);
    switch (child.tag) {
      case 'short':
      case 'description':
        out[child.tag] = child.text;
        return true;
      case 'service':
        push('services', this.attr(child, 'name'));
        return true;
      case 'port':
        push('ports', this.port(child));
        return true;
      case 'protocol':
        push('protocols', this.attr(child, 'value'));
        return true;
      case 'icmp-block':
        push('icmpBlocks', this.attr(child, 'name'));
        return true;
      case 'masquerade':
        out.masquerade = true;
        return true;
      case 'forward-port':
        push('forwardPorts', this.forward(child));
        return true;
      case 'source-port':
        push('sourcePorts', this.port(child));
        return true;
      case 'rule':
        push('richRules', this.rule(child));
        return true;
      default:
        return false;
    }
  }

  finish<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.output<S> {
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    throw invalidModel(`${this.kind} '${this.name}'`, result.error.issues, result.error, {
      kind: this.kind,
      name: this.name,
    });
  }
}

/**
 * Parses `zones/<name>.xml`.
 * @param name zone name (the file name without `.xml`)
 * @param xml file content
 * @returns the resolved zone
 * @throws FirewalldError `FW_INVALID_ZONE` (not XML / wrong root), `FW_PARSE_ERROR` (unknown element,
 *   missing attribute), `FW_INVALID_PORT`, `FW_INVALID_MODEL` (values out of range)
 */
export function parseZoneXml(name: string, xml: string): Zone {
  const r = new Reader('zone', name);
  const root = rootOf('zone', name, xml);
  const out: Record<string, unknown> = { name };
  if (root.attrs.target !== undefined && root.attrs.target !== '{chain}_{zone}') out.target = root.attrs.target;
  for (const child of root.children) {
    if (r.common(out, child)) continue;
    switch (child.tag) {
      case 'interface':
        pushTo(out, 'interfaces', r.attr(child, 'name'));
        break;
      case 'source': {
        const a = child.attrs;
        const s =
          a.address !== undefined ? { address: a.address } : a.mac !== undefined ? { mac: a.mac } : { ipset: a.ipset };
        pushTo(out, 'sources', s);
        break;
      }
      case 'icmp-block-inversion':
        out.icmpBlockInversion = true;
        break;
      case 'forward':
        out.forward = true;
        break;
      default:
        r.fail(`Unexpected element ${child.tag}`);
    }
  }
  return r.finish(ZoneSchema, out);
}

/**
 * Parses `services/<name>.xml`.
 * @param name service name
 * @param xml file content
 * @returns the resolved service
 * @throws FirewalldError `FW_INVALID_SERVICE`, `FW_PARSE_ERROR`, `FW_INVALID_PORT`, `FW_INVALID_MODEL`
 */
export function parseServiceXml(name: string, xml: string): Service {
  const r = new Reader('service', name);
  const root = rootOf('service', name, xml);
  const out: Record<string, unknown> = { name };
  const push = (key: string, value: unknown): void => pushTo(out, key, value);
  for (const child of root.children) {
    switch (child.tag) {
      case 'short':
      case 'description':
        out[child.tag] = child.text;
        break;
      case 'port':
        push('ports', r.port(child));
        break;
      case 'protocol':
        push('protocols', r.attr(child, 'value'));
        break;
      case 'source-port':
        push('sourcePorts', r.port(child));
        break;
      case 'helper':
      case 'module':
        // `module` is the deprecated spelling (nf_conntrack_netbios_ns for helper netbios-ns).
        push(
          'helpers',
          r
            .attr(child, 'name')
            .replace(/^nf_conntrack_/, '')
            .replace(/_/g, '-'),
        );
        break;
      case 'include':
        push('includes', r.attr(child, 'service'));
        break;
      case 'destination':
        out.destination = { ...child.attrs };
        break;
      default:
        r.fail(`Unexpected element ${child.tag}`);
    }
  }
  return r.finish(ServiceSchema, out);
}

/**
 * Parses `policies/<name>.xml`.
 * @param name policy name
 * @param xml file content
 * @returns the resolved policy
 * @throws FirewalldError `FW_INVALID_POLICY`, `FW_PARSE_ERROR`, `FW_INVALID_PORT`, `FW_INVALID_MODEL`
 */
export function parsePolicyXml(name: string, xml: string): Policy {
  const r = new Reader('policy', name);
  const root = rootOf('policy', name, xml);
  const out: Record<string, unknown> = { name };
  if (root.attrs.target !== undefined) out.target = root.attrs.target;
  if (root.attrs.priority !== undefined) out.priority = Number(root.attrs.priority);
  for (const child of root.children) {
    if (r.common(out, child)) continue;
    if (child.tag === 'ingress-zone') pushTo(out, 'ingressZones', r.attr(child, 'name'));
    else if (child.tag === 'egress-zone') pushTo(out, 'egressZones', r.attr(child, 'name'));
    else r.fail(`Unexpected element ${child.tag}`);
  }
  return r.finish(PolicySchema, out);
}
