// Tries a provider login before an account is saved, as the user's mail client would: POP3 or
// IMAP, implicit TLS or STARTTLS (never a password over a plain connection), the certificate
// checked against the system's CAs (or a given CA file).
import { readFileSync } from 'node:fs';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { ExternalAccount } from '@invis/mail-rewrite';

const TIMEOUT_MS = 15_000;

/** A line-oriented conversation on a socket (replies up to the next line the caller waits for). */
function lines(socket: Socket | TLSSocket) {
  let buffer = '';
  let waiting: ((line: string) => void) | null = null;
  let failed: Error | null = null;
  const queue: string[] = [];
  const push = () => {
    while (waiting && queue.length > 0) {
      const next = waiting;
      waiting = null;
      next(queue.shift() as string);
    }
  };
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let i = buffer.indexOf('\n');
    while (i >= 0) {
      queue.push(buffer.slice(0, i).replace(/\r$/, ''));
      buffer = buffer.slice(i + 1);
      i = buffer.indexOf('\n');
    }
    push();
  };
  socket.on('data', onData);
  return {
    next(): Promise<string> {
      if (failed) return Promise.reject(failed);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the server did not answer in time')), TIMEOUT_MS);
        waiting = (line) => {
          clearTimeout(timer);
          resolve(line);
        };
        socket.once('error', (e) => {
          failed = e;
          clearTimeout(timer);
          reject(e);
        });
        socket.once('close', () => reject(new Error('the server closed the connection')));
        push();
      });
    },
    detach() {
      socket.off('data', onData);
    },
  };
}

function tlsOver(account: ExternalAccount, socket: Socket | undefined, caFile?: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = connectTls({
      ...(socket ? { socket } : { host: account.server, port: account.port }),
      // SNI and the identity check take a name; an address is checked against the certificate's IP SANs.
      ...(account.tlsServerName || !isIP(account.server)
        ? { servername: account.tlsServerName ?? account.server }
        : {}),
      ...(caFile ? { ca: readFileSync(caFile) } : {}),
      minVersion: 'TLSv1.2',
    });
    tls.setTimeout(TIMEOUT_MS, () => tls.destroy(new Error('TLS handshake timed out')));
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', reject);
  });
}

function plain(account: ExternalAccount): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: account.server, port: account.port });
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error('connect timed out')));
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** IMAP quoted string (RFC 3501): backslash and quote escaped; CR/LF never allowed. */
function imapQuote(text: string): string {
  if (/[\r\n\0]/.test(text)) throw new Error('login and password must be one line');
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

async function imapLogin(account: ExternalAccount, caFile?: string): Promise<void> {
  let socket: Socket | TLSSocket =
    account.tls === 'implicit' ? await tlsOver(account, undefined, caFile) : await plain(account);
  try {
    let talk = lines(socket);
    if (!(await talk.next()).startsWith('* OK')) throw new Error('not an IMAP server');
    if (account.tls === 'starttls') {
      socket.write('a0 STARTTLS\r\n');
      let reply = await talk.next();
      while (reply.startsWith('*')) reply = await talk.next();
      if (!reply.startsWith('a0 OK')) throw new Error('the server refused STARTTLS');
      talk.detach();
      socket = await tlsOver(account, socket, caFile);
      talk = lines(socket);
    }
    socket.write(`a1 LOGIN ${imapQuote(account.login)} ${imapQuote(account.password)}\r\n`);
    let reply = await talk.next();
    while (reply.startsWith('*')) reply = await talk.next();
    if (!reply.startsWith('a1 OK')) throw new Error('login refused');
    socket.write('a2 LOGOUT\r\n');
  } finally {
    socket.destroy();
  }
}

async function pop3Login(account: ExternalAccount, caFile?: string): Promise<void> {
  let socket: Socket | TLSSocket =
    account.tls === 'implicit' ? await tlsOver(account, undefined, caFile) : await plain(account);
  try {
    let talk = lines(socket);
    const ok = async () => {
      if (!(await talk.next()).startsWith('+OK')) throw new Error('refused');
    };
    await ok();
    if (account.tls === 'starttls') {
      socket.write('STLS\r\n');
      await ok();
      talk.detach();
      socket = await tlsOver(account, socket, caFile);
      talk = lines(socket);
    }
    if (/[\r\n\0]/.test(account.login + account.password)) throw new Error('login and password must be one line');
    socket.write(`USER ${account.login}\r\n`);
    await ok();
    socket.write(`PASS ${account.password}\r\n`);
    await ok();
    socket.write('QUIT\r\n');
  } finally {
    socket.destroy();
  }
}

/**
 * Logs in at the account's server and out again.
 * @throws Error when the connection, TLS or the login fails (plain connections are refused)
 */
export async function probeMailLogin(account: ExternalAccount, options: { caFile?: string } = {}): Promise<void> {
  if (account.tls === 'none') throw new Error('a password is never sent without TLS');
  await (account.protocol === 'imap' ? imapLogin(account, options.caFile) : pop3Login(account, options.caFile));
}
