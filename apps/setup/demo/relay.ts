// The demo's way into the sandbox: runs in the LAN client's network namespace (as a PC of the
// office would), listens on a unix socket (a path on the host's file system, which the host side
// reaches without entering any namespace) and relays each connection to `host:port` there.
// Usage: node --import tsx relay.ts SOCKET HOST PORT
import { connect, createServer } from 'node:net';

const [socket, host, port] = process.argv.slice(2);
if (socket === undefined || host === undefined || !/^\d{1,5}$/.test(port ?? '')) {
  throw new Error('usage: relay.ts SOCKET HOST PORT');
}
createServer((client) => {
  const upstream = connect(Number(port), host);
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(socket);
