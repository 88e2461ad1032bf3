/** @jsxRuntime automatic @jsxImportSource hono/jsx */

import type { JobState } from '@invis/host';
import type { Child } from 'hono/jsx';
import type { AuditEntry } from '../audit';
import { ACCOUNT_TYPES, type DirectoryGroup, type DirectoryUser, GROUP_TYPES, type Page } from '../directory';
import { SERVICE_ACTIONS, type ServiceState } from '../services';
import type { ServerStatus } from '../status';
import { type ApiToken, TOKEN_SCOPES } from '../tokens';
import { isTextKey, type TextKey } from './i18n';
import { Field, Layout, Msg, type View } from './layout';

/** A scrollable table (phones) with column headers. */
export function Table({ head, children }: { head: string[]; children: Child }) {
  return (
    <div class="table">
      <table>
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col">{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** GET search form of a list page. */
function SearchForm({ v, action, search, children }: { v: View; action: string; search: string; children?: Child }) {
  return (
    <form method="get" action={action}>
      <label for="q">{v.t('search')}</label>
      <input id="q" name="search" type="search" value={search} />
      <button type="submit">{v.t('search')}</button>
      {children}
    </form>
  );
}

const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
const enc = encodeURIComponent;

/** Old and new password with the submit button (own change and expired-password change). */
function PasswordChangeFields({ v, idPrefix }: { v: View; idPrefix?: string }) {
  const p = idPrefix ? { idPrefix } : {};
  return (
    <>
      <Field
        name="oldPassword"
        label={v.t('oldPassword')}
        type="password"
        required
        autocomplete="current-password"
        {...p}
      />
      <Field
        name="newPassword"
        label={v.t('newPassword')}
        type="password"
        required
        autocomplete="new-password"
        {...p}
      />
      <button type="submit">{v.t('changePassword')}</button>
      <Msg />
    </>
  );
}

/** Login with the expired-password change form (revealed on PORTAL_PASSWORD_EXPIRED). */
export function LoginPage({ v, next = '/' }: { v: View; next?: string }) {
  return (
    <Layout v={v} title={v.t('loginTitle')}>
      <div class="login">
        <form
          method="post"
          data-api="POST /api/session"
          data-next={next}
          data-reveal-on="PORTAL_PASSWORD_EXPIRED:expired"
        >
          <Field name="username" label={v.t('username')} required autocomplete="username" />
          <Field name="password" label={v.t('password')} type="password" required autocomplete="current-password" />
          <button type="submit">{v.t('login')}</button>
          <Msg />
        </form>
        <section id="expired" hidden>
          <h2>{v.t('expiredTitle')}</h2>
          <form method="post" data-api="POST /api/session/password" data-done={v.t('passwordChanged')} data-reset>
            <Field name="username" label={v.t('username')} required autocomplete="username" idPrefix="x" />
            <PasswordChangeFields v={v} idPrefix="x" />
          </form>
        </section>
      </div>
    </Layout>
  );
}

function Unknown({ v }: { v: View }) {
  return <span class="muted">{v.t('unknown')}</span>;
}

/** Server status for every logged-in user. */
export function StatusPage({ v, s }: { v: View; s: ServerStatus }) {
  const up = `${Math.floor(s.uptimeSeconds / 86400)} ${v.t('days')} ${Math.floor((s.uptimeSeconds % 86400) / 3600)} ${v.t('hours')}`;
  return (
    <Layout v={v} title={v.t('statusTitle')}>
      <div class="table">
        <table>
          <tbody>
            <tr>
              <th scope="row">{v.t('host')}</th>
              <td>{s.hostname}</td>
            </tr>
            <tr>
              <th scope="row">{v.t('kernel')}</th>
              <td>{s.kernel}</td>
            </tr>
            <tr>
              <th scope="row">{v.t('time')}</th>
              <td>
                <time datetime={s.time}>{v.when(s.time)}</time>
              </td>
            </tr>
            <tr>
              <th scope="row">{v.t('uptime')}</th>
              <td>{up}</td>
            </tr>
            <tr>
              <th scope="row">{v.t('load')}</th>
              <td>{s.load.join(' / ')}</td>
            </tr>
            <tr>
              <th scope="row">{v.t('internet')}</th>
              <td>
                {s.internet.state === 'ok' ? `${s.internet.text} (${v.when(s.internet.checkedAt)})` : <Unknown v={v} />}
              </td>
            </tr>
            <tr>
              <th scope="row">{v.t('backup')}</th>
              <td>{s.backup.state === 'ok' ? <When v={v} iso={s.backup.finishedAt} /> : <Unknown v={v} />}</td>
            </tr>
            <tr>
              <th scope="row">{v.t('raid')}</th>
              <td>
                {s.raid.state === 'unknown' ? (
                  <Unknown v={v} />
                ) : (
                  <span class={s.raid.state === 'ok' ? 'ok' : 'bad'}>
                    {s.raid.arrays.map((a) => `${a.name} [${a.status}]`).join(', ') || s.raid.state}
                  </span>
                )}
              </td>
            </tr>
          </tbody>
        </table>
      </div>
      <h2>{v.t('disks')}</h2>
      <Table head={[v.t('path'), v.t('used'), v.t('free')]}>
        {s.disks.map((d) => (
          <tr>
            <td>{d.path}</td>
            {d.state === 'ok' ? (
              <>
                <td class={d.usedPercent > 90 ? 'bad' : d.usedPercent > 80 ? 'warn' : ''}>{`${d.usedPercent} %`}</td>
                <td>{`${gib(d.freeBytes)} / ${gib(d.totalBytes)}`}</td>
              </>
            ) : (
              <td colspan={2}>
                <Unknown v={v} />
              </td>
            )}
          </tr>
        ))}
      </Table>
      <h2>{v.t('jobs')}</h2>
      <JobTable v={v} jobs={s.jobs} />
      <h2>{v.t('services')}</h2>
      <ServiceTable v={v} states={s.services} actions={false} />
      <h2>{v.t('certificates')}</h2>
      <Table head={[v.t('name'), v.t('expires')]}>
        {s.certificates.map((c) => (
          <tr>
            <td>{c.name}</td>
            <td>
              {c.state === 'ok' ? (
                <span
                  class={c.daysLeft < 30 ? 'bad' : 'ok'}
                >{`${v.when(c.notAfter)} (${c.daysLeft} ${v.t('daysLeft')})`}</span>
              ) : (
                <Unknown v={v} />
              )}
            </td>
          </tr>
        ))}
      </Table>
    </Layout>
  );
}

function When({ v, iso }: { v: View; iso: string | undefined }) {
  return iso === undefined ? <span class="muted">–</span> : <time datetime={iso}>{v.when(iso)}</time>;
}

const RESULT_CLASS: Record<JobState['result'], string> = { ok: 'ok', warning: 'warn', failed: 'bad' };

/** Last run, result, next run and last message of every background job. */
function JobTable({ v, jobs }: { v: View; jobs: JobState[] }) {
  if (jobs.length === 0) return <p class="muted">{v.t('noJobs')}</p>;
  const label = (name: string): string => {
    const key = `job_${name}`;
    return isTextKey(key) ? v.t(key) : name;
  };
  return (
    <Table head={[v.t('job'), v.t('jobResult'), v.t('lastRun'), v.t('lastSuccess'), v.t('nextRun'), v.t('jobMessage')]}>
      {jobs.map((job) => (
        <tr>
          <td>{label(job.name)}</td>
          <td class={RESULT_CLASS[job.result]}>{v.t(`result_${job.result}`)}</td>
          <td>
            <When v={v} iso={job.finishedAt} />
          </td>
          <td>
            <When v={v} iso={job.lastSuccessAt} />
          </td>
          <td>
            <When v={v} iso={job.nextRunAt} />
          </td>
          <td>{job.message}</td>
        </tr>
      ))}
    </Table>
  );
}

function ServiceTable({ v, states, actions }: { v: View; states: ServiceState[]; actions: boolean }) {
  return (
    <Table head={[v.t('service'), v.t('state'), ...(actions ? [v.t('action')] : [])]}>
      {states.map((s) => (
        <tr>
          <td>{`${s.name} (${s.unit})`}</td>
          <td class={s.state === 'active' ? 'ok' : s.state === 'failed' ? 'bad' : 'muted'}>
            {s.state === 'unknown' ? v.t('unknown') : s.state}
          </td>
          {actions && (
            <td>
              {SERVICE_ACTIONS.map((a) => (
                <form method="post" class="inline" data-api={`POST /api/services/${s.name}/${a}`}>
                  <button class="secondary" type="submit">
                    {v.t(`act_${a}`)}
                  </button>
                </form>
              ))}
            </td>
          )}
        </tr>
      ))}
    </Table>
  );
}

/** Admin: service states with the allow-listed actions. */
export function ServicesPage({ v, states }: { v: View; states: ServiceState[] }) {
  return (
    <Layout v={v} title={v.t('servicesTitle')}>
      <ServiceTable v={v} states={states} actions />
    </Layout>
  );
}

const linksText = (u: DirectoryUser): string => u.links.map((l) => `${l.url} ${l.label}`).join('\n');

function PasswordExpiry({ v, u }: { v: View; u: DirectoryUser }) {
  return <>{u.passwordExpiresAt === null ? v.t('never') : u.passwordExpiresAt.slice(0, 10)}</>;
}

/** My account: own profile fields, personal links and password change. */
export function AccountPage({ v, u }: { v: View; u: DirectoryUser }) {
  return (
    <Layout v={v} title={v.t('accountTitle')}>
      <p>
        {`${u.displayName} (${u.username}) · ${v.t('groups')}: ${u.groups.join(', ')} · ${v.t('passwordExpires')}: `}
        <PasswordExpiry v={v} u={u} />
      </p>
      <div class="grid">
        <form method="post" data-api="PATCH /api/me" data-keep-empty data-done={v.t('saved')}>
          <h2>{v.t('profile')}</h2>
          <Field name="displayName" label={v.t('displayName')} value={u.displayName} />
          <Field name="telephone" label={v.t('telephone')} value={u.telephone} type="tel" />
          <Field name="office" label={v.t('office')} value={u.office} />
          <label for="f-links">{v.t('links')}</label>
          <textarea id="f-links" name="links" data-links>
            {linksText(u)}
          </textarea>
          <button type="submit">{v.t('save')}</button>
          <Msg />
        </form>
        <form method="post" data-api="POST /api/me/password" data-done={v.t('passwordChanged')} data-reset>
          <h2>{v.t('changePassword')}</h2>
          <PasswordChangeFields v={v} />
        </form>
      </div>
      {u.links.length > 0 && (
        <ul>
          {u.links.map((l) => (
            <li>
              <a href={/^https?:\/\//i.test(l.url) ? l.url : `https://${l.url}`} rel="noopener noreferrer">
                {l.label}
              </a>
            </li>
          ))}
        </ul>
      )}
    </Layout>
  );
}

function Pager({
  v,
  base,
  page,
  pageSize,
  total,
}: {
  v: View;
  base: string;
  page: number;
  pageSize: number;
  total: number;
}) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const join = base.includes('?') ? '&' : '?';
  return (
    <nav class="pager" aria-label={v.t('pagesLabel')}>
      {page > 1 && <a href={`${base}${join}page=${page - 1}`}>{v.t('previous')}</a>}
      <span>{v.t('pageOf', { page, pages, total })}</span>
      {page < pages && <a href={`${base}${join}page=${page + 1}`}>{v.t('next')}</a>}
    </nav>
  );
}

/** Admin: user list with search and paging. */
export function UsersPage(props: {
  v: View;
  result: Page<DirectoryUser>;
  search: string;
  page: number;
  pageSize: number;
}) {
  const { v, result } = props;
  return (
    <Layout v={v} title={v.t('usersTitle')}>
      <SearchForm v={v} action="/users" search={props.search}>
        <a class="button" href="/users/new">
          {v.t('newUser')}
        </a>
      </SearchForm>
      <Table head={[v.t('username'), v.t('displayName'), v.t('accountType'), v.t('state')]}>
        {result.items.map((u) => (
          <tr>
            <td>
              <a href={`/users/${enc(u.username)}`}>{u.username}</a>
            </td>
            <td>{u.displayName}</td>
            <td>{v.t(`type_${u.accountType}`)}</td>
            <td>
              {[u.enabled ? v.t('enabled') : v.t('disabled'), u.locked ? v.t('locked') : ''].filter(Boolean).join(', ')}
            </td>
          </tr>
        ))}
      </Table>
      <Pager
        v={v}
        base={`/users?search=${enc(props.search)}`}
        page={props.page}
        pageSize={props.pageSize}
        total={result.total}
      />
    </Layout>
  );
}

/** A labelled select of `[value, text]` options. */
export function Select({
  id,
  name,
  label,
  options,
}: {
  id: string;
  name: string;
  label: string;
  options: [string, string][];
}) {
  return (
    <>
      <label for={id}>{label}</label>
      <select id={id} name={name}>
        {options.map(([value, text]) => (
          <option value={value}>{text}</option>
        ))}
      </select>
    </>
  );
}

/** Delete with confirmation and, where a file server exists, an "archive" choice (checked). */
function DeleteForm(props: { v: View; api: string; next: string; archive: [field: string, label: string] | null }) {
  const { v } = props;
  return (
    <form method="post" data-api={`DELETE ${props.api}`} data-next={props.next} data-confirm={v.t('confirmDelete')}>
      {props.archive && (
        <label>
          <input type="checkbox" name={props.archive[0]} checked />
          {props.archive[1]}
        </label>
      )}
      <button type="submit" class="danger">
        {v.t('delete')}
      </button>
      <Msg />
    </form>
  );
}

/** Admin: create a user with an invis account type. */
export function NewUserPage({ v }: { v: View }) {
  return (
    <Layout v={v} title={v.t('newUser')}>
      <form method="post" data-api="POST /api/users" data-next="/users">
        <Field name="username" label={v.t('username')} required />
        <Field name="givenName" label={v.t('givenName')} required />
        <Field name="surname" label={v.t('surname')} required />
        <Field name="displayName" label={v.t('displayName')} />
        <Field name="description" label={v.t('description')} />
        <Field name="mail" label={v.t('mail')} type="email" />
        <Field name="department" label={v.t('department')} />
        <Field name="office" label={v.t('office')} />
        <Field name="telephone" label={v.t('telephone')} type="tel" />
        <Select
          id="f-accountType"
          name="accountType"
          label={v.t('accountType')}
          options={(['user', ...ACCOUNT_TYPES.filter((a) => a !== 'user')] as const).map((a) => [a, v.t(`type_${a}`)])}
        />
        <Field name="password" label={v.t('password')} type="password" required autocomplete="new-password" />
        <button type="submit">{v.t('create')}</button>
        <Msg />
      </form>
    </Layout>
  );
}

/** Admin: one user — edit, enable/disable, unlock, reset password, delete. */
export function UserPage({ v, u, canArchive }: { v: View; u: DirectoryUser; canArchive: boolean }) {
  const api = `/api/users/${enc(u.username)}`;
  const fields: [keyof DirectoryUser & TextKey, string][] = [
    ['displayName', u.displayName],
    ['givenName', u.givenName],
    ['surname', u.surname],
    ['description', u.description],
    ['mail', u.mail],
    ['department', u.department],
    ['office', u.office],
    ['telephone', u.telephone],
  ];
  return (
    <Layout v={v} title={`${u.displayName} (${u.username})`}>
      <p>
        {`${v.t(`type_${u.accountType}`)} · ${u.enabled ? v.t('enabled') : v.t('disabled')}${u.locked ? ` · ${v.t('locked')}` : ''} · ${v.t('groups')}: ${u.groups.join(', ')} · ${v.t('passwordExpires')}: `}
        <PasswordExpiry v={v} u={u} />
      </p>
      <div class="grid">
        <form method="post" data-api={`PATCH ${api}`} data-keep-empty data-done={v.t('saved')}>
          <h2>{v.t('profile')}</h2>
          {fields.map(([name, value]) => (
            <Field name={name} label={v.t(name)} value={value} />
          ))}
          <button type="submit">{v.t('save')}</button>
          <Msg />
        </form>
        <div>
          <form method="post" data-api={`PUT ${api}/enabled`} data-body={JSON.stringify({ enabled: !u.enabled })}>
            <h2>{v.t('state')}</h2>
            <button type="submit" class="secondary">
              {u.enabled ? v.t('disable') : v.t('enable')}
            </button>
            <Msg />
          </form>
          {u.locked && (
            <form method="post" data-api={`POST ${api}/unlock`}>
              <button type="submit" class="secondary">
                {v.t('unlock')}
              </button>
            </form>
          )}
          <form method="post" data-api={`POST ${api}/password`} data-done={v.t('passwordChanged')} data-reset>
            <h2>{v.t('resetPassword')}</h2>
            <Field name="password" label={v.t('newPassword')} type="password" required autocomplete="new-password" />
            <label>
              <input type="checkbox" name="mustChange" />
              {v.t('mustChange')}
            </label>
            <button type="submit">{v.t('resetPassword')}</button>
            <Msg />
          </form>
          <DeleteForm v={v} api={api} next="/users" archive={canArchive ? ['archiveHome', v.t('archiveHome')] : null} />
        </div>
      </div>
    </Layout>
  );
}

/** Admin: all groups. */
export function GroupsPage({ v, groups }: { v: View; groups: DirectoryGroup[] }) {
  return (
    <Layout v={v} title={v.t('groupsTitle')}>
      <a class="button" href="/groups/new">
        {v.t('newGroup')}
      </a>
      <Table head={[v.t('name'), v.t('groupType'), v.t('description'), v.t('membersShort')]}>
        {groups.map((g) => (
          <tr>
            <td>
              <a href={`/groups/${enc(g.name)}`}>{g.name}</a>
            </td>
            <td>{v.t(`gtype_${g.type}`)}</td>
            <td>{g.description}</td>
            <td>{String(g.members.length)}</td>
          </tr>
        ))}
      </Table>
    </Layout>
  );
}

/** Admin: create a group of an invis group type. */
export function NewGroupPage({ v, templates }: { v: View; templates: string[] | null }) {
  return (
    <Layout v={v} title={v.t('newGroup')}>
      <form method="post" data-api="POST /api/groups" data-next="/groups">
        <Field name="name" label={v.t('name')} required />
        <Field name="description" label={v.t('description')} />
        <Select
          id="f-type"
          name="type"
          label={v.t('groupType')}
          options={GROUP_TYPES.map((g) => [g, v.t(`gtype_${g}`)])}
        />
        <label for="f-members">{v.t('members')}</label>
        <textarea id="f-members" name="members" data-list />
        {templates && (
          <Select
            id="f-share"
            name="share"
            label={v.t('groupShare')}
            options={[
              ['none', v.t('share_none')],
              ['empty', v.t('share_empty')],
              ...templates.map((t): [string, string] => [`template:${t}`, t]),
            ]}
          />
        )}
        <button type="submit">{v.t('create')}</button>
        <Msg />
      </form>
    </Layout>
  );
}

/** Admin: one group — description and members, delete. */
export function GroupPage({ v, g, canArchive }: { v: View; g: DirectoryGroup; canArchive: boolean }) {
  const api = `/api/groups/${enc(g.name)}`;
  return (
    <Layout v={v} title={g.name}>
      <p>{`${v.t(`gtype_${g.type}`)}${g.mail ? ` · ${g.mail}` : ''}`}</p>
      <form method="post" data-api={`PATCH ${api}`} data-keep-empty data-done={v.t('saved')}>
        <Field name="description" label={v.t('description')} value={g.description} />
        <label for="f-members">{v.t('members')}</label>
        <textarea id="f-members" name="members" data-list>
          {g.members.join('\n')}
        </textarea>
        <button type="submit">{v.t('save')}</button>
        <Msg />
      </form>
      <DeleteForm v={v} api={api} next="/groups" archive={canArchive ? ['archiveShare', v.t('archiveShare')] : null} />
    </Layout>
  );
}

/** Admin: the audit log, newest first. */
export function AuditPage(props: {
  v: View;
  result: Page<AuditEntry>;
  search: string;
  page: number;
  pageSize: number;
}) {
  const { v, result } = props;
  const show = (x: unknown): string => (x === null || x === undefined ? '' : JSON.stringify(x));
  return (
    <Layout v={v} title={v.t('auditTitle')}>
      <SearchForm v={v} action="/audit" search={props.search} />
      <Table
        head={[v.t('when'), v.t('actor'), v.t('address'), v.t('action'), v.t('target'), v.t('outcome'), v.t('change')]}
      >
        {result.items.map((e) => (
          <tr>
            <td>{e.at}</td>
            <td>{e.actor}</td>
            <td>{e.address}</td>
            <td>{e.action}</td>
            <td>{e.target}</td>
            <td class={e.outcome === 'ok' ? 'ok' : 'bad'}>{e.outcome}</td>
            <td>
              <code>{show(e.before)}</code>
              {e.after !== null && ' → '}
              <code>{show(e.after)}</code>
            </td>
          </tr>
        ))}
      </Table>
      <Pager
        v={v}
        base={`/audit?search=${enc(props.search)}`}
        page={props.page}
        pageSize={props.pageSize}
        total={result.total}
      />
    </Layout>
  );
}

/** Admin: API tokens — list, create (secret shown once), revoke. */
export function TokensPage({ v, tokens }: { v: View; tokens: ApiToken[] }) {
  return (
    <Layout v={v} title={v.t('tokensTitle')}>
      <form method="post" data-api="POST /api/tokens" data-show="secret">
        <h2>{v.t('newToken')}</h2>
        <Field name="name" label={v.t('name')} required />
        <fieldset>
          <legend>{v.t('scopes')}</legend>
          {TOKEN_SCOPES.map((s) => (
            <label>
              <input type="checkbox" data-set="scopes" value={s} />
              {s}
            </label>
          ))}
        </fieldset>
        <button type="submit">{v.t('create')}</button>
        <Msg />
      </form>
      <div id="secret" hidden>
        <p>{v.t('tokenOnce')}</p>
        <code class="secret" />
      </div>
      <Table head={[v.t('name'), v.t('scopes'), v.t('created'), v.t('expires'), v.t('lastUsed'), v.t('action')]}>
        {tokens.map((t) => (
          <tr>
            <td>{`${t.name} (${t.owner})`}</td>
            <td>{t.scopes.join(', ')}</td>
            <td>{t.createdAt}</td>
            <td>{t.expiresAt}</td>
            <td>{t.lastUsedAt ?? '–'}</td>
            <td>
              {t.revokedAt ? (
                v.t('revoked')
              ) : (
                <form method="post" class="inline" data-api={`DELETE /api/tokens/${t.id}`}>
                  <button type="submit" class="secondary">
                    {v.t('revoke')}
                  </button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </Table>
    </Layout>
  );
}

/** A plain message page (not found, forbidden). */
export function MessagePage({ v, title, text }: { v: View; title: string; text: string }) {
  return (
    <Layout v={v} title={title}>
      <p>{text}</p>
    </Layout>
  );
}
