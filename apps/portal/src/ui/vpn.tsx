/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// VPN access: the admin's list of client certificates with expiry, issue and revoke; a user's own
// list (and, with self-service, their own bundle). A new bundle is shown as a one-time link.
import type { VpnCertificate } from '../vpn-bundles';
import { Field, Layout, Msg, type View } from './layout';
import { Table } from './pages';

/** The one-time download link, filled in by the page script after an issue. */
function DownloadBox({ v }: { v: View }) {
  return (
    <div id="secret" hidden>
      <p>{v.t('vpnDownloadOnce')}</p>
      <code class="secret" />
      <a class="button" href="/vpn" download>
        {v.t('vpnDownload')}
      </a>
    </div>
  );
}

function Certificates({ v, certificates, admin }: { v: View; certificates: VpnCertificate[]; admin: boolean }) {
  if (certificates.length === 0) return <p class="muted">{v.t('vpnNone')}</p>;
  return (
    <Table head={[v.t('vpnName'), v.t('vpnOwner'), v.t('vpnExpires'), ...(admin ? [v.t('action')] : [])]}>
      {certificates.map((cert) => (
        <tr>
          <td>
            {cert.name}
            {cert.pendingDownload ? <span class="muted">{` (${v.t('vpnPending')})`}</span> : null}
          </td>
          <td>{cert.owner}</td>
          <td class={cert.expiry === 'ok' ? '' : 'warn'}>{v.when(cert.notAfter)}</td>
          {admin ? (
            <td>
              <form
                class="inline"
                data-api={`DELETE /api/vpn/certificates/${encodeURIComponent(cert.name)}`}
                data-confirm={v.t('vpnRevokeConfirm', { name: cert.name })}
              >
                <button type="submit" class="danger">
                  {v.t('vpnRevoke')}
                </button>
                <Msg />
              </form>
            </td>
          ) : null}
        </tr>
      ))}
    </Table>
  );
}

/** The admin's VPN page. */
export function VpnAdminPage({ v, certificates }: { v: View; certificates: VpnCertificate[] }) {
  return (
    <Layout v={v} title={v.t('vpnTitle')}>
      <form data-api="POST /api/vpn/certificates" data-show="download">
        <h2>{v.t('vpnIssue')}</h2>
        <Field name="username" label={v.t('username')} required idPrefix="vpn" />
        <Field name="device" label={v.t('vpnDevice')} idPrefix="vpn" />
        <button type="submit">{v.t('vpnIssue')}</button>
        <Msg />
      </form>
      <DownloadBox v={v} />
      <Certificates v={v} certificates={certificates} admin />
    </Layout>
  );
}

/** A user's own VPN access. */
export function MyVpnPage({
  v,
  certificates,
  selfService,
}: {
  v: View;
  certificates: VpnCertificate[];
  selfService: boolean;
}) {
  return (
    <Layout v={v} title={v.t('vpnMine')}>
      {selfService ? (
        <>
          <form data-api="POST /api/me/vpn" data-show="download">
            <Field name="device" label={v.t('vpnDevice')} idPrefix="vpn" />
            <button type="submit">{v.t('vpnIssue')}</button>
            <Msg />
          </form>
          <DownloadBox v={v} />
        </>
      ) : (
        <p>{v.t('vpnNoSelfService')}</p>
      )}
      <Certificates v={v} certificates={certificates} admin={false} />
    </Layout>
  );
}
