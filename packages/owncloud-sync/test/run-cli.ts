// Runs `invis-sync` in process and captures what it prints (shared by the CLI tests).
import { runCli } from '../src/cli';

/** What one CLI run printed and returned. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs the CLI with `argv`, no terminal, and returns exit code, stdout and stderr.
 * @param argv arguments (without node and script)
 * @param hostname the host name the CLI sees (conflict copies, lock owner)
 */
export async function runCliCaptured(argv: string[], hostname?: string): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    isTty: false,
    ...(hostname === undefined ? {} : { hostname }),
  });
  return { code, out, err };
}
