// The print queues of the answers in the running CUPS: read what CUPS has (`lpstat`, C locale),
// and the `lpadmin` run that brings one queue to the answers. IPP Everywhere queues are made
// driverless (`-m everywhere`: CUPS asks the printer for its capabilities); `cups-pdf` queues use
// the virtual PDF printer's PPD.
import type { CommandRunner, HostFs, PlannedCommand } from '@invis/host';
import type { Answers } from '../answers';
import { SetupError } from '../errors';
import type { PlatformProfile } from '../profiles';

/** One printer of the answers. */
export type PrinterAnswer = Answers['print']['printers'][number];

/** What CUPS reports about one queue. */
export interface CupsQueue {
  name: string;
  uri?: string;
  description?: string;
  location?: string;
  enabled: boolean;
  accepting: boolean;
  /** CUPS made the queue's PPD: it has a driver (a driverless queue whose printer never answered has none). */
  driver?: boolean;
}

/** lpstat's words, not the reader's language. */
const C_LOCALE = { LANG: 'C', LC_ALL: 'C' };

/** The device URI a printer of the answers gets. */
export const printerUri = (printer: PrinterAnswer): string =>
  printer.driver === 'everywhere' ? printer.uri : 'cups-pdf:/';

/**
 * Parses `lpstat -l -p` (queue state, description, location) and `lpstat -v` (device URIs) and
 * `lpstat -a` (accepting) into queues, in the C locale.
 * @param printers `lpstat -l -p` output
 * @param devices `lpstat -v` output
 * @param accepting `lpstat -a` output
 * @returns the queues by name
 * @throws SetupError `SETUP_CHECK_FAILED` for a line it does not understand (never "no printers")
 */
export function parseLpstat(printers: string, devices: string, accepting: string): Map<string, CupsQueue> {
  const queues = new Map<string, CupsQueue>();
  const refuse = (line: string) =>
    new SetupError('SETUP_CHECK_FAILED', `lpstat printed a line setup does not understand: ${JSON.stringify(line)}`);
  let current: CupsQueue | undefined;
  for (const line of printers.split('\n')) {
    if (line.trim() === '') continue;
    const head = /^printer (\S+) (?:is idle|now printing \S+|disabled)/.exec(line);
    if (head?.[1]) {
      current = { name: head[1], enabled: !/^printer \S+ disabled/.test(line), accepting: false };
      queues.set(current.name, current);
      continue;
    }
    if (!current || !/^\s/.test(line)) throw refuse(line);
    const field = /^\s+(Description|Location): ?(.*)$/.exec(line);
    if (field?.[1] === 'Description') current.description = field[2] ?? '';
    if (field?.[1] === 'Location') current.location = field[2] ?? '';
  }
  for (const line of devices.split('\n')) {
    if (line.trim() === '' || line.startsWith('system default destination')) continue;
    const device = /^device for (\S+): (\S+)$/.exec(line);
    if (!device?.[1]) throw refuse(line);
    const queue = queues.get(device[1]);
    if (queue) queue.uri = device[2];
  }
  for (const line of accepting.split('\n')) {
    if (line.trim() === '') continue;
    const state = /^(\S+) (accepting|not accepting) requests/.exec(line);
    if (!state?.[1]) {
      // `lpstat -a` continues a "not accepting" line with the reason, indented.
      if (/^\s/.test(line)) continue;
      throw refuse(line);
    }
    const queue = queues.get(state[1]);
    if (queue) queue.accepting = state[2] === 'accepting';
  }
  return queues;
}

/**
 * The queues CUPS has now, each with whether its PPD exists.
 * @param runner the command runner
 * @param profile where lpstat and the PPDs are
 * @param fs the (rooted) file system
 * @returns the queues by name
 * @throws SetupError `SETUP_CHECK_FAILED` when CUPS cannot be asked (not running) or answers oddly
 */
export async function readQueues(
  runner: CommandRunner,
  profile: PlatformProfile,
  fs: HostFs,
): Promise<Map<string, CupsQueue>> {
  const lpstat = async (args: string[]) => {
    const result = await runner.run(profile.print.lpstat, args, { env: C_LOCALE, timeoutMs: 30_000 });
    // lpstat exits 1 with "No destinations added." when CUPS has no queue yet: that is an answer.
    if (result.exitCode !== 0 && !/No destinations added/.test(result.output)) {
      throw new SetupError('SETUP_CHECK_FAILED', `lpstat ${args.join(' ')}: ${result.output.trim()}`, {
        details: { exitCode: result.exitCode },
      });
    }
    return result.stdout;
  };
  const queues = parseLpstat(await lpstat(['-l', '-p']), await lpstat(['-v']), await lpstat(['-a']));
  for (const queue of queues.values()) queue.driver = await fs.exists(`${profile.print.ppdDir}/${queue.name}.ppd`);
  return queues;
}

/**
 * Whether a queue is as the answers want it.
 * @param queue what CUPS has (undefined: missing)
 * @param printer the answer
 * @returns true when nothing needs doing
 */
export function queueMatches(queue: CupsQueue | undefined, printer: PrinterAnswer): boolean {
  return (
    queue?.enabled === true &&
    queue.accepting &&
    queue.driver === true &&
    queue.uri === printerUri(printer) &&
    (printer.description === undefined || queue.description === printer.description) &&
    (printer.location === undefined || queue.location === printer.location)
  );
}

/**
 * The lpadmin run that creates or updates a queue, enabled and accepting jobs. Arguments go as an
 * array (never a shell); the answers allow no quotes, backslashes or control characters in them.
 * @param printer the answer
 * @param profile lpadmin and the cups-pdf PPD
 * @returns the command
 */
export function lpadminCommand(printer: PrinterAnswer, profile: PlatformProfile): PlannedCommand {
  const driver = printer.driver === 'everywhere' ? ['-m', 'everywhere'] : ['-P', profile.print.cupsPdfPpd];
  return {
    command: profile.print.lpadmin,
    args: [
      '-p',
      printer.name,
      '-E',
      '-v',
      printerUri(printer),
      ...driver,
      ...(printer.description === undefined ? [] : ['-D', printer.description]),
      ...(printer.location === undefined ? [] : ['-L', printer.location]),
    ],
    reason: `printer ${printer.name} (${printer.driver === 'everywhere' ? 'IPP Everywhere, driverless' : 'virtual PDF printer'})`,
  };
}
