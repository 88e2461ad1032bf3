import { renderSharesConf } from '@invis/samba-shares';
import { describe, expect, it } from 'vitest';
import { validateAnswers } from '../answers';
import { type PlatformProfile, PROFILES } from '../profiles';
import { printShares, renderCupsdConf } from './print';
import { lpadminCommand, parseLpstat, queueMatches } from './print-queues';

const profile = PROFILES['debian-12'] as PlatformProfile;
const answers = validateAnswers(
  {
    hostname: 'invis',
    domain: 'firma.loc',
    interfaces: { intern: 'lan0', extern: 'wan0' },
    lan: { address: '10.20.30.40/16' },
    ssh: { port: 55022 },
    print: {
      printers: [
        { name: 'buero', driver: 'everywhere', uri: 'ipp://10.20.30.50/ipp/print', location: 'Flur' },
        { name: 'pdf', driver: 'cups-pdf', description: 'PDF-Drucker' },
      ],
    },
  },
  'en',
);
const [buero, pdf] = answers.print.printers as [
  (typeof answers.print.printers)[number],
  (typeof answers.print.printers)[number],
];

/** `lpstat -l -p`, `-v`, `-a` of CUPS 2.4 in the C locale (shortened to the lines that matter). */
const LPSTAT_P = `printer buero disabled since Sun Dec  6 17:09:41 2026 -
\tRejecting Jobs
\tForm mounted:
\tDescription: buero
\tAlerts: paused
\tLocation: Flur
\tConnection: remote
printer pdf is idle.  enabled since Sun Dec  6 17:02:53 2026
\tDescription: PDF-Drucker
\tLocation: 
\tUsers allowed:
\t\t(all)
`;
const LPSTAT_V = 'device for buero: ipp://10.20.30.50/ipp/print\ndevice for pdf: cups-pdf:/\n';
const LPSTAT_A = `buero not accepting requests since Sun Dec  6 17:09:41 2026 -
\tRejecting Jobs
pdf accepting requests since Sun Dec  6 17:02:53 2026
`;

describe('print module renders', () => {
  it('cupsd.conf: localhost, the socket and the LAN address only; every location only for the LAN network', () => {
    const conf = renderCupsdConf(answers);
    expect(conf.match(/^Listen .*$/gm)).toEqual([
      'Listen localhost:631',
      'Listen 10.20.30.40:631',
      'Listen /run/cups/cups.sock',
    ]);
    expect(conf).not.toMatch(/Port 631|0\.0\.0\.0|@LOCAL|Allow from all/);
    expect(conf).toContain('Browsing No\n');
    expect(conf.match(/^ {2}Allow from .*$/gm)).toEqual(
      Array.from({ length: 4 }, () => [
        '  Allow from 127.0.0.1',
        '  Allow from ::1',
        '  Allow from 10.20.0.0/16',
      ]).flat(),
    );
    expect(conf).toContain('<Location /admin/conf>\n  AuthType Default\n  Require user @SYSTEM\n');
    expect(conf).toContain('ServerAlias invis invis.firma.loc\n');
  });

  it('one printer share per queue and [print$] through @invis/samba-shares: printing = cups, domain users print, admins upload drivers', () => {
    const text = renderSharesConf(printShares(answers, profile));
    expect(text).toContain(
      '[buero]\n\tpath = /var/spool/samba\n\tcomment = buero\n\tguest ok = no\n\tprintable = yes\n\tvalid users = @"FIRMA\\Domain Users"\n\tcreate mask = 0600\n\tprinter name = buero\n\tprinting = cups\n',
    );
    expect(text).toContain('[pdf]\n\tpath = /var/spool/samba\n\tcomment = PDF-Drucker\n');
    expect(text).not.toContain('[printers]');
    expect(text).toContain('[print$]\n');
    expect(text).toContain('\twrite list = @"FIRMA\\Domain Admins"\n');
  });
});

describe('print queues', () => {
  it('reads lpstat: URI, description, location, enabled and accepting', () => {
    const queues = parseLpstat(LPSTAT_P, LPSTAT_V, LPSTAT_A);
    expect(queues.get('buero')).toEqual({
      name: 'buero',
      uri: 'ipp://10.20.30.50/ipp/print',
      description: 'buero',
      location: 'Flur',
      enabled: false,
      accepting: false,
    });
    expect(queues.get('pdf')).toMatchObject({
      uri: 'cups-pdf:/',
      description: 'PDF-Drucker',
      enabled: true,
      accepting: true,
    });
    // buero is disabled: apply enables it again; pdf is as wanted.
    expect(queueMatches(queues.get('buero'), buero)).toBe(false);
    // lpstat does not tell whether the queue has a driver: readQueues adds it from the PPD folder.
    expect(queueMatches(queues.get('pdf'), pdf)).toBe(false);
    const withDriver = { ...(queues.get('pdf') as NonNullable<ReturnType<typeof queues.get>>), driver: true };
    expect(queueMatches(withDriver, pdf)).toBe(true);
    expect(queueMatches(undefined, pdf)).toBe(false);
    expect(queueMatches({ ...withDriver, description: 'x' }, pdf)).toBe(false);
    expect(parseLpstat('', '', '').size).toBe(0);
  });

  it('refuses lpstat output it does not understand instead of taking it as "no printers"', () => {
    expect(() => parseLpstat('Drucker buero ist bereit\n', '', '')).toThrow(/does not understand/);
    expect(() => parseLpstat(LPSTAT_P, 'Gerät für buero: ipp://x\n', '')).toThrow(/does not understand/);
  });

  it('lpadmin: driverless for IPP Everywhere, the PDF PPD for cups-pdf; enabled, as an argument array', () => {
    expect(lpadminCommand(buero, profile)).toMatchObject({
      command: '/usr/sbin/lpadmin',
      args: ['-p', 'buero', '-E', '-v', 'ipp://10.20.30.50/ipp/print', '-m', 'everywhere', '-L', 'Flur'],
    });
    expect(lpadminCommand(pdf, profile).args).toEqual([
      '-p',
      'pdf',
      '-E',
      '-v',
      'cups-pdf:/',
      '-P',
      '/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd',
      '-D',
      'PDF-Drucker',
    ]);
  });

  it('the answers refuse printer names and texts that could break lpadmin or smb.conf', () => {
    const bad = (printer: Record<string, unknown>) =>
      expect(() =>
        validateAnswers(
          {
            hostname: 'invis',
            domain: 'firma.loc',
            interfaces: { intern: 'lan0', extern: 'wan0' },
            lan: { address: '10.20.30.40/16' },
            ssh: { port: 55022 },
            print: { printers: [printer] },
          },
          'en',
        ),
      ).toThrow(/print\.printers/);
    bad({ name: 'printers', driver: 'cups-pdf' });
    bad({ name: 'Transfer', driver: 'cups-pdf' });
    bad({ name: 'a b', driver: 'cups-pdf' });
    bad({ name: 'x', driver: 'cups-pdf', description: 'line\nbreak' });
    bad({ name: 'x', driver: 'cups-pdf', location: 'say "hi"' });
    bad({ name: 'x', driver: 'everywhere', uri: 'http://10.0.0.1/' });
    bad({ name: 'x', driver: 'everywhere', uri: 'file:///etc/passwd' });
  });
});
