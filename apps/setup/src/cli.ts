// `invis-setup` command line: init / plan / apply / verify / status / secrets show. Pure over
// its injected I/O, so it is testable; src/bin.ts wires it to the process.
import { randomInt as cryptoRandomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatDdnsResult } from '@invis/dns-zone';
import {
  type Clock,
  type CommandRunner,
  createExecaRunner,
  createSystemdServiceManager,
  formatPlan,
  planChanges,
  type ServiceManager,
  systemClock,
} from '@invis/host';
import { parse as parseYaml } from 'yaml';
import packageJson from '../package.json' with { type: 'json' };
import { ANSWERS_PATH, type Answers, loadAnswers, machineDefaults, renderAnswers, validateAnswers } from './answers';
import { runDdns } from './ddns';
import { type ApplyEvent, createEngine } from './engine';
import { errorJson, isSetupError, SetupError } from './errors';
import { syncHomes } from './homes';
import { HOUSEKEEPING_JOBS, type HousekeepingJob, runHousekeeping } from './housekeeping-jobs';
import { checkLangOption, type Lang, pickLang, t } from './i18n';
import { runSignatureUpdate } from './mailfilter-signatures';
import type { ModuleContext, SetupModule } from './module';
import { syncDhcp } from './modules/dhcp';
import { syncMail } from './modules/fetchmail';
import { MODULES } from './modules/index';
import { syncDavGroups } from './modules/webdav';
import { runVpnCheck, vpnBundle } from './openvpn-check';
import { runVpnConnect } from './openvpn-connect';
import { chooseExternalPorts, type ExternalPorts, parseListeningPorts } from './ports';
import { MAX_REQUEST_BYTES, PRIVILEGED_SOCKET, serveRequest } from './privileged';
import { detectProfile } from './profiles';
import { createLiveFs, createRootedFs, type SetupFs } from './rooted-fs';
import { createSecretStore, SETUP_SECRETS } from './secrets';
import { createStateStore } from './state';

/** Exit codes of invis-setup (documented in the README). */
export const EXIT = { ok: 0, failure: 1, usage: 2, problems: 3, changes: 4 } as const;

/** What the CLI needs from its process; everything else has a real default. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** stdin and stderr are a terminal: interactive init and a progress display. */
  isTty: boolean;
  /** Asks one question on the terminal; resolves with the typed text ('' for the default). */
  ask?(question: string): Promise<string>;
  runner?: CommandRunner;
  services?: ServiceManager;
  clock?: Clock;
  /** Modules to run (default: the registry); tests inject their own. */
  modules?: readonly SetupModule[];
  randomInt?: (min: number, max: number) => number;
  /** The connection `privileged` reads its one request from (systemd hands it over as stdin). */
  stdin?: AsyncIterable<Uint8Array>;
}

const COMMANDS = [
  'init',
  'plan',
  'apply',
  'verify',
  'status',
  'secrets',
  'sync',
  'ddns',
  'vpn',
  'housekeeping',
  'signatures',
  'privileged',
] as const;
type Command = (typeof COMMANDS)[number];

const COMMON = {
  de: `Allgemeine Optionen:
  --root DIR   einen ganzen Server unter DIR aufbauen, ohne die Maschine anzufassen
  --json       ein JSON-Dokument auf stdout
  --lang de|en Sprache (Standard: Deutsch, oder en aus LANG)
  --help       Hilfe zum Befehl`,
  en: `Common options:
  --root DIR   render a whole server below DIR without touching the machine
  --json       one JSON document on stdout
  --lang de|en language (default German, or en from LANG)
  --help       help for the command`,
};

