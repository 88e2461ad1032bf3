// Static assets served by the portal itself (no CDN: the server may have no Internet).
// Small enough to live in code; served with a content hash so they can be cached forever.
import { createHash } from 'node:crypto';

const css = `
:root{--fg:#1b1f24;--muted:#57606a;--bg:#fff;--line:#d0d7de;--accent:#0b5cad;--bad:#b42318;--ok:#1a7f37;--warn:#8a5a00;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.45;color:var(--fg);background:var(--bg)}
*{box-sizing:border-box}body{margin:0}
a{color:var(--accent)}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:9}
header{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;padding:10px 16px;background:#0d2a4a;color:#fff}
header a,header button.link{color:#fff}
header .brand{font-weight:700;font-size:1.1rem;margin-right:auto;text-decoration:none}
nav ul{display:flex;flex-wrap:wrap;gap:4px 14px;list-style:none;margin:0;padding:0}
nav a[aria-current=page]{font-weight:700;text-decoration:underline 2px}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.table{overflow-x:auto}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{font-weight:600;color:var(--muted);overflow-wrap:normal}
form{margin:0 0 1rem}
label{display:block;font-weight:600;margin:.6rem 0 .2rem}
input,select,textarea{display:block;font:inherit;width:100%;max-width:28rem;padding:8px;border:1px solid #8c959f;border-radius:6px}
input[type=checkbox]{display:inline;width:auto;margin-right:6px}
textarea{min-height:6rem}
button,.button{font:inherit;display:inline-block;padding:8px 14px;margin:.6rem .4rem 0 0;border-radius:6px;border:1px solid var(--accent);
background:var(--accent);color:#fff;cursor:pointer;text-decoration:none}
button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}
button.link{background:none;border:none;padding:0;margin:0;text-decoration:underline;color:inherit}
.inline{display:inline}
:focus-visible{outline:3px solid #ffb000;outline-offset:2px}
.msg{min-height:1.4em;font-weight:600}.msg:empty{min-height:0;margin:0}.msg.error{color:var(--bad)}.msg.ok{color:var(--ok)}
.banner{padding:10px 16px;background:#fff4ce;color:#3d2e00;border-bottom:1px solid #e0c36a}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.muted{color:var(--muted)}
.tiles{list-style:none;display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:12px;margin:0 0 1rem;padding:0}
.tile a{display:block;height:100%;padding:12px 14px;border:1px solid var(--line);border-radius:8px;text-decoration:none;color:var(--fg)}
.tile a:hover{border-color:var(--accent)}.tile strong{display:block;color:var(--accent)}.tile span{display:block;margin-top:4px;color:var(--muted);font-size:.92rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:0 24px}
.pager{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin:.8rem 0}
code.secret{display:block;padding:8px;background:#f6f8fa;border:1px solid var(--line);overflow-wrap:anywhere}
.login{max-width:24rem;margin:8vh auto}
@media (max-width:600px){main{padding:10px}th,td{padding:5px 4px}}
`;

