/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// "Mailkonten" (the original's CorNAz): a user's provider mailboxes, sender address, presence
// and vacation; every change is a REST call of the page script.
import type { MailProvider } from '@invis/mail-rewrite';
import type { UserMailView } from '../mail-accounts';
import { Field, Layout, Msg, type View } from './layout';
import { Select, Table } from './pages';

const json = (value: unknown): string => JSON.stringify(value);

/** The user's mail page. */
export function MailPage({ v, m, providers }: { v: View; m: UserMailView; providers: MailProvider[] }) {
  const presenceText = {
    present: v.t('presencePresent'),
    absent: v.t('presenceAbsent'),
    vacation: v.t('presenceVacation'),
  };
  return (
    <Layout v={v} title={v.t('mailTitle')}>
      <div class="table">
        <table>
          <tbody>
            <tr>
              <th scope="row">{v.t('mailLocal')}</th>
              <td>{m.localAddress}</td>
            </tr>
            <tr>
              <th scope="row">{v.t('mailSender')}</th>
              <td>{m.senderAddress}</td>
            </tr>
            <tr>
              <th scope="row">{v.t('mailPresence')}</th>
              <td class={m.presence === 'present' ? 'ok' : 'warn'}>{presenceText[m.presence]}</td>
            </tr>
          </tbody>
        </table>
      </div>
      {m.presence === 'present' ? (
        <form data-api="PUT /api/me/mail/presence" data-body={json({ presence: 'absent' })}>
          <button type="submit" class="secondary">
            {v.t('mailGoAbsent')}
          </button>
          <Msg />
        </form>
      ) : null}
      {m.presence === 'absent' ? (
        <form data-api="PUT /api/me/mail/presence" data-body={json({ presence: 'present' })}>
          <button type="submit">{v.t('mailComeBack')}</button>
          <Msg />
        </form>
      ) : null}
      {m.presence === 'vacation' ? (
        <form data-api="DELETE /api/me/mail/vacation">
          <p>{`${m.vacation?.subject ?? ''} (${m.vacation?.start ?? '…'} – ${m.vacation?.end ?? '…'})`}</p>
          <button type="submit">{v.t('mailEndVacation')}</button>
          <Msg />
        </form>
      ) : null}
      {m.presence === 'present' ? (
        <>
          <h2>{v.t('mailVacation')}</h2>
          <form data-api="PUT /api/me/mail/vacation">
            <Field name="subject" label={v.t('mailVacationSubject')} required idPrefix="vac" />
            <label for="vac-body">{v.t('mailVacationBody')}</label>
            <textarea id="vac-body" name="body" required />
            <Field name="start" label={v.t('mailVacationStart')} type="date" idPrefix="vac" />
            <Field name="end" label={v.t('mailVacationEnd')} type="date" idPrefix="vac" />
            <button type="submit">{v.t('mailStartVacation')}</button>
            <Msg />
          </form>
        </>
      ) : null}
      <h2>{v.t('mailAccounts')}</h2>
      <Table head={[v.t('mailAddress'), v.t('mailServer'), v.t('action')]}>
        {m.accounts.map((a) => (
          <tr>
            <td>{a.address}</td>
            <td>{`${a.protocol.toUpperCase()} ${a.server}:${a.port}`}</td>
            <td>
              {a.address === m.senderAddress ? null : (
                <form class="inline" data-api="PUT /api/me/mail/sender" data-body={json({ address: a.address })}>
                  <button type="submit" class="secondary">
                    {v.t('mailUseAsSender')}
                  </button>
                </form>
              )}
              <form
                class="inline"
                data-api={`DELETE /api/me/mail/accounts/${encodeURIComponent(a.address)}`}
                data-confirm={v.t('mailRemoveConfirm', { address: a.address })}
              >
                <button type="submit" class="danger">
                  {v.t('delete')}
                </button>
                <Msg />
              </form>
            </td>
          </tr>
        ))}
      </Table>
      <h2>{v.t('mailAdd')}</h2>
      <form data-api="POST /api/me/mail/accounts" data-done={v.t('mailAdded')}>
        <Select
          id="acc-provider"
          name="provider"
          label={v.t('mailProvider')}
          options={[['', v.t('mailProviderOther')], ...providers.map((p): [string, string] => [p.id, p.vendor])]}
        />
        <Field name="address" label={v.t('mailAddress')} type="email" required idPrefix="acc" />
        <Field name="server" label={v.t('mailServer')} required idPrefix="acc" />
        <Select
          id="acc-protocol"
          name="protocol"
          label={v.t('mailProtocol')}
          options={[
            ['imap', 'IMAP'],
            ['pop3', 'POP3'],
          ]}
        />
        <Select
          id="acc-tls"
          name="tls"
          label="TLS"
          options={[
            ['implicit', 'SSL/TLS'],
            ['starttls', 'STARTTLS'],
          ]}
        />
        <Field name="port" label={v.t('mailPort')} idPrefix="acc" />
        <Field name="login" label={v.t('username')} required idPrefix="acc" autocomplete="off" />
        <Field
          name="password"
          label={v.t('password')}
          type="password"
          required
          idPrefix="acc"
          autocomplete="new-password"
        />
        <Field name="smtpHost" label={v.t('mailSmtpHost')} idPrefix="acc" />
        <Field name="smtpPort" label={v.t('mailPort')} idPrefix="acc-smtp" />
        <button type="submit">{v.t('mailTestAndAdd')}</button>
        <Msg />
      </form>
      {providers.length > 0 ? (
        <>
          <h2>{v.t('mailCatalogue')}</h2>
          <Table head={[v.t('mailProvider'), 'IMAP', 'POP3']}>
            {providers.map((p) => (
              <tr>
                <td>{p.vendor}</td>
                <td>{p.imap ? `${p.imap.host}${p.imap.port ? `:${p.imap.port}` : ''}` : '–'}</td>
                <td>{p.pop3 ? `${p.pop3.host}${p.pop3.port ? `:${p.pop3.port}` : ''}` : '–'}</td>
              </tr>
            ))}
          </Table>
        </>
      ) : null}
    </Layout>
  );
}