const HELP: Record<Command | 'main', Record<Lang, string>> = {
  main: {
    de: `Aufruf: invis-setup <Befehl> [Optionen]
Befehle:
  init [--answers DATEI.yaml]   Fragen stellen (oder Antwortdatei lesen), Antworten speichern
  plan [Modul…] [--exit-code]   zeigen, was apply ändern würde (Diffs, Dienste, Befehle)
  apply [--answers DATEI.yaml] [Modul…]  Module anwenden (idempotent, setzt nach Abbruch fort)
  verify [Modul…]               prüfen, ob alles wie gewünscht ist
  status                        Stand je Modul (angewendet / fehlgeschlagen / ausstehend)
  secrets show NAME             ein erzeugtes Geheimnis ausgeben
  sync dhcp                     DHCP-Reservierungen aus dem Verzeichnis in den laufenden DHCP-Server
  sync homes                    Home- und Profilordner neuer Konten anlegen
  sync mail                     Mailkonten, Anwesenheit und Urlaub aus dem Verzeichnis übernehmen
  ddns                          öffentliche Adresse per DDNS veröffentlichen (Timer alle 10 Minuten)
  housekeeping run transfer|recycle  alte Dateien aus Transfer bzw. Papierkörben löschen (Timer täglich)
  vpn check|connect|bundle NAME VPN: CRL und Ablauf prüfen, Anmeldeprüfung, Client-Bundle
  signatures                    Virensignaturen aktualisieren (freshclam; Timer alle 2 Stunden)
  privileged                    eine Anfrage des Portals über invis-privileged.socket ausführen (nur für systemd)
  --version                     Version
Exit-Codes: 0 ok, 1 Fehler, 2 Aufruf falsch, 3 verify fand Probleme, 4 plan hat Änderungen (mit --exit-code)
${COMMON.de}`,
    en: `usage: invis-setup <command> [options]
commands:
  init [--answers FILE.yaml]    ask the questions (or read an answers file), save the answers
  plan [module…] [--exit-code]  show what apply would change (diffs, services, commands)
  apply [--answers FILE.yaml] [module…]  apply modules (idempotent, resumes after an interruption)
  verify [module…]              check that everything is as wanted
  status                        state per module (applied / failed / pending)
  secrets show NAME             print one generated secret
  sync dhcp                     DHCP reservations from the directory into the running DHCP server
  sync homes                    home and profile folders of new accounts
  sync mail                     mail accounts, presence and vacation from the directory
  ddns                          publish the public address by DDNS (timer every 10 minutes)
  housekeeping run transfer|recycle  remove old files from the transfer folder or the recycle bins (daily timer)
  vpn check|connect|bundle NAME VPN: CRL and expiry check, connect check, client bundle
  signatures                    update the virus signatures (freshclam; timer every 2 hours)
  privileged                    carry out one portal request from invis-privileged.socket (for systemd only)
  --version                     version
exit codes: 0 ok, 1 failure, 2 usage, 3 verify found problems, 4 plan has changes (with --exit-code)
${COMMON.en}`,
  },
  init: {
    de: `Aufruf: invis-setup init [--answers DATEI.yaml]\nOhne --answers fragt init im Terminal; Vorgaben kommen von der Maschine.\nSpeichert ${ANSWERS_PATH} (ohne Geheimnisse) und erzeugt die Geheimnisse.\n${COMMON.de}`,
    en: `usage: invis-setup init [--answers FILE.yaml]\nWithout --answers, init asks on the terminal with defaults from the machine.\nSaves ${ANSWERS_PATH} (no secrets) and generates the secrets.\n${COMMON.en}`,
  },
  plan: {
    de: `Aufruf: invis-setup plan [Modul…] [--exit-code]\nZeigt jede Datei als Diff, jede Dienstaktion und jeden Befehl. --exit-code: 4 wenn es Änderungen gibt.\n${COMMON.de}`,
    en: `usage: invis-setup plan [module…] [--exit-code]\nShows every file as a diff, every service action and command. --exit-code: 4 when there are changes.\n${COMMON.en}`,
  },
  apply: {
    de: `Aufruf: invis-setup apply [--answers DATEI.yaml] [Modul…]\nWendet die Module (und ihre Abhängigkeiten) an; ein zweites apply ändert nichts.\nMit --answers liest apply zuerst die Antwortdatei wie init (schon gewählte Ports bleiben).\n${COMMON.de}`,
    en: `usage: invis-setup apply [--answers FILE.yaml] [module…]\nApplies the modules (and their dependencies); a second apply changes nothing.\nWith --answers, apply first reads the answers file as init does (ports chosen earlier stay).\n${COMMON.en}`,
  },
  verify: {
    de: `Aufruf: invis-setup verify [Modul…]\nExit 3, wenn eine Prüfung ein Problem findet.\n${COMMON.de}`,
    en: `usage: invis-setup verify [module…]\nExit 3 when a check finds a problem.\n${COMMON.en}`,
  },
  status: {
    de: `Aufruf: invis-setup status\nStand je Modul aus dem Zustand des letzten apply.\n${COMMON.de}`,
    en: `usage: invis-setup status\nState per module from the last apply.\n${COMMON.en}`,
  },
  sync: {
    de: `Aufruf: invis-setup sync dhcp|homes|mail\ndhcp: liest die Reservierungen (iscDhcpHost) aus dem Verzeichnis; hat sich die Konfiguration geändert, wird sie geprüft und Kea per config-reload übergeben (kein Neustart) bzw. dhcpd neu gestartet.\nhomes: legt für Konten mit RFC2307-IDs fehlende Home- und Profilordner an (Eigentümer das Konto, 0700); Vorhandenes bleibt unberührt. Ist WebDAV eingerichtet, werden die Regeln der Gruppenordner unter gruppen nachgezogen (Apache nur bei Änderung neu geladen).\nmail: übernimmt Mailkonten, Anwesenheit und Urlaub aus dem Verzeichnis in die Postfix-Tabellen, die fetchmail-Konfiguration (fetchmail wird bei Änderung neu gestartet) und die Urlaubsskripte.\nNur auf dem Server, nicht mit --root.\n${COMMON.de}`,
    en: `usage: invis-setup sync dhcp|homes|mail\ndhcp: reads the reservations (iscDhcpHost) from the directory; when the config changed it is checked and handed to Kea by config-reload (no restart), or dhcpd is restarted.\nhomes: creates missing home and profile folders of accounts with RFC2307 ids (owned by the account, 0700); what exists is left as it is. With WebDAV set up, the rules of the group folders below gruppen follow (Apache reloaded only when they changed).\nmail: brings mail accounts, presence and vacation from the directory into Postfix's tables, the fetchmail rc (fetchmail restarted when it changed) and the vacation scripts.\nOn the server only, not with --root.\n${COMMON.en}`,
  },
  ddns: {
    de: `Aufruf: invis-setup ddns\nEin DDNS-Lauf für den Abschnitt ddns der Antworten; schreibt die Statuszeile für das Portal. Exit 1, wenn keine öffentliche Adresse gefunden oder das Update abgelehnt wurde.\n${COMMON.de}`,
    en: `usage: invis-setup ddns\nOne DDNS run for the answers' ddns section; writes the status line for the portal. Exit 1 when no public address was found or the update failed.\n${COMMON.en}`,
  },
  vpn: {
    de: `Aufruf: invis-setup vpn check | vpn connect [DATEI] | vpn bundle NAME
  check    CRL erneuern und ausrollen (ohne Neustart), Zertifikate, die in 14 Tagen ablaufen, an mail.admins melden, Jobstatus schreiben (Timer täglich); Exit 1 bei Fehler
  connect  client-connect von OpenVPN: common_name aus der Umgebung; Exit 0 nur für aktive Konten in mobilusers (LDAP-Fehler: abgelehnt)
  bundle   .ovpn-Bundle (mit privatem Schlüssel) für NAME oder NAME@GERÄT bzw. site-STANDORT; stellt das Zertifikat aus, wenn es fehlt
${COMMON.de}`,
    en: `usage: invis-setup vpn check | vpn connect [FILE] | vpn bundle NAME
  check    renew and deploy the CRL (no restart), report certificates ending within 14 days to mail.admins, write the job state (daily timer); exit 1 on failure
  connect  OpenVPN's client-connect: common_name from the environment; exit 0 only for enabled accounts in mobilusers (LDAP errors refuse)
  bundle   the .ovpn bundle (with private key) of NAME or NAME@DEVICE or site-BRANCH; issues the certificate when missing
${COMMON.en}`,
  },
  housekeeping: {
    de: `Aufruf: invis-setup housekeeping run transfer|recycle\nLöscht, was älter ist als die Tage der Antworten (housekeeping.transfer.days, Standard 21; housekeeping.recycle.days, Standard 30), aus dem Transfer-Ordner bzw. den Papierkörben aller Freigaben und Home-Ordner; folgt nie einem symbolischen Link. Schreibt den Jobstatus für das Portal. Exit 1, wenn ein Ordner abgelehnt wurde.\n${COMMON.de}`,
    en: `usage: invis-setup housekeeping run transfer|recycle\nRemoves what is older than the answers' days (housekeeping.transfer.days, default 21; housekeeping.recycle.days, default 30) from the transfer folder or from the recycle bins of every share and home; never follows a symbolic link. Writes the job state for the portal. Exit 1 when a folder was refused.\n${COMMON.en}`,
  },
  signatures: {
    de: `Aufruf: invis-setup signatures\nEin Lauf von freshclam (ClamAV-Signaturen; clamd lädt sie danach neu); schreibt den Jobstatus für das Portal (ok, warning: Update fehlgeschlagen, alte Signaturen aktiv; failed: keine Signaturen). Exit 1, wenn das Update fehlschlug.\n${COMMON.de}`,
    en: `usage: invis-setup signatures\nOne freshclam run (ClamAV signatures; clamd reloads them afterwards); writes the job state for the portal (ok; warning: update failed, older signatures in use; failed: no signatures). Exit 1 when the update failed.\n${COMMON.en}`,
  },
  privileged: {
    de: `Aufruf: invis-setup privileged\nVon systemd je Verbindung mit ${PRIVILEGED_SOCKET} gestartet (stdin/stdout = die Verbindung): liest EINE JSON-Anfrage (höchstens ${MAX_REQUEST_BYTES} Bytes; vpn.list, vpn.issue, vpn.revoke, vpn.revokeUser, sync.run), führt sie als root aus und antwortet mit einem JSON-Dokument.\n${COMMON.de}`,
    en: `usage: invis-setup privileged\nStarted by systemd for each connection to ${PRIVILEGED_SOCKET} (stdin/stdout = the connection): reads ONE JSON request (at most ${MAX_REQUEST_BYTES} bytes; vpn.list, vpn.issue, vpn.revoke, vpn.revokeUser, sync.run), carries it out as root and answers one JSON document.\n${COMMON.en}`,
  },
  secrets: {
    de: `Aufruf: invis-setup secrets show NAME\nGibt ein Geheimnis aus /etc/invis/secrets aus. Bekannt: ${Object.keys(SETUP_SECRETS).join(', ')}\n${COMMON.de}`,
    en: `usage: invis-setup secrets show NAME\nPrints one secret from /etc/invis/secrets. Known: ${Object.keys(SETUP_SECRETS).join(', ')}\n${COMMON.en}`,
  },
};

