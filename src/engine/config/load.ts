// Loads odoo-heal's YAML config (optional), validates it, merges it over the defaults and pairs it
// with the odoo.conf the running Odoo uses. Every user mistake becomes ONE ConfigError line naming
// the file and the field.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parseDocument, visit } from 'yaml';
import { ConfigError, errorMessage } from '../core/errors.js';
import { DEFAULT_CONFIG_FILE, defaultConfig, defaultOdooConf, defaultServices, derivePaths, type DefaultsContext } from './defaults.js';
import { discoverOdooConf } from './discover.js';
import { maskArgv, maskUrl } from './print.js';
import schema from './schema.json' with { type: 'json' };
import { CONFIG_AJV_OPTIONS, CONFIG_KEYWORDS, configSchemaHash } from './schema-standalone.js';
import { SCHEMA_SHA1, validate as precompiled } from './schema-validator.generated.js';
import type { Config, OdooConf, ServiceSpec } from './types.js';

export const DEFAULT_CONFIG_PATH = DEFAULT_CONFIG_FILE;

export interface LoadConfigOptions {
  /** `--config`; must exist. */
  configPath?: string;
  /** `--odoo-config`; must exist. */
  odooConfigPath?: string;
  /** false: the command does not watch Odoo (fleet), so odoo.conf is neither looked for nor read. */
  odoo?: boolean;
  env?: NodeJS.ProcessEnv;
  // The rest exists so tests can run against temp dirs instead of the machine's /etc and /proc.
  /** Used when neither configPath nor $ODOO_HEAL_CONFIG is given, if it exists. */
  defaultConfigPath?: string;
  procRoot?: string;
  odooCandidates?: string[];
  passwdPath?: string;
  isRoot?: boolean;
  home?: string;
}

export interface LoadedConfig {
  config: Config;
  odoo: OdooConf;
  warnings: string[];
}

/** A validated YAML file: the shape of a deep-partial Config (checked by schema.json). */
type FileConfig = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Validation: ajv against schema.json, errors reworded as `field: expected X, got Y`.
// ---------------------------------------------------------------------------------------------

interface SchemaNode {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  pattern?: string;
  items?: SchemaNode | { $ref: string };
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  $ref?: string;
  'x-expected'?: string;
}

let compiled: ValidateFunction | null = null;
/** The schema's validator: compiled ahead of time while generated from this very schema, else now
 * (importing Ajv only then: it costs every command ~16 MB and tens of ms). */
