/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Hosts, leases and DNS records pages (admin). Like every page they only read; each change is a
// REST call (`data-api`) the page script sends with the session's CSRF token.
import { DEVICE_TYPES, type DeviceType } from '@invis/dhcp-config';
import type { DnsRecord } from '@invis/dns-zone';
import { EDITABLE_TYPES, isEditableRecord, rdataText } from '../api/dns';
import { requireHosts } from '../api/hosts';
import type { BackgroundSyncState } from '../background-sync';
import type { PortalContext } from '../context';
import { PortalError } from '../errors';
import type { Host, LeaseView } from '../hosts';
import type { SessionUser } from '../sessions';
import type { TextKey } from './i18n';
import { Field, Layout, Msg, type View } from './layout';
import { Table } from './pages';

/** How routes.tsx registers a page: login required, `admin` for admins only. */
export type PageRegistrar = (
  path: string,
  admin: boolean,
  render: (c: PortalContext, v: View & { user: SessionUser }) => Promise<unknown>,
) => void;

const enc = encodeURIComponent;
// Clients first: most hosts are PCs, and the computer-account box below is ticked for them.
const TYPE_ORDER: DeviceType[] = ['client', ...DEVICE_TYPES.filter((t) => t !== 'client')];
const typeText = (v: View, t: DeviceType | null): string => v.t(`dtype_${t ?? 'none'}` as TextKey);
const leaseText = (v: View, state: string): string =>
  v.t(state === 'active' ? 'lease_active' : state === 'expired' ? 'lease_expired' : 'lease_other');

function TypeSelect({ v, id, selected }: { v: View; id: string; selected?: DeviceType | null }) {
  return (
    <>
      <label for={id}>{v.t('deviceType')}</label>
      <select id={id} name="type">
        {TYPE_ORDER.map((t) => (
          <option value={t} selected={t === selected}>
            {typeText(v, t)}
          </option>
        ))}
      </select>
    </>
  );
}

/** Admin: the new-host form (with the next free address per type), the hosts and the leases. */
export function HostsPage(props: {
  v: View;
  hosts: Host[];
  leases: LeaseView[];
  offers: Record<DeviceType, string | null>;
  /** The push to the DHCP server (null: the setup's timer does it). */
  dhcpSync: BackgroundSyncState | null;
}) {
  const { v, hosts, leases, offers, dhcpSync } = props;
  return (
    <Layout v={v} title={v.t('hostsTitle')}>
      {dhcpSync?.lastError ? (
        <p class="banner" role="alert" id="dhcp-sync-error">
          {`${v.t('dhcpSyncFailed')} ${dhcpSync.lastError}`}
        </p>
      ) : null}
      <h2>{v.t('newHost')}</h2>
      <form method="post" data-api="POST /api/hosts" data-next="/hosts" id="new-host">
        <Field name="name" label={v.t('name')} required />
        <TypeSelect v={v} id="f-type" />
        <Field name="mac" label={v.t('mac')} required />
        <Field name="ip" label={v.t('ipAddress')} />
        <p class="muted" id="offers">
          {`${v.t('ipAuto')} ${TYPE_ORDER.map((t) => `${typeText(v, t)} ${offers[t] ?? '–'}`).join(' · ')}`}
        </p>
        <Field name="comment" label={v.t('comment')} />
        <label>
          <input type="checkbox" name="computer" checked data-follows="type" data-checked-for="client server" />
          {v.t('computerAccount')}
        </label>
        <button type="submit">{v.t('create')}</button>
        <Msg />
      </form>
      <h2>{v.t('navHosts')}</h2>
      {hosts.length === 0 ? (
        <p>{v.t('noHosts')}</p>
      ) : (
        <Table
          head={[
            v.t('name'),
            v.t('deviceType'),
            v.t('ipAddress'),
            v.t('mac'),
            v.t('computerAccount'),
            v.t('lease'),
            v.t('comment'),
          ]}
        >
          {hosts.map((h) => (
            <tr>
              <td>
                <a href={`/hosts/${enc(h.name)}`}>{h.name}</a>
              </td>
              <td>{typeText(v, h.type)}</td>
              <td>{h.ip}</td>
              <td>{h.mac}</td>
              <td>{v.t(h.computer ? 'yes' : 'no')}</td>
              <td>{h.lease ? leaseText(v, h.lease.state) : v.t('noLease')}</td>
              <td>{h.comment}</td>
            </tr>
          ))}
        </Table>
      )}
      <h2>{v.t('leasesTitle')}</h2>
      {leases.length === 0 ? <p>{v.t('noLeases')}</p> : <LeaseTable v={v} leases={leases} />}
    </Layout>
  );
}

function LeaseTable({ v, leases }: { v: View; leases: LeaseView[] }) {
  return (
    <Table head={[v.t('ipAddress'), v.t('mac'), v.t('name'), v.t('lease'), v.t('leaseEnds'), v.t('reservedAs')]}>
      {leases.map((l) => (
        <tr>
          <td>{l.ip}</td>
          <td>{l.mac ?? ''}</td>
          <td>{l.hostname ?? ''}</td>
          <td>{leaseText(v, l.state)}</td>
          <td>{l.ends ? v.when(l.ends) : ''}</td>
          <td>
            {l.reservedAs ? (
              <a href={`/hosts/${enc(l.reservedAs)}`}>{l.reservedAs}</a>
            ) : (
              l.mac && (
                <form method="post" class="inline" data-api={`POST /api/dhcp/leases/${l.ip}/reserve`}>
                  <TypeSelect v={v} id={`r-${l.ip}`} />
                  <button type="submit" class="secondary">
                    {v.t('reserve')}
                  </button>
                  <Msg />
                </form>
              )
            )}
          </td>
        </tr>
      ))}
    </Table>
  );
}