interface Parsed {
  command: Command | 'help' | 'version';
  help: Command | 'main';
  positionals: string[];
  root: string | undefined;
  json: boolean;
  lang: Lang;
  answers: string | undefined;
  exitCode: boolean;
}

function parse(argv: readonly string[], env: CliIo['env']): Parsed {
  let values: ReturnType<typeof parseArgs>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        root: { type: 'string' },
        json: { type: 'boolean' },
        lang: { type: 'string' },
        answers: { type: 'string' },
        'exit-code': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new SetupError('SETUP_USAGE', (error as Error).message);
  }
  const lang = values.lang;
  checkLangOption(lang);
  const [first, ...rest] = positionals;
  const command = COMMANDS.find((c) => c === first);
  if (first !== undefined && !command) throw new SetupError('SETUP_USAGE', `unknown command ${JSON.stringify(first)}`);
  const parsed: Parsed = {
    command: values.version ? 'version' : values.help || !command ? 'help' : command,
    help: command ?? 'main',
    positionals: rest,
    root: typeof values.root === 'string' ? values.root : undefined,
    json: values.json === true,
    lang: pickLang(typeof lang === 'string' ? lang : undefined, env),
    answers: typeof values.answers === 'string' ? values.answers : undefined,
    exitCode: values['exit-code'] === true,
  };
  if (parsed.answers !== undefined && command !== 'init' && command !== 'apply')
    throw new SetupError('SETUP_USAGE', '--answers belongs to init and apply');
  if (parsed.exitCode && command !== 'plan') throw new SetupError('SETUP_USAGE', '--exit-code belongs to plan');
  if (command === 'sync' && !values.help && (!['dhcp', 'homes', 'mail'].includes(rest[0] ?? '') || rest.length !== 1)) {
    throw new SetupError('SETUP_USAGE', 'usage: invis-setup sync dhcp|homes|mail');
  }
  if (command === 'vpn' && !values.help) {
    const [sub, ...args] = rest;
    // OpenVPN hands client-connect one argument: the file a script may write options to.
    const ok =
      (sub === 'check' && args.length === 0) ||
      (sub === 'connect' && args.length <= 1) ||
      (sub === 'bundle' && args.length === 1);
    if (!ok) throw new SetupError('SETUP_USAGE', 'usage: invis-setup vpn check | vpn connect [FILE] | vpn bundle NAME');
  }
  if (
    command === 'housekeeping' &&
    !values.help &&
    (rest[0] !== 'run' || rest.length !== 2 || !HOUSEKEEPING_JOBS.some((job) => job === rest[1]))
  ) {
    throw new SetupError('SETUP_USAGE', `usage: invis-setup housekeeping run ${HOUSEKEEPING_JOBS.join('|')}`);
  }
  if (
    command === 'init' ||
    command === 'status' ||
    command === 'ddns' ||
    command === 'signatures' ||
    command === 'privileged'
  ) {
    if (rest.length > 0) throw new SetupError('SETUP_USAGE', `${command} takes no arguments`);
  }
  if (command === 'secrets' && !values.help && (rest[0] !== 'show' || rest.length !== 2)) {
    throw new SetupError('SETUP_USAGE', 'usage: invis-setup secrets show NAME');
  }
  return parsed;
}