function configValidator(): ValidateFunction {
  if (!compiled) {
    if (configSchemaHash(schema) === SCHEMA_SHA1) {
      compiled = precompiled as unknown as ValidateFunction;
    } else {
      const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
      const ajv = new Ajv(CONFIG_AJV_OPTIONS);
      for (const k of CONFIG_KEYWORDS) ajv.addKeyword(k as never);
      compiled = ajv.compile(schema);
    }
  }
  return compiled;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** "a number between 0 and 100", "an integer >= 1", "one of \"a\", \"b\"", ... */
function describeSchema(node: SchemaNode): string {
  if (node.$ref) return describeSchema(resolveRef(node.$ref));
  if (node['x-expected']) return node['x-expected'];
  if (node.enum) return `one of ${node.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  const types = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
  const nullable = types.includes('null');
  const main = types.find((t) => t !== 'null');
  let text: string;
  switch (main) {
    case 'number':
    case 'integer': {
      const noun = article(main);
      const { minimum: lo, maximum: hi } = node;
      text = lo !== undefined && hi !== undefined ? `${noun} between ${lo} and ${hi}` : lo !== undefined ? `${noun} >= ${lo}` : hi !== undefined ? `${noun} <= ${hi}` : noun;
      break;
    }
    case 'string':
      text = node.minLength && node.minLength > 1 ? `a string of at least ${node.minLength} characters` : node.minLength ? 'a non-empty string' : 'a string';
      break;
    case 'boolean':
      text = 'true or false';
      break;
    case 'array': {
      const items = node.items ? describeSchema(node.items as SchemaNode) : 'values';
      text = `${node.minItems ? 'a non-empty list' : 'a list'} of ${items.replace(/^an? /, '').replace(/^string/, 'strings').replace(/^mapping/, 'mappings').replace(/^non-empty string/, 'non-empty strings')}`;
      break;
    }
    case 'object':
      text = node.properties ? `a mapping with keys ${Object.keys(node.properties).join(', ')}` : 'a mapping';
      break;
    default:
      text = 'a value';
  }
  return nullable ? `${text} or null` : text;
}

function resolveRef(ref: string): SchemaNode {
  let node: unknown = schema;
  for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Record<string, unknown>)[part];
  return node as SchemaNode;
}

function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

/** Error messages end up in logs and terminals: never echo a token, and mask credentials in URLs/argv. */
function showSafely(field: string, value: unknown): string {
  if (typeof value === 'string') {
    if (/(^|\.)token$|password|secret/i.test(field)) return `a string of ${value.length} characters`;
    if (/url$/i.test(field) || /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return show(maskUrl(value));
    if (/\.argv\[\d+\]$|^fixes\.(restart\.[^.]+|moduleUpdate)\[\d+\]$/.test(field)) return show(maskArgv([value])[0]);
  }
  return show(value);
}

/** `/services/0/tcp` -> `services[0].tcp`, walking the data so numeric object keys stay keys. */
function fieldName(pointer: string, data: unknown, extra?: string): string {
  const parts = pointer === '' ? [] : pointer.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  let cur: unknown = data;
  for (const p of parts) {
    if (Array.isArray(cur)) out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
    cur = isPlainObject(cur) || Array.isArray(cur) ? (cur as Record<string, unknown>)[p] : undefined;
  }
  return out;
}

/** Edit distance, to suggest the key the user probably meant (case and _/- ignored). */
function distance(a: string, b: string): number {
  const x = a.toLowerCase().replace(/[_-]/g, '');
  const y = b.toLowerCase().replace(/[_-]/g, '');
  let prev = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[y.length] ?? 0;
}

function explain(err: ErrorObject, data: unknown, file: string): ConfigError {
  const parent = (err.parentSchema ?? {}) as SchemaNode;
  if (err.keyword === 'additionalProperties') {
    const key = String((err.params as { additionalProperty: string }).additionalProperty);
    const valid = Object.keys(parent.properties ?? {});
    const where = err.instancePath === '' ? 'top-level keys' : `keys in ${fieldName(err.instancePath, data)}`;
    const best = valid.map((v) => ({ v, d: distance(key, v) })).sort((a, b) => a.d - b.d)[0];
    const hint = best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean ${best.v}?)` : '';
    return new ConfigError(file, fieldName(err.instancePath, data, key), `unknown key${hint}; valid ${where}: ${valid.join(', ')}`);
  }
  if (err.keyword === 'required') {
    const missing = String((err.params as { missingProperty: string }).missingProperty);
    const sub = parent.properties?.[missing];
    return new ConfigError(file, fieldName(err.instancePath, data, missing), `missing, expected ${sub ? describeSchema(sub) : 'a value'}`);
  }
  const field = fieldName(err.instancePath, data) || '(top level)';
  return new ConfigError(file, field, `expected ${describeSchema(parent)}, got ${showSafely(field, err.data)}`);
}

/** Throws ConfigError for the first thing in `data` that schema.json rejects. */
export function validateShape(data: unknown, file: string): void {
  if (!isPlainObject(data)) {
    throw new ConfigError(file, '(top level)', `expected a mapping of settings (key: value), got ${show(data)}`);
  }
  const validate = configValidator();
  if (!validate(data)) {
    const err = validate.errors?.[0];
    if (err) throw explain(err, data, file);
  }
}

/** Which file to read and how the user asked for it (used to word the error when it is missing). */
function chooseConfigFile(opts: LoadConfigOptions, env: NodeJS.ProcessEnv): { path: string; how: string } | null {
  if (opts.configPath) return { path: opts.configPath, how: '--config' };
  if (env.ODOO_HEAL_CONFIG) return { path: env.ODOO_HEAL_CONFIG, how: '$ODOO_HEAL_CONFIG' };
  const fallback = opts.defaultConfigPath ?? DEFAULT_CONFIG_PATH;
  try {
    statSync(fallback);
  } catch {
    return null; // no config file is the normal case: built-in defaults
  }
  return { path: fallback, how: 'config' };
}

function readConfigText(path: string, how: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory, expected a YAML file' : (err as Error).message;
    throw new ConfigError(path, how, why);
  }
}

/** Parses YAML; syntax errors become `file: line:col: message`. */
export function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    // prettyErrors appends " at line L, column C:" and a code frame; keep the first sentence only.
    const message = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?\s*$/, '');
    throw new ConfigError(file, pos ? `${pos.line}:${pos.col}` : 'yaml', message);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT }) as unknown;
  } catch (err) {
    // Aliases are resolved here, not while parsing: an alias to an anchor that is not set (yet), or a
    // "billion laughs" nest of aliases, throws a bare ReferenceError that would reach the user as an
    // internal error (exit 3) without the file name.
    throw new ConfigError(file, aliasField(doc, text, err), `${errorMessage(err).replace(/\.$/, '')}; anchors (&name) and aliases (*name) must be defined before use and expand to at most ${MAX_YAML_ALIAS_COUNT} nodes`);
  }
}

/** Aliases a config may expand before we call it a resource-exhaustion attempt. */
export const MAX_YAML_ALIAS_COUNT = 1000;

