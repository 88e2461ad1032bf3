// Mail throughput through the whole chain with the spam/virus filter on and off, same Postfix,
// same run (issue 18): real rspamd + clamd from setup's mailfilter renders (ClamAV with a local
// EICAR signature set), a testbed Postfix → LMTP → Dovecot, a testbed provider (POP3) for
// fetchmail, and an in-process SMTP sink as the provider's relay.
// - submission → filter → relay sink: 4 SMTP connections send small messages to an outside
//   address; latency = from MAIL FROM to the sink having the whole message.
// - fetchmail → filter → LMTP: one fetchmail run collects the messages from the provider; its
//   latency = the gap between consecutive deliveries into the Maildir (fetchmail hands over one
//   message at a time), throughput = messages / wall time of the run.
// Filter on = Postfix's smtpd_milters/non_smtpd_milters at rspamd (as the mailserver module
// renders them); off = no milter. Phases alternate (on, off, off, on) so load changes hit both.
import { chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFetchmailOnce, startMailProvider, startMailServer } from '@invis/testbed';
import { configurePostfix, milterSettings, startMailFilter } from '../apps/setup/test/integration/mailfilter-daemons';
import type { Benchmark, Comparison, Measurement } from './lib';

const DOMAIN = 'invis.test';
const RCPT = `anna@${DOMAIN}`;
const PROVIDER_BOX = { address: 'bench@prov.test', password: 'bench-pw-1' };
const CONNECTIONS = 4;

