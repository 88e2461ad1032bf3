#!/usr/bin/env node
// The `invis-setup` executable: wires runCli to this process (the only place touching process.*).
import { createInterface } from 'node:readline/promises';
import { runCli } from './cli';

const isTty = process.stdin.isTTY === true && process.stderr.isTTY === true;
const prompt = isTty ? createInterface({ input: process.stdin, output: process.stderr }) : undefined;
try {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    isTty,
    stdin: process.stdin,
    ...(prompt ? { ask: (question: string) => prompt.question(question) } : {}),
  });
} finally {
  prompt?.close();
}
