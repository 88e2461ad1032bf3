// invis-backup as the whole-server sandbox runs it: the real CLI on the server's own files,
// commands and network; service actions (restore --full stops and starts services) go to the
// test's supervisor (argv[2], a unix socket).
// Usage: node --conditions=@invis/source --import tsx sandbox-backup.ts SOCKET invis-backup-args…
import { runBackupCli } from '../src/backup-cli';
import { servicesClient } from './sandbox-services';

const [socket, ...argv] = process.argv.slice(2);
if (socket === undefined) throw new Error('usage: sandbox-backup.ts SOCKET ARGS…');
process.exitCode = await runBackupCli(argv, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  services: servicesClient(socket),
});