/** A small message (≈ 600 bytes) carrying `id` in a header the sink and the Maildir scan find. */
function smallMessage(id: string, to: string): string {
  return [
    'From: Bernd Meier <bernd@example.org>',
    `To: <${to}>`,
    `Subject: Angebot ${id}`,
    'Date: Sun, 06 Dec 2026 10:00:00 +0000',
    `Message-ID: <${id}@example.org>`,
    `X-Bench-Id: ${id}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hallo Anna,',
    '',
    'anbei wie besprochen das Angebot für die Küche. Die Lieferung ist für KW 12 geplant,',
    'die Montage dauert zwei Tage. Bitte gib mir bis Freitag Bescheid.',
    '',
    'Viele Grüße',
    'Bernd',
    '',
  ].join('\r\n');
}

/** An SMTP sink on 127.0.0.1: accepts everything, records when each X-Bench-Id arrived complete. */
async function startSink(): Promise<{ port: number; arrived: Map<string, number>; close(): Promise<void> }> {
  const arrived = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    let data: string | undefined;
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (data !== undefined) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          data += buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          const id = /^X-Bench-Id: (\S+)/m.exec(data)?.[1];
          if (id) arrived.set(id, performance.now());
          data = undefined;
          socket.write('250 2.0.0 queued\r\n');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.slice(0, eol).toUpperCase();
        buffer = buffer.slice(eol + 2);
        if (line.startsWith('DATA')) {
          data = '';
          socket.write('354 go ahead\r\n');
        } else if (line.startsWith('QUIT')) {
          socket.end('221 bye\r\n');
        } else socket.write(line.startsWith('EHLO') ? '250 sink\r\n' : '250 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('sink has no port');
  return {
    port: address.port,
    arrived,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One SMTP client connection that sends messages one after the other. */
async function smtpClient(host: string, port: number) {
  const socket = connect({ host, port });
  let buffer = '';
  const waiting: ((reply: string) => void)[] = [];
  socket.on('data', (chunk) => {
    buffer += chunk.toString('latin1');
    for (;;) {
      const match = /^(\d{3}) [^\r\n]*\r\n/m.exec(buffer);
      if (!match) return;
      const end = match.index + match[0].length;
      const reply = buffer.slice(0, end);
      buffer = buffer.slice(end);
      waiting.shift()?.(reply);
    }
  });
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const expect = async (code: string, command?: string) => {
    const reply = next();
    if (command !== undefined) socket.write(`${command}\r\n`);
    const text = await reply;
    if (!text.startsWith(code) && !new RegExp(`\\n${code} `).test(text)) throw new Error(`SMTP: ${text.trim()}`);
  };
  await expect('220');
  await expect('250', 'EHLO bench.example.org');
  return {
    async send(from: string, to: string, message: string) {
      await expect('250', `MAIL FROM:<${from}>`);
      await expect('250', `RCPT TO:<${to}>`);
      await expect('354', 'DATA');
      await expect('250', `${message.replace(/^\./gm, '..')}\r\n.`);
    },
    async close() {
      await expect('221', 'QUIT').catch(() => undefined);
      socket.destroy();
    },
  };
}

/** Makes `cur`, `new`, `tmp` of the Maildir whose `new` is `newDir`, owned (up from `root`) by the mail user. */
async function maildirFor(newDir: string, root: string, owner: { uid: number; gid: number }): Promise<void> {
  const maildir = newDir.slice(0, newDir.lastIndexOf('/'));
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildir, sub), { recursive: true });
  for (let dir = maildir; dir.length > root.length; dir = dir.slice(0, dir.lastIndexOf('/'))) {
    await chown(dir, owner.uid, owner.gid);
  }
  for (const sub of ['cur', 'new', 'tmp']) await chown(join(maildir, sub), owner.uid, owner.gid);
}

/** The 95th percentile (nearest rank) of `values`. */
function p95(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] ?? 0;
}

interface PathResult {
  messages: number;
  wallMs: number;
  latencies: number[];
}

async function waitFor(probe: () => Promise<boolean> | boolean, what: string, timeoutMs = 600_000): Promise<void> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const benchmark: Benchmark = {
  name: 'mail-flow',
  description:
    'small messages through Postfix with rspamd + ClamAV (milter) vs the same Postfix without filter, same run: submission → relay sink and fetchmail → LMTP; messages/s and p95 latency',
  async run({ quick }) {
    const perMode = quick ? 100 : 1000;
    const phases = ['on', 'off', 'off', 'on'] as const;
    const perPhase = perMode / 2;
    const [filter, mail, provider, sink] = await Promise.all([
      startMailFilter(),
      startMailServer({ domain: DOMAIN, mailboxes: [{ address: RCPT, password: 'anna-pw-1' }] }),
      startMailProvider({ domains: ['prov.test'], mailboxes: [PROVIDER_BOX] }),
      startSink(),
    ]);
    const work = join(tmpdir(), `bench-mail-flow-${process.pid}`);
    await mkdir(work, { recursive: true });
    try {
      const confDir = mail.info.postfixConfigDir;
      const base = {
        relayhost: `[127.0.0.1]:${sink.port}`,
        smtp_tls_security_level: 'none',
        // One delivery agent per destination would serialise the relay; Postfix's default is 20.
        default_destination_concurrency_limit: '20',
      };
      const on = milterSettings(filter.info.milter);
      // Off: no milter at all (the other milter_* settings only matter when there is one).
      const off = { smtpd_milters: '', non_smtpd_milters: '' };
      const maildir = join(mail.info.homesDir, DOMAIN, 'anna', 'Maildir', 'new');
      const providerNew = join(provider.info.vmailDir, 'prov.test', 'bench', 'new');
      const rc = join(work, 'fetchmailrc');
      await writeFile(
        rc,
        [
          'set no bouncemail',
          `poll "${provider.info.address}" with protocol POP3 service ${provider.info.pop3Port} uidl`,
          `  user "${PROVIDER_BOX.address}" there with password "${PROVIDER_BOX.password}" is "${RCPT}" here`,
          `  sslproto "tls1.2+" sslcertck sslcertfile "${provider.info.caFile}" sslcommonname "mail.prov.test"`,
          `  smtphost "${mail.info.address}/25" fetchall nokeep`,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      const samples: Record<'on' | 'off', { submission: PathResult[]; fetchmail: PathResult[] }> = {
        on: { submission: [], fetchmail: [] },
        off: { submission: [], fetchmail: [] },
      };
      const loads: string[] = [];
      let seq = 0;
      for (const [phase, mode] of phases.entries()) {
        loads.push(
          loadavg()
            .map((l) => l.toFixed(2))
            .join(' '),
        );
        await configurePostfix(confDir, { ...base, ...(mode === 'on' ? on : off) });

        // submission → filter → relay sink
        const ids = Array.from({ length: perPhase }, () => `m${phase}-${seq++}`);
        const started = new Map<string, number>();
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: CONNECTIONS }, async (_, c) => {
            const client = await smtpClient(mail.info.address, 25);
            for (let i = c; i < ids.length; i += CONNECTIONS) {
              const id = ids[i] as string;
              started.set(id, performance.now());
              await client.send(
                'bernd@example.org',
                `friend${i}@outside.example`,
                smallMessage(id, 'friend@outside.example'),
              );
            }
            await client.close();
          }),
        );
        await waitFor(() => ids.every((id) => sink.arrived.has(id)), 'the sink');
        const arrivals = ids.map((id) => sink.arrived.get(id) as number);
        samples[mode].submission.push({
          messages: ids.length,
          wallMs: Math.max(...arrivals) - t0,
          latencies: ids.map((id) => (sink.arrived.get(id) as number) - (started.get(id) as number)),
        });

        // fetchmail → filter → LMTP: the provider's mailbox filled directly (as its MX would).
        await maildirFor(providerNew, provider.info.vmailDir, mail.info.owner);
        const fetchIds = Array.from({ length: perPhase }, () => `f${phase}-${seq++}`);
        for (const [i, id] of fetchIds.entries()) {
          const file = join(providerNew, `${Date.now()}.${id}.${i}.bench`);
          await writeFile(file, smallMessage(id, PROVIDER_BOX.address).replace(/\r\n/g, '\n'));
          await chown(file, mail.info.owner.uid, mail.info.owner.gid);
        }
        const before = new Set(await readdir(maildir).catch(() => [] as string[]));
        const seen: number[] = [];
        const fetchStart = performance.now();
        let done = false;
        const watcher = (async () => {
          while (!done) {
            const now = performance.now();
            const files = await readdir(maildir).catch(() => [] as string[]);
            for (const f of files) {
              if (!before.has(f)) {
                before.add(f);
                seen.push(now);
              }
            }
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
        const fetched = await runFetchmailOnce(rc);
        if (fetched.exitCode !== 0) throw new Error(`fetchmail failed:\n${fetched.output.slice(-2000)}`);
        await waitFor(() => seen.length >= perPhase, 'the LMTP deliveries');
        done = true;
        await watcher;
        const delivered = (
          await Promise.all([...before].slice(-perPhase).map((f) => readFile(join(maildir, f), 'utf8').catch(() => '')))
        ).filter((m) => /^X-Spam: Yes/m.test(m)).length;
        if (delivered > 0) throw new Error(`${delivered} benchmark messages were tagged as spam`);
        seen.sort((a, b) => a - b);
        samples[mode].fetchmail.push({
          messages: seen.length,
          wallMs: (seen.at(-1) ?? fetchStart) - fetchStart,
          latencies: seen.slice(1).map((t, i) => t - (seen[i] as number)),
        });
      }

      const total = (results: PathResult[]): Measurement => ({
        label: '',
        iterations: results.reduce((n, r) => n + r.messages, 0),
        totalMs: results.reduce((ms, r) => ms + r.wallMs, 0),
      });
      const latency = (label: string, results: PathResult[]): Measurement => ({
        label,
        iterations: 1,
        totalMs: p95(results.flatMap((r) => r.latencies)),
      });
      const load = `load ${loads.join(' → ')}`;
      const rows: Comparison[] = [];
      for (const path of ['submission', 'fetchmail'] as const) {
        const name = path === 'submission' ? 'submission → filter → relay sink' : 'fetchmail → filter → LMTP';
        const onTotal = total(samples.on[path]);
        const offTotal = total(samples.off[path]);
        const rate = (m: Measurement) => `${((m.iterations / m.totalMs) * 1000).toFixed(0)} msg/s`;
        rows.push({
          task: `${name}: wall per message`,
          ours: { ...onTotal, label: `filter on, ${rate(onTotal)},` },
          peer: { ...offTotal, label: `filter off, ${rate(offTotal)},` },
          target: path === 'submission' ? load : '',
        });
        rows.push({
          task: `${name}: p95 latency`,
          ours: latency('filter on', samples.on[path]),
          peer: latency('filter off', samples.off[path]),
          target: 'filter ≤ 2× of p95',
        });
      }
      return rows;
    } finally {
      await Promise.allSettled([sink.close(), provider.stop(), mail.stop(), filter.stop()]);
    }
  },
};
