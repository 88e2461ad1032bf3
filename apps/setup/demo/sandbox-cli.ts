// invis-setup as the whole-server test runs it inside the sandbox: the real CLI on the server's
// own files, commands and network; service actions go to the test's supervisor (argv[2], a unix
// socket). Usage: node --conditions=@invis/source --import tsx sandbox-cli.ts SOCKET invis-setup-args…
import { type CommandRunner, createExecaRunner } from '@invis/host';
import { runCli } from '../src/cli';
import { servicesClient } from './sandbox-services';

const [socket, ...argv] = process.argv.slice(2);
if (socket === undefined) throw new Error('usage: sandbox-cli.ts SOCKET ARGS…');
const real = createExecaRunner();
/**
 * `systemctl daemon-reload` has nothing to do here (the supervisor reads its unit table at every
 * start); any other systemctl call is a bug and fails, as there is no systemd.
 */
const runner: CommandRunner = {
  run(command, args, options) {
    if (command === 'systemctl' && args.length === 1 && args[0] === 'daemon-reload') {
      return Promise.resolve({ command, args: [...args], exitCode: 0, stdout: '', stderr: '', output: '' });
    }
    return real.run(command, args, options);
  },
};
process.exitCode = await runCli(argv, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  isTty: false,
  stdin: process.stdin,
  runner,
  services: servicesClient(socket),
});