const USAGE_CODES = new Set(['SETUP_USAGE', 'SETUP_UNKNOWN_MODULE', 'SETUP_INVALID_SECRET_NAME']);

/** A service manager for staging: nothing may reach a real service. */
const stagingServices: ServiceManager = {
  start: refuseService,
  stop: refuseService,
  restart: refuseService,
  reload: refuseService,
  reloadOrRestart: refuseService,
  isActive: async () => false,
};
async function refuseService(unit: string): Promise<void> {
  throw new SetupError('SETUP_USAGE', `no service actions with --root (${unit})`);
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code: 0 ok, 1 failure,
 * 2 usage, 3 verify found problems, 4 plan has changes (with `--exit-code`).
 * @param argv arguments
 * @param io the process's streams and collaborators
 * @returns the exit code
 * @example process.exitCode = await runCli(process.argv.slice(2), { stdout, stderr, env: process.env, isTty: false });
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv, io.env);
  } catch (error) {
    const lang = pickLang(undefined, io.env);
    if (argv.includes('--json')) io.stdout(`${JSON.stringify({ ok: false, error: errorJson(error) })}\n`);
    else io.stderr(`${t(lang, 'error')}: ${(error as Error).message}\n${HELP.main[lang]}\n`);
    return EXIT.usage;
  }
  const { lang, json } = parsed;
  if (parsed.command === 'version') {
    io.stdout(
      json ? `${JSON.stringify({ ok: true, version: packageJson.version })}\n` : `invis-setup ${packageJson.version}\n`,
    );
    return EXIT.ok;
  }
  if (parsed.command === 'help') {
    io.stdout(
      json ? `${JSON.stringify({ ok: true, help: HELP[parsed.help][lang] })}\n` : `${HELP[parsed.help][lang]}\n`,
    );
    return EXIT.ok;
  }
  try {
    return await run(parsed.command, parsed, io);
  } catch (error) {
    if (json) io.stdout(`${JSON.stringify({ ok: false, command: parsed.command, error: errorJson(error) })}\n`);
    else io.stderr(`${t(lang, 'error')}: ${errorJson(error).message}\n`);
    return isSetupError(error) && USAGE_CODES.has(error.code) ? EXIT.usage : EXIT.failure;
  }
}

