// The random external ports (SSH, portal, OpenVPN): chosen once at init, never on a port that
// something listens on and never in Samba's RPC range (the original picked blindly, its collision
// check read an unset variable).
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
 * Picks a port in 50001–65535 outside Samba's RPC range and not in `used` — with `span` > 1 the
 * first of `span` consecutive such ports (OpenVPN: road warrior and site-to-site on port + 1).
 * @param used ports something listens on (or that are taken otherwise)
 * @param randomInt `(min, max) → integer in [min, max)`, e.g. `crypto.randomInt`
 * @param span how many consecutive ports are needed (default 1)
 * @returns the (first) port
 * @throws SetupError `SETUP_NO_FREE_PORT` when no free port was found
 * @example choosePort(new Set([55000]), randomInt)
 */
export function choosePort(
  used: ReadonlySet<number>,
  randomInt: (min: number, max: number) => number,
  span = 1,
): number {
  const one = (port: number) => port <= RANDOM_PORT_RANGE.max && !used.has(port) && !inSambaRpcRange(port);
  const free = (port: number) => Array.from({ length: span }, (_, i) => port + i).every(one);
  // Random tries first (the range is mostly free), then a scan so a crowded host still gets one.
  for (let attempt = 0; attempt < 64; attempt++) {
    const port = randomInt(RANDOM_PORT_RANGE.min, RANDOM_PORT_RANGE.max + 1);
    if (free(port)) return port;
  }
  for (let port = RANDOM_PORT_RANGE.min; port <= RANDOM_PORT_RANGE.max; port++) if (free(port)) return port;
  throw new SetupError('SETUP_NO_FREE_PORT', 'no free port in 50001–65535 outside 61000–61999');
}

/** The random external ports of a server. */
export interface ExternalPorts {
  ssh: number;
  /** The portal's HTTPS port (TCP). */
  portal: number;
  /** OpenVPN road warrior (UDP); site-to-site uses `openvpn + 1`. */
  openvpn: number;
}

/**
 * Chooses every external port that `given` lacks, each one free of listeners, of Samba's RPC
 * range and of the ports already given or chosen (OpenVPN with its `+ 1` partner).
 * @param used ports something listens on
 * @param randomInt `(min, max) → integer in [min, max)`
 * @param given ports fixed already (by the answers)
 * @returns all three ports
 * @throws SetupError `SETUP_NO_FREE_PORT`
 */
export function chooseExternalPorts(
  used: ReadonlySet<number>,
  randomInt: (min: number, max: number) => number,
  given: Partial<ExternalPorts> = {},
): ExternalPorts {
  const taken = new Set(used);
  for (const port of Object.values(given)) if (port !== undefined) taken.add(port);
  if (given.openvpn !== undefined) taken.add(given.openvpn + 1);
  const pick = (span = 1) => {
    const port = choosePort(taken, randomInt, span);
    for (let i = 0; i < span; i++) taken.add(port + i);
    return port;
  };
  const ssh = given.ssh ?? pick();
  const portal = given.portal ?? pick();
  const openvpn = given.openvpn ?? pick(2);
  return { ssh, portal, openvpn };
}