/** `line:col` of the alias an alias error is about (its name is at the end of the message), else "yaml". */
function aliasField(doc: ReturnType<typeof parseDocument>, text: string, err: unknown): string {
  const name = /: (\S+)$/.exec(errorMessage(err))?.[1];
  let where = 'yaml';
  if (name) {
    visit(doc, {
      Alias(_key, node) {
        if (node.source === name && node.range) {
          const before = text.slice(0, node.range[0]);
          where = `${before.split('\n').length}:${before.length - before.lastIndexOf('\n')}`;
          return visit.BREAK;
        }
        return undefined;
      },
    });
  }
  return where;
}

function expandPath(p: string, baseDir: string, home: string): string {
  if (p === '~' || p.startsWith('~/')) return join(home, p.slice(1));
  return isAbsolute(p) ? resolve(p) : resolve(baseDir, p);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; lists and scalars replace. */
function deepMerge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue; // a map key, never a prototype
    out[k] = Object.hasOwn(out, k) ? deepMerge(out[k], v) : v;
  }
  return out as T;
}

/** A service given in the file inherits the default spec of the same name, else unit=name, processes=[name]. */
function completeServices(given: Partial<ServiceSpec>[] | undefined, odoo: OdooConf): ServiceSpec[] {
  const defaults = defaultServices(odoo);
  if (!given) return defaults;
  return given.map((s) => {
    const name = s.name ?? '';
    const d = defaults.find((x) => x.name === name) ?? { name, unit: name, processes: [name], tcp: null };
    return { ...d, ...s, name };
  });
}

/** Rules that span fields, which JSON Schema cannot say clearly. */
/** `/regex/` entries of unclassified.ignore must compile and be safe to run on every error record. */
async function checkIgnoreList(ignore: string[], file: string): Promise<void> {
  const { ignoreRegexSource } = await import('../unclassified/grouper.js');
  const regexes = ignore.map((e, i) => [ignoreRegexSource(e), i] as const).filter((x): x is [string, number] => x[0] !== null);
  if (regexes.length === 0) return;
  const { backtrackingProblem } = await import('../patterns/regex-tools.js');
  for (const [src, i] of regexes) {
    let problem: string | null;
    try {
      new RegExp(src);
      problem = backtrackingProblem(src);
    } catch (err) {
      problem = `invalid regular expression: ${(err as Error).message}`;
    }
    if (problem) throw new ConfigError(file, `unclassified.ignore[${i}]`, problem);
  }
}

