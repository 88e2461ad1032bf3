import { describe, expect, it } from 'vitest';
import type { ServerStatus } from '../status';
import { makeView, readerTimeZone, SERVER_TIME_ZONE } from './layout';
import { StatusPage } from './pages';

const SYNC_AT = '2026-12-06T16:00:00.000Z';
const status: ServerStatus = {
  hostname: 'invis',
  kernel: '6.1',
  time: '2026-12-06T17:05:00.000Z',
  uptimeSeconds: 90_000,
  load: [0.5, 0.4, 0.3],
  disks: [],
  raid: { state: 'unknown' },
  services: [],
  certificates: [],
  backup: { state: 'unknown' },
  internet: { state: 'unknown' },
  jobs: [
    {
      name: 'backup',
      startedAt: '2026-12-06T01:00:00.000Z',
      finishedAt: '2026-12-06T01:30:00.000Z',
      result: 'failed',
      message: 'target full',
      lastSuccessAt: '2026-12-05T01:20:00.000Z',
      nextRunAt: '2026-12-07T01:00:00.000Z',
    },
    { name: 'branch-sync', startedAt: SYNC_AT, finishedAt: SYNC_AT, result: 'ok', message: '3 files' },
  ],
};

const render = async (lang: 'de' | 'en', zone: string) =>
  (await StatusPage({ v: makeView(lang, null, 'csrf', '/', zone), s: status })).toString();

describe('status page', () => {
  it('shows server time and every job in the reader language and time zone', async () => {
    const de = await render('de', 'Europe/Berlin');
    expect(de).toContain('Serverzeit');
    expect(de).toContain('06.12.2026, 18:05');
    expect(de).toContain('Hintergrund-Jobs');
    expect(de).toMatch(/Datensicherung<\/td><td class="bad">fehlgeschlagen/);
    expect(de).toContain('07.12.2026, 02:00');
    expect(de).toContain('branch-sync');
    const en = await render('en', 'America/New_York');
    expect(en).toContain('6 Dec 2026, 12:05');
    expect(en).toMatch(/Backup<\/td><td class="bad">failed/);
  });

  it('says so when no job has run yet', async () => {
    const html = (await StatusPage({ v: makeView('de', null, 'c', '/'), s: { ...status, jobs: [] } })).toString();
    expect(html).toContain('Noch ist kein Hintergrund-Job gelaufen.');
  });

  it('takes the browser time zone only when it is a real one', () => {
    expect(readerTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(readerTimeZone('Mars/Olympus')).toBe(SERVER_TIME_ZONE);
    expect(readerTimeZone(undefined)).toBe(SERVER_TIME_ZONE);
  });
});
