// Secret redaction for everything odoo-heal writes where others can read it: --auto's JSON lines
// (journald keeps them for weeks, readable by the adm group), alert payloads (chat channels) and
// delivery error messages. Two layers, because neither alone is enough:
//  1. known secret values (db_password, admin_passwd, the HTTP token, alert URL tokens) are
//     replaced wherever they appear, e.g. inside a traceback that echoes a DSN;
//  2. shapes that are secrets whatever their value: `password=...`, `Bearer ...`, `user:pw@` in
//     URLs, Mattermost hook ids, token-like query parameters.
import type { Config, OdooConf } from '../config/types.js';

export const REDACTED = '[REDACTED]';

/**
 * Known values shorter than this are left to the shape rules: a db_password of `odoo` replaced
 * everywhere would turn every "odoo" in every line into [REDACTED] and make the logs useless,
 * while the shape rules still catch it where it appears as a password (key=value, URL userinfo).
 */
export const MIN_KNOWN_SECRET_LENGTH = 6;

// Keys whose value is a secret, in `key=value`, `key: value`, `"key": "value"` and query strings.
const SECRET_KEYS = String.raw`(?:db_password|admin_passwd|master_password|password|passwd|pwd|secret|client_secret|api[_-]?key|access[_-]?token|auth[_-]?token|token|signature|sig)`;

// Python reprs carry secrets under longer names: `{'login': 'admin', 'password': 'hunter2'}` in a
// logged dict, `kwargs={'new_password': ...}` in a traceback's locals, `confirm_pwd='x'` in a call.
// A key containing one of these words (with any prefix/suffix) counts as secret there.
const SECRET_WORDS = String.raw`(?:password|passwd|pwd|secret|api[_-]?key|token|credential)`;
const SECRET_ANY_KEY = String.raw`(?:[A-Za-z0-9_]*${SECRET_WORDS}[A-Za-z0-9_]*)`;
// A Python/JSON value: a quoted string (str or bytes, escapes kept together) or a bare token.
// A value an earlier rule already replaced is left alone.
const PY_VALUE = String.raw`(?!\[REDACTED\])(b?'(?:[^'\\\n]|\\.)*'|b?"(?:[^"\\\n]|\\.)*"|[^\s,}\])]+)`;

interface Rule {
  re: RegExp;
  replace: (...groups: string[]) => string;
}

const RULES: Rule[] = [
  // "db_password": "x" (JSON) — keep the quotes so the result stays valid JSON.
  {
    re: new RegExp(String.raw`("${SECRET_KEYS}"\s*:\s*")((?:[^"\\]|\\.)*)(")`, 'gi'),
    replace: (_m, a = '', _v, c = '') => `${a}${REDACTED}${c}`,
  },
  // db_password = x (odoo.conf), password=x (DSN, query string), token: x (YAML). A quoted value is
  // cut whole; a bare one runs to whitespace, quote, &, ; or , — a query string or DSN keeps its
  // other parameters.
  {
    re: new RegExp(String.raw`(\b${SECRET_KEYS}\b[ \t]*[=:][ \t]*)("[^"\n]*"|'[^'\n]*'|[^\s'"&;,]+)`, 'gi'),
    replace: (_m, a = '', v = '') => {
      const q = v[0] === '"' || v[0] === "'" ? v[0] : '';
      return `${a}${q}${REDACTED}${q}`;
    },
  },
  // 'new_password': 'x' / "api_key": b"x" (Python dict reprs, also JSON with longer key names).
  {
    re: new RegExp(String.raw`(['"])(${SECRET_ANY_KEY})\1(\s*:\s*)${PY_VALUE}`, 'gi'),
    replace: (_m, q = '', key = '', sep = '', v = '') => `${q}${key}${q}${sep}${quoteLike(v)}`,
  },
  // new_password='x' (keyword arguments in a repr or a traceback line).
  {
    re: new RegExp(String.raw`(\b${SECRET_ANY_KEY}[ \t]*=[ \t]*)${PY_VALUE}`, 'gi'),
    replace: (_m, a = '', v = '') => `${a}${quoteLike(v)}`,
  },
  // Authorization headers.
  { re: /\b(Bearer|Basic|Token)(\s+)[A-Za-z0-9._~+/=-]{6,}/g, replace: (_m, a = '', s = '') => `${a}${s}${REDACTED}` },
  // scheme://user:password@host
  {
    re: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)(@)/gi,
    replace: (_m, a = '', _p, c = '') => `${a}${REDACTED}${c}`,
  },
  // Mattermost / Slack style incoming webhook ids: .../hooks/<id>
  { re: /(\/hooks\/)([A-Za-z0-9_-]{6,})/g, replace: (_m, a = '') => `${a}${REDACTED}` },
];

/** [REDACTED] in the quotes (and b prefix) the value had, so a repr stays a repr. */
function quoteLike(value: string): string {
  const m = /^(b?)(['"])/.exec(value);
  return m ? `${m[1]}${m[2]}${REDACTED}${m[2]}` : REDACTED;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Returns `text` with every known secret and every secret-shaped value replaced by [REDACTED]. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  const known = [...new Set(secrets)].filter((s) => s.length >= MIN_KNOWN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  if (known.length > 0) out = out.replace(new RegExp(known.map(escapeRegExp).join('|'), 'g'), REDACTED);
  for (const rule of RULES) out = out.replace(rule.re, rule.replace as (substring: string, ...args: string[]) => string);
  return out;
}

/** Redacts every string inside a JSON-like value (keys too), so a payload is redacted before it is serialised. */
export function redactDeep<T>(value: T, secrets: readonly string[] = []): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[redact(k, secrets)] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

/** The secret parts of a URL: userinfo password, token-like query values, a hook id / long last path segment. */
function urlSecrets(raw: string): string[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [];
  }
  const out: string[] = [];
  if (url.password) out.push(decodeURIComponent(url.password));
  for (const [, v] of url.searchParams) if (v.length >= MIN_KNOWN_SECRET_LENGTH) out.push(v);
  const last = url.pathname.split('/').filter(Boolean).pop();
  // Webhook URLs (Mattermost /hooks/<id>, n8n /webhook/<uuid>) are bearer credentials: whoever
  // knows the id can post. A long opaque last segment is treated as one.
  if (last && last.length >= 16 && /^[A-Za-z0-9_-]+$/.test(last)) out.push(last);
  return out;
}

/** Every secret value odoo-heal knows of, for `redact(text, secretsOf(config, odoo))`. */
export function secretsOf(config: Pick<Config, 'alerts' | 'http'> & Partial<Pick<Config, 'fleet'>>, odoo: Pick<OdooConf, 'dbPassword' | 'adminPasswd'> | null): string[] {
  const out: string[] = [];
  if (odoo?.dbPassword) out.push(odoo.dbPassword);
  if (odoo?.adminPasswd) out.push(odoo.adminPasswd);
  if (config.http.token) out.push(config.http.token);
  if (config.fleet?.prometheusToken) out.push(config.fleet.prometheusToken);
  if (config.fleet?.hostToken) out.push(config.fleet.hostToken);
  for (const t of config.alerts.targets) out.push(...urlSecrets(t.url));
  return [...new Set(out.filter((s) => s.length > 0))];
}