/** Admin: one host — change or rename it (all three parts follow), or delete it. */
export function HostPage({ v, h }: { v: View; h: Host }) {
  const api = `/api/hosts/${enc(h.name)}`;
  return (
    <Layout v={v} title={v.t('hostTitle', { name: h.name })}>
      <p class="muted">{`${h.fqdn} · ${v.t('computerAccount')}: ${v.t(h.computer ? 'yes' : 'no')}`}</p>
      <form method="post" data-api={`PATCH ${api}`} data-next="/hosts">
        <Field name="name" label={v.t('name')} value={h.name} required />
        <TypeSelect v={v} id="f-type" selected={h.type} />
        <Field name="mac" label={v.t('mac')} value={h.mac} required />
        <Field name="ip" label={v.t('ipAddress')} value={h.ip} required />
        <Field name="comment" label={v.t('comment')} value={h.comment} />
        <button type="submit">{v.t('save')}</button>
        <Msg />
      </form>
      <form method="post" data-api={`DELETE ${api}`} data-next="/hosts" data-confirm={v.t('confirmDeleteHost')}>
        <button type="submit" class="danger">
          {v.t('delete')}
        </button>
        <Msg />
      </form>
    </Layout>
  );
}

/** Admin: the zones. */
export function DnsZonesPage({ v, zones }: { v: View; zones: string[] }) {
  return (
    <Layout v={v} title={v.t('dnsTitle')}>
      <ul>
        {zones.map((z) => (
          <li>
            <a href={`/dns/${enc(z)}`}>{z}</a>
          </li>
        ))}
      </ul>
    </Layout>
  );
}

/** Admin: one zone's records — add, change (value, TTL) and delete. SOA and NS are shown, not edited. */
export function DnsZonePage({ v, zone, records }: { v: View; zone: string; records: DnsRecord[] }) {
  const api = `/api/dns/zones/${enc(zone)}/records`;
  return (
    <Layout v={v} title={v.t('recordsTitle', { zone })}>
      <h2>{v.t('addRecord')}</h2>
      <form method="post" data-api={`POST ${api}`} id="new-record">
        <Field name="name" label={v.t('recordName')} required />
        <label for="f-rtype">{v.t('recordType')}</label>
        <select id="f-rtype" name="type">
          {EDITABLE_TYPES.map((t) => (
            <option value={t}>{t}</option>
          ))}
        </select>
        <Field name="value" label={v.t('recordValue')} required />
        <p class="muted">{v.t('recordValueHint')}</p>
        <Field name="ttl" label={v.t('ttl')} type="number" />
        <button type="submit">{v.t('addRecord')}</button>
        <Msg />
      </form>
      <Table head={[v.t('name'), v.t('recordType'), v.t('ttl'), v.t('recordValue'), '']}>
        {records.map((r, i) => {
          const key = { name: `${r.name}.`, type: r.type, value: rdataText(r), ttl: r.ttl };
          return (
            <tr>
              <td>{r.name}</td>
              <td>{r.type}</td>
              <td>{String(r.ttl)}</td>
              <td>
                {isEditableRecord(r) ? (
                  <form method="post" class="inline" data-api={`PUT ${api}`} data-body={JSON.stringify(key)}>
                    <label for={`e-${i}`} class="muted">
                      {v.t('recordValue')}
                    </label>
                    <input id={`e-${i}`} name="newValue" value={key.value} required />
                    <button type="submit" class="secondary">
                      {v.t('editRecord')}
                    </button>
                    <Msg />
                  </form>
                ) : (
                  key.value
                )}
              </td>
              <td>
                {isEditableRecord(r) && (
                  <form
                    method="post"
                    class="inline"
                    data-api={`DELETE ${api}`}
                    data-body={JSON.stringify(key)}
                    data-confirm={v.t('confirmDelete')}
                  >
                    <button type="submit" class="danger">
                      {v.t('delete')}
                    </button>
                    <Msg />
                  </form>
                )}
              </td>
            </tr>
          );
        })}
      </Table>
    </Layout>
  );
}

/** Registers the hosts and DNS pages through routes.tsx's page helper. */
export function registerHostPages(page: PageRegistrar): void {
  page('/hosts', true, async (c, v) => {
    const hosts = requireHosts(c);
    const [list, leases, offers, dhcpSync] = await Promise.all([
      hosts.list(),
      hosts.leases(),
      hosts.offers(),
      hosts.dhcpSync(),
    ]);
    return <HostsPage v={v} hosts={list} leases={leases} offers={offers} dhcpSync={dhcpSync} />;
  });
  page('/hosts/:name', true, async (c, v) => {
    const name = c.req.param('name') ?? '';
    const host = await requireHosts(c).get(name);
    if (!host) throw new PortalError('PORTAL_NOT_FOUND', `no host ${name}`);
    return <HostPage v={v} h={host} />;
  });
  page('/dns', true, async (c, v) => {
    const dns = c.get('deps').dns;
    if (!dns) throw new PortalError('PORTAL_NOT_FOUND', 'this portal manages no DNS zones');
    return <DnsZonesPage v={v} zones={[...(await dns.listZones())].sort()} />;
  });
  page('/dns/:zone', true, async (c, v) => {
    const dns = c.get('deps').dns;
    const zone = c.req.param('zone') ?? '';
    if (!dns || !(await dns.listZones()).includes(zone)) {
      throw new PortalError('PORTAL_NOT_FOUND', `no zone ${zone}`);
    }
    return <DnsZonePage v={v} zone={zone} records={await dns.listRecords(zone)} />;
  });
}
