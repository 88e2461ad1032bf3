/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// "Dateitransfer": what colleagues left for the user, and the user's uploads (virus-scanned).
import type { TransferFile } from '../transfer';
import { Layout, Msg, type View } from './layout';
import { Table } from './pages';

function Files({ v, files, download }: { v: View; files: TransferFile[]; download: boolean }) {
  if (files.length === 0) return <p class="muted">{v.t('transferEmpty')}</p>;
  return (
    <Table head={[v.t('name'), v.t('transferSize'), v.t('transferModified')]}>
      {files.map((f) => (
        <tr>
          <td>
            {download ? (
              <a href={`/api/transfer/downloads/${encodeURIComponent(f.name)}`} download>
                {f.name}
              </a>
            ) : (
              f.name
            )}
          </td>
          <td>{`${Math.max(1, Math.round(f.size / 1024))} KiB`}</td>
          <td>{v.when(f.modified)}</td>
        </tr>
      ))}
    </Table>
  );
}

/** The transfer page of a `mobilusers` member. */
export function TransferPage({
  v,
  downloads,
  uploads,
  maxUploadBytes,
}: {
  v: View;
  downloads: TransferFile[];
  uploads: TransferFile[];
  maxUploadBytes: number;
}) {
  return (
    <Layout v={v} title={v.t('transferTitle')}>
      <h2>{v.t('transferDownloads')}</h2>
      <Files v={v} files={downloads} download />
      <h2>{v.t('transferUploads')}</h2>
      <form data-api="PUT /api/transfer/uploads/" data-upload="file">
        <label for="transfer-file">{v.t('transferFile', { mb: Math.floor(maxUploadBytes / 1_048_576) })}</label>
        <input id="transfer-file" type="file" name="file" required />
        <button type="submit">{v.t('transferUpload')}</button>
        <Msg />
      </form>
      <Files v={v} files={uploads} download={false} />
    </Layout>
  );
}
