// invis-setup inside the whole-mailfilter sandbox with the mail modules added to the registry, for
// the time they are not in it yet (same as demo/sandbox-cli.ts otherwise).
// Usage: node --conditions=@invis/source --import tsx whole-mailfilter-cli.ts SOCKET invis-setup-args…
import { type CommandRunner, createExecaRunner } from '@invis/host';
import { servicesClient } from '../../demo/sandbox-services';
import { runCli } from '../../src/cli';
import { MODULES } from '../../src/modules/index';
import { mailfilterModule } from '../../src/modules/mailfilter';
import { mailserverModule } from '../../src/modules/mailserver';

const [socket, ...argv] = process.argv.slice(2);
if (socket === undefined) throw new Error('usage: whole-mailfilter-cli.ts SOCKET ARGS…');
const real = createExecaRunner();
// The supervisor reads its unit table at each start: daemon-reload has nothing to do.
const runner: CommandRunner = {
  run(command, args, options) {
    if (command === 'systemctl' && args.length === 1 && args[0] === 'daemon-reload') {
      return Promise.resolve({ command, args: [...args], exitCode: 0, stdout: '', stderr: '', output: '' });
    }
    return real.run(command, args, options);
  },
};
const modules = [...MODULES, mailserverModule, mailfilterModule].filter(
  (m, i, all) => all.findIndex((o) => o.id === m.id) === i,
);
process.exitCode = await runCli(argv, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  isTty: false,
  runner,
  services: servicesClient(socket),
  modules,
});
