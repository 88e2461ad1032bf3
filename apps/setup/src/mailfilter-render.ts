// The spam and virus filter's files, rendered purely: rspamd `local.d/` overrides (the milter
// proxy Postfix talks to, ClamAV through rspamd's antivirus module, fail-closed when the scanner
// is away), the whole clamd.conf, and the signature-update timer. The module writes them; tests
// and the mail-flow bench start real daemons from the same renders on a loopback address.
import { generatedMarker } from '@invis/host';
import type { PlatformProfile } from './profiles';
import { HARDENING, renderUnit } from './systemd';

/** rspamd's ports: the milter proxy Postfix talks to, the scanning worker, the controller (rspamc, history). */
export const RSPAMD_PORTS = { proxy: 11332, normal: 11333, controller: 11334 } as const;

/** Where the rendered daemons listen and find each other. */
export interface MailFilterEndpoints {
  /** The address every rspamd worker binds (the server: 127.0.0.1; tests: their own loopback address). */
  address: string;
  /** clamd's unix socket, which rspamd's antivirus module connects to. */
  clamdSocket: string;
}

/** The endpoints of the server itself, from the profile. */
export function serverEndpoints(profile: Pick<PlatformProfile, 'mailfilter'>): MailFilterEndpoints {
  return { address: '127.0.0.1', clamdSocket: profile.mailfilter.clamav.socket };
}

/** The symbol rspamd's antivirus module adds for a virus; `<symbol>_FAIL` when the scanner failed. */
export const VIRUS_SYMBOL = 'CLAM_VIRUS';

const marker = generatedMarker('@invis/setup-1', 'hash');

/**
 * rspamd's `local.d/` files (name → content), merged over Debian's defaults.
 *
 * - `actions.conf`: `reject` has no score threshold, so no score reaches it: spam of any score
 *   (≥ 6) is `add header` and lands in the user's Junk — a false positive never disappears into
 *   a queue only the admin sees. Only forced verdicts reach reject: a virus (below) and rspamd's
 *   GTUBE test string, which rspamd 3.4 forces to reject before any rule or setting runs.
 * - `worker-proxy.inc`: the milter on `<address>:11332`. A reject is answered with QUARANTINE,
 *   so Postfix puts the mail on hold: it never reaches a mailbox and nothing is lost — a reject
 *   would make fetchmail drop the message at the provider. Spam gets `X-Spam: Yes` (the proxy
 *   removes any `X-Spam` the sender brought), which the mailserver's Sieve rule files into Junk.
 * - `worker-normal.inc`, `worker-controller.inc`: bound to the same address (loopback only).
 * - `antivirus.conf`: ClamAV over its socket, the whole message (clamd decodes MIME itself), a
 *   virus forces reject (→ quarantine above).
 * - `force_actions.conf`: when the scanner does not answer, soft reject (4xx): fetchmail keeps
 *   the mail at the provider and retries, a submission client retries — nothing passes unscanned.
 * @param endpoints address and clamd socket
 * @returns file name → content
 */
export function renderRspamdLocal(endpoints: MailFilterEndpoints): Record<string, string> {
  const { address } = endpoints;
  const ucl = (comment: string, lines: readonly string[]) => `${marker}\n# ${comment}\n${lines.join('\n')}\n`;
  return {
    // An object, not `reject = null`: rspamd refuses an action without a threshold unless flagged.
    'actions.conf': ucl('Spam of any score goes to Junk: no score reaches reject, only a virus (forced) does.', [
      'reject {',
      '  flags = ["no_threshold"];',
      '}',
    ]),
    'worker-proxy.inc': ucl('The milter Postfix talks to; a (forced) reject is held in Postfix, never bounced.', [
      `bind_socket = "${address}:${RSPAMD_PORTS.proxy}";`,
      'milter = yes;',
      'timeout = 120s;',
      'upstream "local" {',
      '  default = yes;',
      `  hosts = "${address}:${RSPAMD_PORTS.normal}";`,
      '}',
      'quarantine_on_reject = true;',
      'discard_on_reject = false;',
      'spam_header = "X-Spam";',
    ]),
    'worker-normal.inc': ucl('The scanning worker, loopback only.', [
      `bind_socket = "${address}:${RSPAMD_PORTS.normal}";`,
    ]),
    'worker-controller.inc': ucl('The controller (rspamc, history), loopback only.', [
      `bind_socket = "${address}:${RSPAMD_PORTS.controller}";`,
    ]),
    'antivirus.conf': ucl('ClamAV through its socket; a virus forces reject, which the proxy turns into quarantine.', [
      'clamav {',
      '  type = "clamav";',
      `  servers = "${endpoints.clamdSocket}";`,
      `  symbol = "${VIRUS_SYMBOL}";`,
      '  action = "reject";',
      `  message = '\${SCANNER}: virus found: "\${VIRUS}"';`,
      '  scan_mime_parts = false;',
      '  log_clean = false;',
      '}',
    ]),
    'force_actions.conf': ucl('Fail closed: no scanner, no delivery (4xx, the sender retries).', [
      'rules {',
      '  INVIS_SCANNER_DOWN {',
      '    action = "soft reject";',
      `    expression = "${VIRUS_SYMBOL}_FAIL";`,
      '    message = "virus scanner unavailable, try again later";',
      '  }',
      '}',
    ]),
  };
}

