#!/usr/bin/env node
// The `invis-sync` executable: wires runCli to this process (the only place touching process.*).
import { hostname } from 'node:os';
import { runCli } from './cli';

// SIGINT/SIGTERM end `invis-sync watch` after its run in progress (a second one ends the process).
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => stop.abort());
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTty: process.stderr.isTTY === true,
  hostname: hostname(),
  signal: stop.signal,
});