async function run(command: Command, parsed: Parsed, io: CliIo): Promise<number> {
  const { lang, json } = parsed;
  const fs = parsed.root === undefined ? createLiveFs() : await createRootedFs(parsed.root);
  const staging = parsed.root !== undefined;
  const runner = io.runner ?? createExecaRunner();
  const out = (doc: Record<string, unknown>, text: string) =>
    io.stdout(json ? `${JSON.stringify({ ok: true, command, ...doc })}\n` : text);

  if (command === 'secrets') {
    const name = parsed.positionals[1] ?? '';
    const value = await createSecretStore(fs).get(name);
    if (value === undefined) {
      throw new SetupError('SETUP_SECRET_MISSING', `no secret ${name} (run init first)`, { details: { name } });
    }
    out({ name, value }, `${value}\n`);
    return EXIT.ok;
  }
  const profile = await detectProfile(fs);
  if (command === 'init') return init(parsed, io, fs, runner);
  // `apply --answers FILE` = init from the file (quietly) + apply: one unattended command.
  if (command === 'apply' && parsed.answers !== undefined) await saveAnswers(parsed, io, fs, runner);

  const answers = await loadAnswers(fs, lang);
  const clock = io.clock ?? systemClock;
  const ctx: ModuleContext = {
    answers,
    secrets: createSecretStore(fs),
    fs,
    runner,
    services: staging ? stagingServices : (io.services ?? createSystemdServiceManager({ runner })),
    profile,
    clock,
    progress: (message) => {
      if (!json) io.stderr(`${message}\n`);
    },
    staging,
    lang,
  };
  if (command === 'sync') {
    if (staging) throw new SetupError('SETUP_USAGE', 'sync works on the live server only, not with --root');
    if (parsed.positionals[0] === 'homes') {
      const homes = await syncHomes(ctx);
      // The same minute's work for groups: WebDAV's rules for the folders below gruppen.
      const dav = await syncDavGroups(ctx);
      const davLines = dav?.report.changed ? [formatPlan(dav.report)] : [];
      out(
        {
          created: homes.created,
          archived: homes.archived,
          problems: homes.problems,
          ...(dav ? { dav: { changed: dav.report.changed, served: dav.served, skipped: dav.skipped } } : {}),
        },
        `${
          [
            ...homes.created,
            ...homes.archived.map((a) => `${a.from} → ${a.to}`),
            ...homes.problems.map((p) => `${p}: not a folder, left alone`),
            ...davLines,
          ].join('\n') || t(lang, 'noChanges')
        }\n`,
      );
      return homes.problems.length > 0 ? EXIT.failure : EXIT.ok;
    }
    if (parsed.positionals[0] === 'mail') {
      const mail = await syncMail(ctx);
      out(
        { changed: mail.changed, reports: mail.reports },
        mail.changed ? `${mail.reports.map((r) => formatPlan(r)).join('')}\n` : `${t(lang, 'noChanges')}\n`,
      );
      return EXIT.ok;
    }
    const report = await syncDhcp(ctx);
    out({ changed: report.changed, report }, report.changed ? `${formatPlan(report)}\n` : `${t(lang, 'noChanges')}\n`);
    return EXIT.ok;
  }
  if (command === 'ddns') {
    const result = await runDdns(ctx);
    out({ result }, `${formatDdnsResult(result)}\n`);
    return result.exitCode === 0 ? EXIT.ok : EXIT.failure;
  }
  if (command === 'vpn') return vpn(parsed, ctx, io, out);
  if (command === 'privileged') {
    if (staging || !io.stdin)
      throw new SetupError('SETUP_USAGE', 'privileged serves a connection on the live server only');
    // The answer is the connection's one document, --json or not; the request and the bundle are never logged.
    const { ok, answer } = await serveRequest(ctx, io.stdin);
    io.stdout(answer);
    return ok ? EXIT.ok : EXIT.failure;
  }
  if (command === 'housekeeping') {
    const report = await runHousekeeping(ctx, parsed.positionals[1] as HousekeepingJob);
    out({ report }, `${report.result}: ${report.message}\n`);
    return report.result === 'failed' ? EXIT.failure : EXIT.ok;
  }
  if (command === 'signatures') {
    if (staging) throw new SetupError('SETUP_USAGE', 'signatures works on the live server only, not with --root');
    const state = await runSignatureUpdate(ctx);
    out({ state }, `${state.result}: ${state.message}\n`);
    return state.result === 'ok' ? EXIT.ok : EXIT.failure;
  }
  const modules = io.modules ?? MODULES;
  const engine = createEngine({ modules, ctx, state: createStateStore(fs, clock) });
  const titleOf = (id: string) => modules.find((m) => m.id === id)?.title[lang] ?? id;
  const wanted = parsed.positionals;

  if (command === 'plan') {
    const plans = await engine.plan(wanted);
    const changedModules = plans.filter((p) => planChanges(p.plan) || p.plan.directories.length > 0);
    const text = changedModules
      .map(({ module, plan }) =>
        [
          `== ${module}: ${titleOf(module)} ==\n`,
          ...plan.directories.map((d) => `${t(lang, 'directory', { path: d })}\n`),
          formatPlan(plan),
        ].join(''),
      )
      .join('\n');
    out(
      { changed: changedModules.length > 0, modules: plans.map((p) => ({ ...p, title: titleOf(p.module) })) },
      changedModules.length > 0
        ? `${text}\n${t(lang, 'changes', { count: changedModules.length })}\n`
        : `${t(lang, 'noChanges')}\n`,
    );
    return parsed.exitCode && changedModules.length > 0 ? EXIT.changes : EXIT.ok;
  }
  if (command === 'apply') {
    const results = await engine.apply(wanted, progressPrinter(io, lang, json, titleOf));
    const changed = results.filter((r) => r.changed);
    const text =
      changed.length === 0
        ? `${t(lang, 'applyNothing')}\n`
        : `${changed.map((r) => `== ${r.module}: ${titleOf(r.module)} ==\n${formatPlan(r.report)}`).join('\n')}\n${t(lang, 'applyDone', { changed: changed.length, unchanged: results.length - changed.length })}\n`;
    out({ changed: changed.length > 0, modules: results }, text);
    return EXIT.ok;
  }
  if (command === 'verify') {
    const results = await engine.verify(wanted);
    const problems = results.flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => ({ module: r.module, ...c })));
    const lines = results.flatMap((r) =>
      r.checks.map((c) => `${c.ok ? '✓' : '✗'} ${r.module}: ${c.name}${c.ok ? '' : ` — ${c.problem ?? ''}`}\n`),
    );
    out(
      { problems: problems.length, modules: results },
      `${lines.join('')}${problems.length === 0 ? t(lang, 'verifyOk') : t(lang, 'verifyProblems', { count: problems.length })}\n`,
    );
    return problems.length === 0 ? EXIT.ok : EXIT.problems;
  }
  const statuses = await engine.status();
  out(
    { modules: statuses },
    statuses
      .map(
        (s) =>
          `${s.module.padEnd(10)} ${t(lang, s.status)}${s.at ? `  ${s.at}` : ''}${s.error ? `  ${s.error.code}: ${s.error.message}` : ''}\n`,
      )
      .join(''),
  );
  return EXIT.ok;
}