function checkConsistency(config: Config, file: string): void {
  if (config.http.requireTokenForReads === true && config.http.token === null) {
    throw new ConfigError(file, 'http.requireTokenForReads', 'expected http.token to be set (reads cannot need a token that does not exist)');
  }
  const t = config.thresholds;
  type Percent = 'diskWarnPercent' | 'diskCritPercent' | 'inodeWarnPercent' | 'inodeCritPercent' | 'dbConnWarnPercent' | 'dbConnCritPercent';
  const pairs: [Percent, Percent][] = [
    ['diskWarnPercent', 'diskCritPercent'],
    ['inodeWarnPercent', 'inodeCritPercent'],
    ['dbConnWarnPercent', 'dbConnCritPercent'],
  ];
  for (const [warn, crit] of pairs) {
    if (t[warn] > t[crit]) {
      throw new ConfigError(file, `thresholds.${warn}`, `expected at most thresholds.${crit} (${t[crit]}), got ${t[warn]}`);
    }
  }
  if (t.memoryAvailWarnPercent < t.memoryAvailCritPercent) {
    throw new ConfigError(
      file,
      'thresholds.memoryAvailWarnPercent',
      `expected at least thresholds.memoryAvailCritPercent (${t.memoryAvailCritPercent}) since less available memory is worse, got ${t.memoryAvailWarnPercent}`,
    );
  }
  const e = config.escalation;
  if (e.backoffBaseMs > e.backoffMaxMs) {
    throw new ConfigError(file, 'escalation.backoffBaseMs', `expected at most escalation.backoffMaxMs (${e.backoffMaxMs}), got ${e.backoffBaseMs}`);
  }
  for (const [key, ladder] of Object.entries(e.ladders)) {
    ladder.forEach((step, i) => {
      const field = `escalation.ladders.${key}[${i}]`;
      if (step.action === 'fix' && !step.fix) {
        throw new ConfigError(file, `${field}.fix`, 'expected a fix id (a step with action "fix" names the fix to run)');
      }
      if (step.action !== 'fix' && (step.fix !== undefined || step.params !== undefined)) {
        throw new ConfigError(file, field, `expected no fix/params on a "${step.action}" step (only action "fix" runs a fix)`);
      }
    });
  }
  const seen = new Set<string>();
  config.services.forEach((s, i) => {
    if (seen.has(s.name)) throw new ConfigError(file, `services[${i}].name`, `expected a unique name, "${s.name}" is used twice`);
    seen.add(s.name);
  });
  const names = new Set<string>();
  config.endpoints.forEach((ep, i) => {
    if (names.has(ep.name)) throw new ConfigError(file, `endpoints[${i}].name`, `expected a unique name, "${ep.name}" is used twice`);
    names.add(ep.name);
  });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

export async function loadConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const ctx: DefaultsContext = { env, home, ...(opts.isRoot === undefined ? {} : { isRoot: opts.isRoot }) };
  const warnings: string[] = [];
  const base = defaultConfig(ctx);

  const chosen = chooseConfigFile(opts, env);
  let file: FileConfig = {};
  let filePath: string | null = null;
  if (chosen) {
    const text = readConfigText(chosen.path, chosen.how);
    const data = parseYaml(text, chosen.path);
    // An empty file (or one with only comments) means "all defaults".
    if (data !== null && data !== undefined) {
      // `thresholds:` with every child commented out parses as null: read it as "defaults".
      const sections = isPlainObject(data) ? Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null)) : data;
      validateShape(sections, chosen.path);
      file = sections as FileConfig;
    }
    filePath = resolve(chosen.path);
  }
  const errFile = chosen?.path ?? '(defaults)';
  const fileDir = filePath ? dirname(filePath) : process.cwd();
  const rel = (p: string): string => expandPath(p, fileDir, home);

  const config: Config = deepMerge(base, { ...file, services: undefined, paths: undefined });
  config.path = filePath;

  // Paths in the file are relative to the file, so a config works wherever it is called from.
  if (config.odoo.config) config.odoo.config = rel(config.odoo.config);
  config.logs.files = config.logs.files.map(rel);
  if (config.logs.postgres) config.logs.postgres = config.logs.postgres.map(rel);
  config.fixes.extraRoots = config.fixes.extraRoots.map(rel);
  if (config.patterns.localDir) config.patterns.localDir = rel(config.patterns.localDir);
  await checkIgnoreList(config.unclassified.ignore, errFile);
  const filePaths = isPlainObject(file.paths) ? (file.paths as Partial<Config['paths']>) : {};
  const stateFromEnv = env.ODOO_HEAL_STATE_DIR ? resolve(env.ODOO_HEAL_STATE_DIR) : undefined;
  config.paths = derivePaths(stateFromEnv ?? (filePaths.stateDir ? rel(filePaths.stateDir) : base.paths.stateDir), {
    backupDir: filePaths.backupDir ? rel(filePaths.backupDir) : undefined,
    auditLog: filePaths.auditLog ? rel(filePaths.auditLog) : undefined,
  });
  config.alerts.targets = config.alerts.targets.map((t) => ({ ...t, minSeverity: t.minSeverity ?? 'warning' }));

  let odoo: OdooConf;
  if (opts.odoo === false) {
    odoo = defaultOdooConf();
  } else {
    const explicit = opts.odooConfigPath ?? config.odoo.config;
    const discovered = discoverOdooConf({
      explicit,
      explicitLabel: opts.odooConfigPath ? '--odoo-config' : `${errFile}: odoo.config`,
      ...(opts.procRoot === undefined ? {} : { procRoot: opts.procRoot }),
      ...(opts.odooCandidates === undefined ? {} : { candidates: opts.odooCandidates }),
      ...(opts.passwdPath === undefined ? {} : { passwdPath: opts.passwdPath }),
      home,
    });
    warnings.push(...discovered.warnings);
    odoo = discovered.odoo;
    // Resolve the two "null = from the running Odoo" fields now that we know it.
    config.odoo.user ??= discovered.user;
    if (config.odoo.url === null && discovered.httpInterface !== null) {
      const host = discovered.httpInterface.includes(':') ? `[${discovered.httpInterface}]` : discovered.httpInterface;
      config.odoo.url = `http://${host}:${odoo.httpPort}`;
    }
  }

  // PostgreSQL's default probe address comes from odoo.conf, so services are completed after discovery.
  config.services = completeServices(file.services as Partial<ServiceSpec>[] | undefined, odoo);

  checkConsistency(config, errFile);
  if (config.http.enabled && !isLoopback(config.http.listen) && config.http.token === null) {
    warnings.push(`${errFile}: http.token: the HTTP endpoint listens on ${config.http.listen} without a token; anyone who can reach it can read the status`);
  }
  if (config.probes.timeoutMs > config.probes.intervalMs) {
    warnings.push(`${errFile}: probes.timeoutMs (${config.probes.timeoutMs}) is longer than probes.intervalMs (${config.probes.intervalMs}); slow probes will overlap`);
  }
  return { config, odoo, warnings };
}
