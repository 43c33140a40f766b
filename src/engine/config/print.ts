// The effective configuration as shown to a human (or as JSON), with every secret masked:
// db_password, admin_passwd, the HTTP token, tokens in alert/endpoint URLs and passwords in argv.
import { stringify } from 'yaml';
import type { Config, OdooConf } from './types.js';

export const MASK = '****';

/** Path segments that are plain lowercase words (`hooks`, `api`, `web`, `v4`) are kept; anything
 * token-like (digits or capitals mixed in, long) is masked, since webhook services (Mattermost,
 * Slack, Teams) put the credential in the path. */
function maskPathSegment(seg: string): string {
  const word = /^[a-z]+([_.-][a-z]+)*$/.test(seg) && seg.length <= 20;
  return seg === '' || word || /^v\d{1,2}$/.test(seg) ? seg : MASK;
}

/**
 * Masks what may be a credential in a URL: the userinfo password, token-looking path segments
 * (Mattermost `/hooks/<id>`, Slack `/services/T../B../xxx`) and secret-looking query values.
 */
export function maskUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return /[:@/?=]/.test(raw) ? MASK : raw;
  }
  if (url.password) url.password = MASK;
  else if (url.username) url.username = MASK;
  url.pathname = url.pathname.split('/').map(maskPathSegment).join('/');
  // Query values are masked when the key sounds secret or the value looks like a token;
  // short flags such as `db_server_status=1` stay readable.
  for (const [k, v] of [...url.searchParams]) {
    if (/pass|token|secret|key|auth|sig|code|session|hook/i.test(k) || v.length >= 12) url.searchParams.set(k, MASK);
  }
  if (url.hash) url.hash = '';
  // URL encodes `*` nowhere, so the mask stays readable.
  return url.toString();
}

/** Options whose NEXT argv item is a secret (`--db_password`, generic `--password`, ...). */
const SECRET_FLAG = /^(--db[_-]password|--password|--passwd|--token|--api[_-]key|--secret|--admin[_-]passwd)$/;
/** odoo-bin's `-w` is db_password, but pg_ctl's `-w` means "wait": only mask it on Odoo command lines. */
const ODOO_COMMAND = /(^|\/)(odoo-bin|odoo|openerp-server)$/;
const SECRET_ASSIGN = /^(-{0,2}[\w.-]*(password|passwd|token|secret|api[_-]?key)[\w.-]*=)(.*)$/i;

/** Masks secrets in a command line: `--db_password=x`, `-w x`, `PGPASSWORD=x`, URLs with credentials. */
export function maskArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  const isOdoo = argv.some((a) => ODOO_COMMAND.test(a));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const prev = argv[i - 1];
    if (prev !== undefined && (SECRET_FLAG.test(prev) || (isOdoo && prev === '-w'))) out.push(MASK);
    else if (isOdoo && /^-w./.test(a)) out.push(`-w${MASK}`);
    else if (SECRET_ASSIGN.test(a)) out.push(a.replace(SECRET_ASSIGN, `$1${MASK}`));
    else if (/^[a-z][a-z0-9+.-]*:\/\/[^/\s]*@/i.test(a)) out.push(maskUrl(a));
    else out.push(a);
  }
  return out;
}

function maskTarget(target: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? maskUrl(target) : target;
}

function secret(value: string | null): string | null {
  return value === null ? null : MASK;
}

/** A copy of the config and odoo.conf facts that is safe to print, log or send. */
export function maskedConfig(config: Config, odoo: OdooConf): { config: Config; odoo: OdooConf } {
  const c: Config = structuredClone(config);
  c.odoo.url = c.odoo.url === null ? null : maskUrl(c.odoo.url);
  c.http.token = secret(c.http.token);
  c.fleet.prometheus = c.fleet.prometheus === null ? null : maskUrl(c.fleet.prometheus);
  c.fleet.prometheusToken = secret(c.fleet.prometheusToken);
  c.fleet.hostToken = secret(c.fleet.hostToken);
  c.endpoints = c.endpoints.map((e) => ({ ...e, target: maskTarget(e.target) }));
  c.alerts.targets = c.alerts.targets.map((t) => ({
    ...t,
    url: maskUrl(t.url),
    ...(t.iconUrl === undefined ? {} : { iconUrl: maskUrl(t.iconUrl) }),
  }));
  if (c.logs.commands) c.logs.commands = c.logs.commands.map((s) => ({ ...s, argv: maskArgv(s.argv) }));
  c.fixes.restart = Object.fromEntries(Object.entries(c.fixes.restart).map(([k, v]) => [k, maskArgv(v)]));
  if (c.fixes.moduleUpdate) c.fixes.moduleUpdate = maskArgv(c.fixes.moduleUpdate);
  for (const ladder of Object.values(c.escalation.ladders)) {
    for (const step of ladder) {
      if (!step.params) continue;
      step.params = Object.fromEntries(
        Object.entries(step.params).map(([k, v]) => [k, /pass|token|secret|key/i.test(k) ? MASK : v]),
      );
    }
  }
  const o: OdooConf = {
    ...odoo,
    addonsPath: [...odoo.addonsPath],
    dbPassword: secret(odoo.dbPassword),
    adminPasswd: secret(odoo.adminPasswd),
    // db_host may be a libpq URI-like string in odd setups; mask credentials if so.
    dbHost: odoo.dbHost === null ? null : maskTarget(odoo.dbHost),
  };
  return { config: c, odoo: o };
}

/** Human-readable effective configuration (YAML), secrets masked. */
export function describeConfig(config: Config, odoo: OdooConf): string {
  const m = maskedConfig(config, odoo);
  const { path: configPath, ...rest } = m.config;
  const { path: odooPath, ...odooRest } = m.odoo;
  const head = [
    `# odoo-heal configuration: ${configPath ?? 'built-in defaults (no config file)'}`,
    `# odoo.conf: ${odooPath ?? "none found (Odoo's defaults)"}`,
    `# secrets are shown as ${MASK}`,
  ].join('\n');
  return `${head}\n${stringify(rest, { lineWidth: 0 })}---\n# odoo.conf (keys odoo-heal uses)\n${stringify({ odooConf: odooRest }, { lineWidth: 0 })}`;
}