/** `vpn check`, `vpn connect` and `vpn bundle NAME` (see the README). */
async function vpn(
  parsed: Parsed,
  ctx: ModuleContext,
  io: CliIo,
  out: (doc: Record<string, unknown>, text: string) => void,
): Promise<number> {
  const [sub, name] = parsed.positionals;
  if (ctx.staging && sub !== 'bundle') throw new SetupError('SETUP_USAGE', `vpn ${sub} works on the live server only`);
  if (sub === 'connect') {
    const decision = await runVpnConnect(ctx, io.env);
    // OpenVPN logs the script's stderr; stdout stays for --json.
    io.stderr(`invis-setup vpn connect: ${decision.reason}\n`);
    out({ decision }, '');
    return decision.allow ? EXIT.ok : EXIT.failure;
  }
  if (sub === 'bundle') {
    const bundle = await vpnBundle(ctx, name ?? '');
    out({ name, bundle }, bundle);
    return EXIT.ok;
  }
  const state = await runVpnCheck(ctx);
  out({ job: state }, `${state.result}: ${state.message}\n`);
  return state.result === 'failed' ? EXIT.failure : EXIT.ok;
}

function progressPrinter(
  io: CliIo,
  lang: Lang,
  json: boolean,
  titleOf: (id: string) => string,
): (event: ApplyEvent) => void {
  return (event) => {
    if (json) return;
    if (event.type === 'resume') {
      io.stderr(`${t(lang, 'resuming', { module: event.module })}\n`);
      return;
    }
    const step = `[${event.index + 1}/${event.total}]`;
    const label = `${event.module} (${titleOf(event.module)})`;
    const word =
      event.type === 'start'
        ? `${t(lang, 'applying')}…`
        : event.type === 'failed'
          ? `${t(lang, 'failed')}: ${event.error.message}`
          : t(lang, event.changed ? 'applied' : 'unchanged');
    if (io.isTty) {
      // One redrawn line with a bar; finished steps stay on screen.
      const done = event.type === 'start' ? event.index : event.index + 1;
      const bar = `${'#'.repeat(done)}${'-'.repeat(event.total - done)}`;
      io.stderr(`\r\x1b[2K[${bar}] ${step} ${label}: ${word}${event.type === 'start' ? '' : '\n'}`);
    } else {
      io.stderr(`${step} ${label}: ${word}\n`);
    }
  };
}