// Every UI action is a REST call: forms carry `data-api="METHOD /api/…"`; this script sends
// their fields as JSON with the session's CSRF token and shows the translated outcome.
const js = `
(() => {
  // Dates are rendered on the server in the reader's time zone: tell it which one that is.
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !document.cookie.split('; ').includes('invis-tz=' + encodeURIComponent(zone))) {
    document.cookie = 'invis-tz=' + encodeURIComponent(zone) + '; path=/; max-age=31536000; SameSite=Strict; Secure';
  }
  const meta = document.querySelector('meta[name="csrf-token"]');
  const texts = JSON.parse(document.body.dataset.texts || '{}');
  const say = (form, text, ok) => {
    const box = form.querySelector('.msg') || document.getElementById('msg');
    if (!box) return;
    box.textContent = text;
    box.className = 'msg ' + (ok ? 'ok' : 'error');
  };
  const fields = (form) => {
    const body = {};
    const keepEmpty = form.hasAttribute('data-keep-empty');
    for (const el of form.elements) {
      if (el.type === 'checkbox' && el.dataset.set) {
        body[el.dataset.set] = body[el.dataset.set] || [];
        if (el.checked) body[el.dataset.set].push(el.value);
        continue;
      }
      if (!el.name || el.disabled) continue;
      if (el.type === 'checkbox') body[el.name] = el.checked;
      else if (el.hasAttribute('data-list')) body[el.name] = el.value.split('\\n').map((s) => s.trim()).filter(Boolean);
      else if (el.hasAttribute('data-links')) body[el.name] = el.value.split('\\n').map((s) => s.trim()).filter(Boolean)
        .map((s) => { const i = s.indexOf(' '); return i < 0 ? { url: s, label: s } : { url: s.slice(0, i), label: s.slice(i + 1).trim() }; });
      else if (el.value !== '' || keepEmpty) body[el.name] = el.value;
    }
    return body;
  };
  // A checkbox whose default follows a select of its form: data-follows names the select,
  // data-checked-for lists the values that tick it (the hosts form: a computer account for PCs).
  document.addEventListener('change', (ev) => {
    const select = ev.target;
    if (!(select instanceof HTMLSelectElement) || !select.form) return;
    for (const box of select.form.querySelectorAll('input[type="checkbox"][data-follows]')) {
      if (box.dataset.follows !== select.name) continue;
      box.checked = (box.dataset.checkedFor || '').split(' ').includes(select.value);
    }
  });
  document.addEventListener('submit', async (ev) => {
    const form = ev.target;
    const template = form.getAttribute('data-api-template');
    let api = form.getAttribute('data-api');
    if (!api && !template) return;
    ev.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const body = Object.assign(JSON.parse(form.dataset.body || '{}'), fields(form));
    // A path with {field} placeholders takes those fields out of the body.
    if (template) api = template.replace(/{(w+)}/g, (_, k) => { const v = body[k] || ''; delete body[k]; return encodeURIComponent(v); });
    let [method, url] = api.split(' ');
    const headers = { 'x-csrf-token': meta ? meta.content : '' };
    let payload;
    // An upload form sends its file as the body, its name appended to the path.
    const file = form.dataset.upload && form.elements[form.dataset.upload].files[0];
    if (file) {
      url += encodeURIComponent(file.name);
      headers['content-type'] = 'application/octet-stream';
      payload = file;
    } else if (Object.keys(body).length > 0 || method !== 'DELETE') {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(url, { method, credentials: 'same-origin', headers, body: payload }).catch(() => null);
    if (!res) return say(form, texts.PORTAL_DIRECTORY_UNAVAILABLE || 'offline', false);
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (res.ok) {
      if (form.dataset.show && data && data[form.dataset.show]) {
        const out = document.getElementById(form.dataset.showIn || 'secret');
        out.hidden = false;
        out.querySelector('code').textContent = data[form.dataset.show];
        const link = out.querySelector('a');
        if (link) link.href = data[form.dataset.show];
        return;
      }
      if (form.dataset.next) { window.location.assign(form.dataset.next); return; }
      if (form.dataset.done) {
        say(form, form.dataset.done, true);
        // Password forms are cleared; edit forms keep what was just saved.
        if (form.hasAttribute('data-reset')) form.reset();
        return;
      }
      window.location.reload();
      return;
    }
    const code = (data && data.code) || 'PORTAL_INTERNAL';
    say(form, texts[code] || (data && data.message) || code, false);
    const reveal = form.dataset.revealOn && form.dataset.revealOn.split(':');
    if (reveal && reveal[0] === code) {
      const target = document.getElementById(reveal[1]);
      target.hidden = false;
      const user = target.querySelector('[name="username"]');
      if (user) user.value = body.username || '';
      target.querySelector('input:not([type=hidden]):not([readonly])')?.focus();
    }
  });
})();
`;

const version = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 10);

/** Asset path → content and type; paths carry a content hash. */
export const ASSETS: Readonly<Record<string, { body: string; type: string }>> = {
  [`/assets/app-${version(css)}.css`]: { body: css, type: 'text/css; charset=utf-8' },
  [`/assets/app-${version(js)}.js`]: { body: js, type: 'text/javascript; charset=utf-8' },
};

/** The hashed URLs the layout links. */
export const ASSET_URLS = {
  css: `/assets/app-${version(css)}.css`,
  js: `/assets/app-${version(js)}.js`,
} as const;
