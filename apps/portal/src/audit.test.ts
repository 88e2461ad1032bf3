import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fixedClock } from '@invis/host';
import { withTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { openAuditLog, redactSecrets } from './audit';

describe('audit log', () => {
  it('stores entries newest first with secrets redacted', () => {
    const log = openAuditLog(':memory:', fixedClock(new Date('2026-01-02T03:04:05Z')));
    log.append({
      actor: 'anna',
      address: '10.0.0.1',
      action: 'user.create',
      target: 'bernd',
      outcome: 'ok',
      after: { username: 'bernd', password: 'S3cret!' },
    });
    log.append({ actor: 'anna', address: '10.0.0.1', action: 'user.delete', target: 'bernd', outcome: 'failed' });
    const { total, items } = log.list({ offset: 0, limit: 10 });
    expect(total).toBe(2);
    expect(items[0]?.action).toBe('user.delete');
    expect(items[1]?.after).toEqual({ username: 'bernd', password: '[redacted]' });
    expect(items[1]?.at).toBe('2026-01-02T03:04:05.000Z');
    expect(JSON.stringify(items)).not.toContain('S3cret');
    expect(log.list({ offset: 0, limit: 10, search: 'delete' }).total).toBe(1);
    expect(log.list({ offset: 0, limit: 10, search: '%' }).total).toBe(0);
    log.close();
  });

  it('refuses updates and deletes, even through another connection', async () => {
    await withTempDir('portal-audit-', async (dir) => {
      const file = join(dir, 'audit.db');
      const log = openAuditLog(file);
      log.append({ actor: 'anna', address: '::1', action: 'login', target: 'anna', outcome: 'ok' });
      const raw = new DatabaseSync(file);
      expect(() => raw.exec("UPDATE audit SET actor = 'mallory'")).toThrow(/append-only/);
      expect(() => raw.exec('DELETE FROM audit')).toThrow(/append-only/);
      raw.close();
      expect(log.list({ offset: 0, limit: 5 }).items[0]?.actor).toBe('anna');
      log.close();
    });
  });
});

describe('redactSecrets', () => {
  it('redacts nested secret keys and keeps the rest', () => {
    expect(redactSecrets({ a: [{ newPassword: 'x', name: 'y' }], apiToken: 't', n: 1 })).toEqual({
      a: [{ newPassword: '[redacted]', name: 'y' }],
      apiToken: '[redacted]',
      n: 1,
    });
  });
});