/**
 * The whole clamd.conf: the socket rspamd uses, the signature folder, sizes that fit mail, and no
 * concurrent database reload — on a small server a reload would otherwise hold two copies of
 * the signatures in memory at once.
 * @param profile the ClamAV paths
 * @returns the file content
 */
export function renderClamdConf(profile: Pick<PlatformProfile, 'mailfilter'>): string {
  const { clamav } = profile.mailfilter;
  const settings: [string, string][] = [
    ['LocalSocket', clamav.socket],
    ['FixStaleSocket', 'true'],
    ['LocalSocketGroup', clamav.user],
    // rspamd runs as its own user; Debian's socket unit opens the socket 0666 as well.
    ['LocalSocketMode', '666'],
    ['User', clamav.user],
    ['DatabaseDirectory', clamav.databaseDir],
    ['LogFile', clamav.logFile],
    ['LogTime', 'true'],
    ['LogRotate', 'true'],
    ['LogSyslog', 'false'],
    ['ScanMail', 'true'],
    ['ScanArchive', 'true'],
    ['ScanPE', 'true'],
    ['ScanOLE2', 'true'],
    ['ScanPDF', 'true'],
    ['ScanHTML', 'true'],
    ['PhishingSignatures', 'true'],
    ['MaxThreads', '4'],
    ['StreamMaxLength', '50M'],
    ['MaxFileSize', '50M'],
    ['MaxScanSize', '100M'],
    ['SelfCheck', '3600'],
    ['ConcurrentDatabaseReload', 'no'],
  ];
  return `${marker}\n# clamd for rspamd's antivirus module (invis mailfilter).\n${settings.map(([k, v]) => `${k} ${v}`).join('\n')}\n`;
}

/** The signature-update units. */
export const SIGNATURES_UNIT = 'invis-signatures';
/** The job name of a signature update in the jobs folder (the portal's status page). */
export const SIGNATURES_JOB = 'signatures';

/**
 * The signature update: `invis-setup signatures` (freshclam once, then the job state) every two
 * hours — ClamAV's mirrors refuse clients that ask more often than hourly. It replaces Debian's
 * freshclam daemon (`Conflicts=`), which would fight over the database lock.
 * @param profile setup command, ClamAV and jobs paths
 * @returns service and timer
 */
export function renderSignatureUnits(profile: PlatformProfile): { service: string; timer: string } {
  const { clamav } = profile.mailfilter;
  const service = renderUnit('Updates the ClamAV signatures and records the result for the portal.', {
    Unit: [
      ['Description', 'invis: ClamAV signature update'],
      ['After', 'network-online.target'],
      ['Wants', 'network-online.target'],
      ['Conflicts', `${clamav.freshclamUnit}.service`],
    ],
    Service: [
      ['Type', 'oneshot'],
      ['ExecStart', [...profile.setupCommand, 'signatures'].join(' ')],
      ...HARDENING,
      ['ReadWritePaths', `${clamav.databaseDir} ${clamav.logDir} ${profile.jobsDir}`],
      // freshclam starts as root and drops to the database owner.
      ['CapabilityBoundingSet', 'CAP_SETUID CAP_SETGID CAP_CHOWN CAP_FOWNER'],
    ],
  });
  const timer = renderUnit('Runs the signature update every two hours.', {
    Unit: [['Description', 'invis: ClamAV signature update every two hours']],
    Timer: [
      ['OnActiveSec', '1min'],
      ['OnUnitActiveSec', '2h'],
      ['RandomizedDelaySec', '10min'],
    ],
    Install: [['WantedBy', 'timers.target']],
  });
  return { service, timer };
}
