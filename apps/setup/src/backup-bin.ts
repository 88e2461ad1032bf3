#!/usr/bin/env node
// The `invis-backup` executable: wires runBackupCli to this process (the only place touching process.*).
import { runBackupCli } from './backup-cli';

process.exitCode = await runBackupCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
