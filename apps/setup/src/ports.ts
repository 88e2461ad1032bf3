// The random external SSH port: chosen once at init, never on a port that something listens on
// and never in Samba's RPC range (the original picked blindly, its collision check read an unset
// variable).
import { SetupError } from './errors';

/** Range the random external ports come from (as in the original). */
export const RANDOM_PORT_RANGE = { min: 50001, max: 65535 } as const;
/** Samba's RPC ports on an invis server (`rpc server dynamic port range`). */
export const SAMBA_RPC_RANGE = { min: 61000, max: 61999 } as const;

/**
 * Whether `port` lies in Samba's RPC range.
 * @param port a port
 * @returns true for 61000–61999
 */
export function inSambaRpcRange(port: number): boolean {
  return port >= SAMBA_RPC_RANGE.min && port <= SAMBA_RPC_RANGE.max;
}

/**
 * The ports in use according to `ss -Hltnu` (TCP and UDP listeners, no header).
 * @param output the program's stdout
 * @returns the local ports
 */
export function parseListeningPorts(output: string): Set<number> {
  const ports = new Set<number>();
  for (const line of output.split('\n')) {
    // Netid State Recv-Q Send-Q Local:Port Peer:Port; the local column is the fifth.
    const local = line.trim().split(/\s+/)[4];
    const match = local ? /:(\d+)$/.exec(local) : null;
    if (match?.[1]) ports.add(Number(match[1]));
  }
  return ports;
}

/**
 * Picks a port in 50001–65535 outside Samba's RPC range and not in `used`.
 * @param used ports something listens on (or that are taken otherwise)
 * @param randomInt `(min, max) → integer in [min, max)`, e.g. `crypto.randomInt`
 * @returns the port
 * @throws SetupError `SETUP_NO_FREE_PORT` when no free port was found
 * @example choosePort(new Set([55000]), randomInt)
 */
export function choosePort(used: ReadonlySet<number>, randomInt: (min: number, max: number) => number): number {
  const free = (port: number) => !used.has(port) && !inSambaRpcRange(port);
  // Random tries first (the range is mostly free), then a scan so a crowded host still gets one.
  for (let attempt = 0; attempt < 64; attempt++) {
    const port = randomInt(RANDOM_PORT_RANGE.min, RANDOM_PORT_RANGE.max + 1);
    if (free(port)) return port;
  }
  for (let port = RANDOM_PORT_RANGE.min; port <= RANDOM_PORT_RANGE.max; port++) if (free(port)) return port;
  throw new SetupError('SETUP_NO_FREE_PORT', 'no free port in 50001–65535 outside 61000–61999');
}