async function init(parsed: Parsed, io: CliIo, fs: SetupFs, runner: CommandRunner): Promise<number> {
  const { lang, json } = parsed;
  const { answers, created } = await saveAnswers(parsed, io, fs, runner);
  const pathShown = fs.root ? `${fs.root}${ANSWERS_PATH}` : ANSWERS_PATH;
  io.stdout(
    json
      ? `${JSON.stringify({ ok: true, command: 'init', path: ANSWERS_PATH, answers, secretsCreated: created })}\n`
      : `${t(lang, 'initSaved', { path: pathShown })}\n`,
  );
  return EXIT.ok;
}

/**
 * Reads the answers (file or questions), validates and saves them without secrets, and creates
 * the secrets that are missing. External ports the file does not name are chosen once: ports
 * saved by an earlier init are kept, so a repeated `apply --answers` changes nothing.
 */
async function saveAnswers(
  parsed: Parsed,
  io: CliIo,
  fs: SetupFs,
  runner: CommandRunner,
): Promise<{ answers: Answers; created: string[] }> {
  const { lang } = parsed;
  const randomInt = io.randomInt ?? cryptoRandomInt;
  const saved = (await fs.readFileIfExists(ANSWERS_PATH)) === undefined ? undefined : await loadAnswers(fs, lang);
  const choose = async (given: Partial<ExternalPorts>) => {
    const earlier: Partial<ExternalPorts> = saved
      ? { ssh: saved.ssh.port, portal: saved.portal.port, openvpn: saved.openvpn.port }
      : {};
    const listening = await runner.run('ss', ['-Hltnu']);
    return chooseExternalPorts(parseListeningPorts(listening.stdout), randomInt, { ...earlier, ...given });
  };
  let answers: Answers;
  if (parsed.answers !== undefined) {
    const text = await readFile(parsed.answers, 'utf8');
    let data: unknown;
    try {
      data = parseYaml(text, { prettyErrors: true });
    } catch (error) {
      throw new SetupError('SETUP_INVALID_ANSWERS', `${parsed.answers}: YAML: ${(error as Error).message}`, {
        cause: error,
      });
    }
    answers = validateAnswers(await withPorts(data, choose), lang);
  } else if (io.isTty && io.ask) {
    answers = await askAnswers(io.ask, lang, fs, runner, choose);
  } else {
    throw new SetupError('SETUP_USAGE', t(lang, 'nonInteractive'));
  }
  await fs.mkdir('/etc/invis', 0o755);
  await fs.mkdir('/etc/invis/setup', 0o755);
  await fs.writeFileAtomic(ANSWERS_PATH, renderAnswers(answers), { mode: 0o644 });
  const secrets = createSecretStore(fs);
  const created: string[] = [];
  for (const name of Object.keys(SETUP_SECRETS)) if ((await secrets.ensure(name)).created) created.push(name);
  return { answers, created };
}

