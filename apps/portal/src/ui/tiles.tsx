/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The home page's web-app tiles and the admin's editor of the directory's portal entries.
import type { PortalEntry } from '@invis/ad-client';
import { TILE_PRIVS, TILE_SECTIONS, type Tile, type TileSection } from '../tiles';
import type { TextKey } from './i18n';
import { Field, Layout, Msg, type View } from './layout';
import { Select, Table } from './pages';

const SECTION_TEXT: Record<TileSection, TextKey> = {
  Lokal: 'sectionLokal',
  Administration: 'sectionAdministration',
  Dokumentation: 'sectionDokumentation',
  Internet: 'sectionInternet',
};

function TileCard({ tile }: { tile: Tile }) {
  return (
    <li class="tile">
      <a href={tile.url} rel="noopener">
        <strong>{tile.name}</strong>
        {tile.description ? <span>{tile.description}</span> : null}
      </a>
    </li>
  );
}

/** The home page: tiles per section (Internet links grouped by rubrik), only sections with tiles. */
export function HomePage({ v, tiles }: { v: View; tiles: Record<TileSection, Tile[]> | null }) {
  const shown = TILE_SECTIONS.filter((s) => (tiles?.[s].length ?? 0) > 0);
  return (
    <Layout v={v} title={v.t('homeTitle')}>
      {shown.length === 0 ? <p class="muted">{v.t('noTiles')}</p> : null}
      {shown.map((section) => {
        const list = tiles?.[section] ?? [];
        const rubriks = [...new Set(list.map((t) => t.rubrik ?? ''))];
        return (
          <section aria-labelledby={`s-${section}`}>
            <h2 id={`s-${section}`}>{v.t(SECTION_TEXT[section])}</h2>
            {rubriks.map((rubrik) => (
              <>
                {rubrik ? <h3>{rubrik}</h3> : null}
                <ul class="tiles">
                  {list
                    .filter((t) => (t.rubrik ?? '') === rubrik)
                    .map((t) => (
                      <TileCard tile={t} />
                    ))}
                </ul>
              </>
            ))}
          </section>
        );
      })}
    </Layout>
  );
}

function EntryFields({ v, e, prefix }: { v: View; e: (PortalEntry & { cn: string }) | null; prefix: string }) {
  const options = (values: readonly string[]): [string, string][] => values.map((x) => [x, x]);
  return (
    <>
      <Field name="name" label={v.t('name')} value={e?.name} required idPrefix={prefix} />
      <Field name="url" label={v.t('tileUrl')} value={e?.url ?? '[servername]/'} required idPrefix={prefix} />
      <label>
        <input type="checkbox" name="ssl" checked={e?.ssl ?? true} /> HTTPS
      </label>
      <label>
        <input type="checkbox" name="active" checked={e?.active ?? true} /> {v.t('tileActive')}
      </label>
      <Field name="description" label={v.t('description')} value={e?.description} idPrefix={prefix} />
      <Select
        id={`${prefix}-position`}
        name="position"
        label={v.t('tileSection')}
        options={sorted(e?.position, options([...TILE_SECTIONS, 'mail']))}
      />
      <Select
        id={`${prefix}-priv`}
        name="priv"
        label={v.t('tileVisibleTo')}
        options={sorted(e?.priv, options(TILE_PRIVS))}
      />
      <Field name="button" label={v.t('tileButton')} value={e?.button} idPrefix={prefix} />
      <Field name="rubrik" label={v.t('tileRubrik')} value={e?.rubrik} idPrefix={prefix} />
    </>
  );
}

/** Options with the current value first (so the select shows it without a `selected` attribute per option). */
function sorted(current: string | undefined, options: [string, string][]): [string, string][] {
  return [...options.filter(([x]) => x === current), ...options.filter(([x]) => x !== current)];
}

/** Admin: every portal entry, with edit, (de)activate and delete; a form for a new one. */
export function TilesAdminPage({ v, entries }: { v: View; entries: (PortalEntry & { cn: string })[] }) {
  return (
    <Layout v={v} title={v.t('tilesTitle')}>
      <Table head={[v.t('name'), v.t('tileSection'), v.t('tileVisibleTo'), v.t('tileActive'), v.t('action')]}>
        {entries.map((e) => (
          <tr>
            <td>
              <details>
                <summary>{e.name}</summary>
                <form data-api={`PUT /api/admin/tiles/${encodeURIComponent(e.cn)}`} data-keep-empty>
                  <EntryFields v={v} e={e} prefix={`t-${e.cn.replace(/[^A-Za-z0-9]/g, '_')}`} />
                  <button type="submit">{v.t('save')}</button>
                  <Msg />
                </form>
              </details>
            </td>
            <td>{e.rubrik ? `${e.position} / ${e.rubrik}` : e.position}</td>
            <td>{e.priv}</td>
            <td class={e.active ? 'ok' : 'muted'}>{e.active ? v.t('yes') : v.t('no')}</td>
            <td>
              <form
                data-api={`DELETE /api/admin/tiles/${encodeURIComponent(e.cn)}`}
                data-confirm={v.t('tileDeleteConfirm', { name: e.name })}
              >
                <button type="submit">{v.t('delete')}</button>
                <Msg />
              </form>
            </td>
          </tr>
        ))}
      </Table>
      <h2>{v.t('tileNew')}</h2>
      <form id="new-tile" data-api-template="PUT /api/admin/tiles/{cn}" data-keep-empty>
        <Field name="cn" label={v.t('tileCn')} required idPrefix="new" />
        <EntryFields v={v} e={null} prefix="new" />
        <button type="submit">{v.t('create')}</button>
        <Msg />
      </form>
    </Layout>
  );
}
