// `pnpm check:dist`: what ships is what is tested. Packs every library as a user would get it,
// lints the tarballs (publint, are-the-types-wrong), installs them with npm into an empty folder
// outside the repository, imports each one (on Node 24 and on the stated floor), type-checks a
// consumer file against the shipped declarations, runs the shipped `invis-sync` and starts the
// built portal until it serves its login page.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

const root = join(import.meta.dirname, '..', '..', '..');
const floorNode = process.env.INVIS_FLOOR_NODE; // node binary of the engines floor (from bootstrap)
const keep = process.argv.includes('--keep');

interface Library {
  name: string;
  dir: string;
  version: string;
  bin: Record<string, string>;
}

/** A fenced `ts` block of a README; `runs` when the line before it says it needs no server. */
interface ReadmeExample {
  file: string;
  code: string;
  runs: boolean;
}

const RUNS_MARKER = '<!-- example: runs without a server -->';

/** Every `ts` example of a package README: all must compile against the shipped package. */
function readmeExamples(lib: Library): ReadmeExample[] {
  const readme = join(lib.dir, 'README.md');
  if (!existsSync(readme)) return [];
  const lines = readFileSync(readme, 'utf8').split('\n');
  const examples: ReadmeExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== '```ts') continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) break;
    const base = lib.name.replace('@invis/', '');
    examples.push({
      file: `readme-${base}-${examples.length + 1}.ts`,
      code: `${lines.slice(i + 1, end).join('\n')}\nexport {};\n`,
      runs: lines[i - 1]?.trim() === RUNS_MARKER || lines[i - 2]?.trim() === RUNS_MARKER,
    });
    i = end;
  }
  return examples;
}

const failures: string[] = [];
const check = (ok: boolean, what: string): void => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

/** Runs a command; output is shown only when it fails. */
async function run(
  what: string,
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
) {
  const result = await execa(command, args, { reject: false, all: true, stdin: 'ignore', ...options });
  check(result.exitCode === 0, what);
  if (result.exitCode !== 0) console.log(String(result.all).split('\n').slice(-40).join('\n'));
  return result;
}

function libraries(): Library[] {
  return readdirSync(join(root, 'packages'))
    .map((d) => join(root, 'packages', d))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return { name: pkg.name, dir, version: pkg.version, bin: pkg.bin ?? {} };
    })
    .filter((lib) => !JSON.parse(readFileSync(join(lib.dir, 'package.json'), 'utf8')).private);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Starts the built portal with a test configuration and fetches its login page. */
async function checkPortal(work: string): Promise<void> {
  const dataDir = join(work, 'portal-data');
  await mkdir(dataDir, { mode: 0o700 });
  const passwordFile = join(work, 'ldap-password');
  await writeFile(passwordFile, 'not-used-before-a-login\n', { mode: 0o600 });
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'apps/portal/dist/main.js')], {
    cwd: work,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      PORTAL_HOST: '127.0.0.1',
      PORTAL_PORT: String(port),
      PORTAL_LDAP_URL: 'ldaps://127.0.0.1:1',
      PORTAL_LDAP_BIND: 'portal@invis.test',
      PORTAL_LDAP_PASSWORD_FILE: passwordFile,
      PORTAL_DATA_DIR: dataDir,
      PORTAL_TRUSTED_PROXIES: '127.0.0.1',
    },
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 20_000;
    let page = '';
    let status = 0;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'follow' });
        status = response.status;
        page = await response.text();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const ok = status === 200 && /type="password"/.test(page);
    check(ok, 'apps/portal/dist/main.js starts and serves its login page');
    if (!ok) console.log(`status ${status}; portal output:\n${output.slice(-3000)}`);
  } finally {
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    if (code === 'timeout') child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'invis-dist-'));
  const tarballs = join(work, 'tarballs');
  const consumer = join(work, 'consumer');
  await mkdir(tarballs);
  await mkdir(consumer);
  try {
    const libs = libraries();
    for (const lib of libs) {
      // The build phase has just built dist/; `prepack` (a build) is for people packing by hand.
      await run(`pack ${lib.name}`, 'pnpm', ['pack', '--config.ignore-scripts=true', '--pack-destination', tarballs], {
        cwd: lib.dir,
      });
    }
    const files = readdirSync(tarballs).map((f) => join(tarballs, f));
    for (const file of files) {
      const name = file.slice(tarballs.length + 1);
      await run(`publint ${name}`, 'publint', ['--strict', file]);
      await run(`attw ${name}`, 'attw', ['--profile', 'esm-only', '--format', 'table-flipped', file]);
      const listing = await execa('tar', ['tzf', file]);
      check(
        !/(^|\/)src\/|\.test\.|workspace:/.test(listing.stdout) &&
          !(await execa('tar', ['xzOf', file, 'package/package.json'])).stdout.includes('workspace:'),
        `${name} holds no sources, tests or workspace: ranges`,
      );
    }

    await writeFile(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await run(
      'npm install of every tarball outside the repository',
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files],
      { cwd: consumer },
    );

    const imports = libs.map((lib) => lib.name);
    const importScript = `for (const name of ${JSON.stringify(imports)}) { const m = await import(name); if (Object.keys(m).length === 0) throw new Error(name + ' exports nothing'); }`;
    await run('import every package (Node 24)', process.execPath, ['--input-type=module', '-e', importScript], {
      cwd: consumer,
    });
    if (floorNode) {
      const version = (await execa(floorNode, ['--version'])).stdout;
      await run(
        `import every package (engines floor, Node ${version})`,
        floorNode,
        ['--input-type=module', '-e', importScript],
        {
          cwd: consumer,
        },
      );
    }

    const examples = libs.flatMap(readmeExamples);
    for (const example of examples) await writeFile(join(consumer, example.file), example.code);
    const consumerTs = imports
      .map((name, i) => `import * as p${i} from '${name}';\nexport const k${i}: string[] = Object.keys(p${i});\n`)
      .join('');
    await writeFile(join(consumer, 'consumer.ts'), consumerTs);
    await writeFile(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
        },
        files: ['consumer.ts', ...examples.map((e) => e.file)],
      }),
    );
    await run('tsc on a consumer file against the shipped declarations', join(root, 'node_modules/.bin/tsc'), [
      '-p',
      consumer,
    ]);

    for (const lib of libs) {
      for (const bin of Object.keys(lib.bin)) {
        const binPath = join(consumer, 'node_modules/.bin', bin);
        const help = await run(`${bin} --help from the installed tarball`, binPath, ['--help'], { cwd: consumer });
        check(/usage/i.test(help.stdout), `${bin} --help prints its usage on stdout`);
        const version = await run(`${bin} --version from the installed tarball`, binPath, ['--version'], {
          cwd: consumer,
        });
        check(version.stdout.includes(lib.version), `${bin} --version prints ${lib.version}`);
        if (floorNode) {
          await run(`${bin} --help on the engines floor`, floorNode, [binPath, '--help'], { cwd: consumer });
        }
      }
    }

    await checkPortal(work);
  } finally {
    if (keep) console.log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
  console.log(`dist: ${failures.length === 0 ? 'all checks passed' : `${failures.length} failed`}`);
  process.exit(failures.length === 0 ? 0 : 1);
}

await main();
