import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type Clock, systemClock } from '@invis/host';

/** One audit record: who changed what, when, before and after (secrets redacted). */
export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  address: string;
  action: string;
  target: string;
  outcome: 'ok' | 'failed';
  before: unknown;
  after: unknown;
}

/** What a caller records; id and time are assigned by the log. */
export type AuditInput = Omit<AuditEntry, 'id' | 'at' | 'before' | 'after'> & { before?: unknown; after?: unknown };

/** Append-only audit log. */
export interface AuditLog {
  append(entry: AuditInput): void;
  /** Newest first. */
  list(query: { offset: number; limit: number; search?: string }): { total: number; items: AuditEntry[] };
  close(): void;
}

const SECRET_KEY = /pass|pwd|secret|token|unicodepwd|key/i;

/** Replaces every value under a secret-looking key (any depth) by `[redacted]`. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : redactSecrets(v)]),
    );
  }
  return value;
}

/**
 * Opens (and creates) the audit log in a `node:sqlite` file. Triggers refuse UPDATE and
 * DELETE, so the log is append-only even for code that tries.
 * @param file database path, or `:memory:`
 * @param clock time of the entries (default: the system clock)
 */
export function openAuditLog(file: string, clock: Clock = systemClock): AuditLog {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new DatabaseSync(file);
  db.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE IF NOT EXISTS audit (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL, actor TEXT NOT NULL, address TEXT NOT NULL, action TEXT NOT NULL,
      target TEXT NOT NULL, outcome TEXT NOT NULL, before TEXT, after TEXT);
    CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
      BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
      BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;`);
  const insert = db.prepare(
    'INSERT INTO audit (at, actor, address, action, target, outcome, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const where = "WHERE (? = '' OR actor LIKE ? ESCAPE '\\' OR action LIKE ? ESCAPE '\\' OR target LIKE ? ESCAPE '\\')";
  const count = db.prepare(`SELECT count(*) AS n FROM audit ${where}`);
  const page = db.prepare(`SELECT * FROM audit ${where} ORDER BY id DESC LIMIT ? OFFSET ?`);
  const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(redactSecrets(v)));
  const parse = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : null);

  return {
    append(e) {
      insert.run(
        clock.now().toISOString(),
        e.actor,
        e.address,
        e.action,
        e.target,
        e.outcome,
        json(e.before),
        json(e.after),
      );
    },
    list({ offset, limit, search = '' }) {
      const like = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const args = [search, like, like, like];
      const total = Number((count.get(...args) as { n: number }).n);
      const rows = page.all(...args, limit, offset) as Record<string, unknown>[];
      return {
        total,
        items: rows.map((r) => ({
          id: Number(r.id),
          at: String(r.at),
          actor: String(r.actor),
          address: String(r.address),
          action: String(r.action),
          target: String(r.target),
          outcome: r.outcome === 'ok' ? 'ok' : 'failed',
          before: parse(r.before),
          after: parse(r.after),
        })),
      };
    },
    close() {
      db.close();
    },
  };
}