/** The answers file's data with the external ports it does not name chosen (once, at init). */
async function withPorts(
  data: unknown,
  choose: (given: Partial<ExternalPorts>) => Promise<ExternalPorts>,
): Promise<unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  const record = data as Record<string, unknown>;
  const sections = { ssh: record.ssh, portal: record.portal, openvpn: record.openvpn };
  // A section that is not an object is left for the schema to refuse.
  if (Object.values(sections).some((v) => v !== undefined && (typeof v !== 'object' || v === null))) return data;
  const section = (key: keyof typeof sections) => (sections[key] ?? {}) as Record<string, unknown>;
  const given = (key: keyof typeof sections) => {
    const port = section(key).port;
    return typeof port === 'number' ? port : undefined;
  };
  const wanted: Partial<ExternalPorts> = {};
  for (const key of ['ssh', 'portal', 'openvpn'] as const) {
    const port = given(key);
    if (port !== undefined) wanted[key] = port;
    else if (section(key).port !== undefined) return data;
  }
  if (Object.keys(wanted).length === 3) return data;
  const ports = await choose(wanted);
  return {
    ...record,
    ssh: { ...section('ssh'), port: ports.ssh },
    portal: { ...section('portal'), port: ports.portal },
    openvpn: { ...section('openvpn'), port: ports.openvpn },
  };
}

const QUESTIONS = {
  hostname: { de: 'Hostname des Servers', en: 'host name of the server' },
  domain: { de: 'Interne DNS-Domäne', en: 'internal DNS domain' },
  intern: { de: 'LAN-Schnittstelle (intern)', en: 'LAN interface (intern)' },
  extern: { de: 'WAN-Schnittstelle (extern)', en: 'WAN interface (extern)' },
  lan: { de: 'LAN-Adresse des Servers mit Präfix', en: 'LAN address of the server with prefix' },
  vpn: { de: 'VPN-Netz (leer: keins)', en: 'VPN network (empty: none)' },
  port: { de: 'Externer SSH-Port', en: 'external SSH port' },
  portalPort: { de: 'Externer HTTPS-Port des Portals', en: 'external HTTPS port of the portal' },
  openvpnPort: {
    de: 'Externer OpenVPN-Port (UDP, +1 für Standortkopplung)',
    en: 'external OpenVPN port (UDP, +1 for site-to-site)',
  },
  password: { de: 'SSH-Anmeldung mit Passwort erlauben (ja/nein)', en: 'allow SSH password login (yes/no)' },
} as const;

async function askAnswers(
  ask: (question: string) => Promise<string>,
  lang: Lang,
  fs: SetupFs,
  runner: CommandRunner,
  choose: (given: Partial<ExternalPorts>) => Promise<ExternalPorts>,
): Promise<Answers> {
  const defaults = await machineDefaults(fs, runner);
  const ports = await choose({});
  const q = async (key: keyof typeof QUESTIONS, fallback: string) =>
    (await ask(`${QUESTIONS[key][lang]} [${fallback}]: `)).trim() || fallback;
  for (;;) {
    const vpn = await q('vpn', '192.168.166.0/24');
    const data = {
      hostname: await q('hostname', defaults.hostname),
      domain: await q('domain', defaults.domain),
      interfaces: {
        intern: await q('intern', defaults.interfaces.intern),
        extern: await q('extern', defaults.interfaces.extern),
      },
      lan: { address: await q('lan', defaults.lanAddress) },
      ...(vpn === '-' ? {} : { vpn: { network: vpn } }),
      ssh: {
        port: Number(await q('port', String(ports.ssh))),
        passwordAuthentication: /^(j|ja|y|yes)$/i.test(await q('password', lang === 'de' ? 'nein' : 'no')),
      },
      portal: { port: Number(await q('portalPort', String(ports.portal))) },
      openvpn: { port: Number(await q('openvpnPort', String(ports.openvpn))) },
    };
    try {
      return validateAnswers(data, lang);
    } catch (error) {
      // Show every bad field, then ask again; the defaults stay.
      await ask(`${(error as Error).message}\n(Enter) `);
    }
  }
}
