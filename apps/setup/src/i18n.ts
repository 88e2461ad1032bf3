// German (default) and English texts of the CLI. Module titles live with the modules.
import { SetupError } from './errors';

/** Languages of invis-setup. */
export type Lang = 'de' | 'en';

/** A text in both languages. */
export type Bilingual = Readonly<Record<Lang, string>>;

/**
 * Refuses a `--lang` that is neither `de` nor `en` (both CLIs).
 * @throws SetupError `SETUP_USAGE`
 */
export function checkLangOption(value: unknown): asserts value is Lang | undefined {
  if (value !== undefined && value !== 'de' && value !== 'en') {
    throw new SetupError('SETUP_USAGE', `--lang must be de or en, not ${JSON.stringify(value)}`);
  }
}

/**
 * The language: `--lang` wins, then `LANG`/`LC_ALL` starting with `en`, else German.
 * @param flag the `--lang` value, if given
 * @param env the process environment
 * @returns the language
 */
export function pickLang(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): Lang {
  if (flag === 'de' || flag === 'en') return flag;
  const locale = env.LC_ALL || env.LANG || '';
  return locale.startsWith('en') ? 'en' : 'de';
}

const TEXT = {
  initSaved: { de: 'Antworten gespeichert in {path}', en: 'answers saved to {path}' },
  noChanges: { de: 'Keine Änderungen.', en: 'No changes.' },
  changes: { de: '{count} Modul(e) mit Änderungen', en: '{count} module(s) with changes' },
  applying: { de: 'wird angewendet', en: 'applying' },
  applied: { de: 'angewendet', en: 'applied' },
  unchanged: { de: 'unverändert', en: 'unchanged' },
  failed: { de: 'fehlgeschlagen', en: 'failed' },
  pending: { de: 'ausstehend', en: 'pending' },
  resuming: { de: 'Setze fort bei Modul {module}', en: 'resuming at module {module}' },
  applyDone: {
    de: 'Fertig: {changed} Modul(e) geändert, {unchanged} unverändert.',
    en: 'Done: {changed} module(s) changed, {unchanged} unchanged.',
  },
  applyNothing: { de: 'Nichts zu tun: alles ist schon angewendet.', en: 'Nothing to do: everything is applied.' },
  verifyOk: { de: 'Alle Prüfungen bestanden.', en: 'All checks passed.' },
  verifyProblems: { de: '{count} Problem(e) gefunden.', en: '{count} problem(s) found.' },
  directory: { de: 'Verzeichnis anlegen {path}', en: 'create directory {path}' },
  error: { de: 'Fehler', en: 'error' },
  nonInteractive: {
    de: 'Keine Antwortdatei und kein Terminal: init braucht --answers DATEI.yaml',
    en: 'no answers file and no terminal: init needs --answers FILE.yaml',
  },
} as const satisfies Record<string, Bilingual>;

/** Keys of the CLI texts. */
export type TextKey = keyof typeof TEXT;

/**
 * A CLI text in `lang` with `{name}` placeholders filled.
 * @param lang language
 * @param key text key
 * @param values placeholder values
 * @returns the text
 */
export function t(lang: Lang, key: TextKey, values: Readonly<Record<string, string | number>> = {}): string {
  return TEXT[key][lang].replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? `{${name}}`));
}
