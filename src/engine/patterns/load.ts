// Loads and validates the pattern database: JSON Schema first (shape), then what a schema cannot
// say (regexes compile and cannot backtrack catastrophically, capture names exist, ids are unique).
// Every error names the file and the exact entry, so a bad edit is found in seconds.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ConfigError } from '../core/errors.js';
import { AJV_OPTIONS, schemaHash } from './schema-standalone.js';
import { SCHEMA_SHA1, validate as precompiled } from './schema-validator.generated.js';
import type { Pattern } from '../core/types.js';
import { backtrackingProblem, captureNames } from './regex-tools.js';
import { isVerifiedPatternText } from './verified-patterns.js';

/** A pattern as loaded: the shared `Pattern` plus where it came from and its priority. */
export interface LoadedPattern extends Pattern {
  /** Higher wins when several patterns match one record (default 0). */
  priority: number;
  file: string;
  index: number;
}

const REGEX_FIELDS = ['message', 'exception', 'record', 'logger'] as const;

/** The bundled `patterns/` directory (same relative spot from src/ under vitest and from dist/). */
export function defaultPatternsDir(): string {
  return fileURLToPath(new URL('../../../patterns/', import.meta.url));
}

let validator: ValidateFunction | null = null;
/** The schema's validator: the one Ajv compiled ahead of time (schema-standalone.ts) while it was
 * generated from this very schema text, else compiled now (importing Ajv only then). */
function schemaValidator(): ValidateFunction {
  if (!validator) {
    const schemaPath = join(defaultPatternsDir(), 'schema.json');
    const text = readFileSync(schemaPath, 'utf8');
    if (schemaHash(text) === SCHEMA_SHA1) {
      validator = precompiled as unknown as ValidateFunction;
    } else {
      const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
      validator = new Ajv(AJV_OPTIONS).compile(JSON.parse(text) as object);
    }
  }
  return validator;
}

/** The pattern files named by the arguments: a directory means its `*.json` except schema.json. */
export function patternFiles(pathOrDir: string | string[]): string[] {
  const files: string[] = [];
  for (const p of Array.isArray(pathOrDir) ? pathOrDir : [pathOrDir]) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      throw new ConfigError(p, 'path', `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    if (isDir) {
      const names = readdirSync(p)
        .filter((n) => n.endsWith('.json') && n !== 'schema.json')
        .sort();
      for (const n of names) files.push(join(p, n));
    } else {
      files.push(p);
    }
  }
  return files;
}

/** Loads, validates and returns every pattern; throws ConfigError on the first problem. */
export function loadPatterns(pathOrDir: string | string[]): LoadedPattern[] {
  const out: LoadedPattern[] = [];
  const seen = new Map<string, string>();
  for (const file of patternFiles(pathOrDir)) {
    for (const p of loadPatternFile(file)) {
      const where = `patterns[${p.index}] (id "${p.id}")`;
      const first = seen.get(p.id);
      if (first) throw new ConfigError(file, where, `duplicate id, already defined in ${first}`);
      seen.set(p.id, `${file} patterns[${p.index}]`);
      out.push(p);
    }
  }
  return out;
}

/**
 * Pattern layers, first to last: the bundled directory (or `--patterns`), then the local directory
 * (config `patterns.localDir`) when it exists. A pattern in a later layer with an earlier layer's id
 * replaces it in place (same position in the tie order); new ids are appended. Within one layer a
 * duplicate id is an error, as in loadPatterns. A later layer that does not exist adds nothing: the
 * default local directory (/etc/odoo-heal/patterns.d) is usually absent.
 */
export function loadPatternLayers(layers: readonly string[]): LoadedPattern[] {
  const out: LoadedPattern[] = [];
  const at = new Map<string, number>();
  layers.forEach((layer, k) => {
    if (k > 0 && !exists(layer)) return;
    for (const p of loadPatterns(layer)) {
      const i = at.get(p.id);
      if (i === undefined) {
        at.set(p.id, out.length);
        out.push(p);
      } else {
        out[i] = p;
      }
    }
  });
  return out;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The layers for `--patterns` (replaces every layer) or the bundled directory plus the local one. */
export function patternLayers(explicit: string | undefined, localDir: string | null | undefined): string[] {
  if (explicit) return [explicit];
  return localDir ? [defaultPatternsDir(), localDir] : [defaultPatternsDir()];
}

/**
 * Loads and validates one file (ids are checked for uniqueness within the file only). A text known
 * to pass every check (verified-patterns.ts: the bundled files) is not checked again, unless
 * `trustVerified` is false.
 */
export function loadPatternFile(file: string, opts: { trustVerified?: boolean } = {}): LoadedPattern[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, 'file', `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, 'content', `invalid JSON (${(err as Error).message})`);
  }
  if (opts.trustVerified !== false && isVerifiedPatternText(text, join(defaultPatternsDir(), 'schema.json'))) {
    return (data as { patterns: (Pattern & { priority?: number })[] }).patterns.map((p, index) => loaded(p, file, index));
  }
  const validate = schemaValidator();
  if (!validate(data)) {
    const err = pickError(validate.errors ?? []);
    throw new ConfigError(file, fieldPath(data, err), describeError(err));
  }
  const raw = (data as { patterns: (Pattern & { priority?: number })[] }).patterns;
  const ids = new Set<string>();
  return raw.map((p, index) => {
    const where = `patterns[${index}] (id "${p.id}")`;
    if (ids.has(p.id)) throw new ConfigError(file, where, 'duplicate id in this file');
    ids.add(p.id);
    const names = new Set<string>();
    for (const f of REGEX_FIELDS) {
      const src = p.match[f];
      if (src === undefined) continue;
      try {
        new RegExp(src);
      } catch (err) {
        throw new ConfigError(file, `${where}.match.${f}`, `invalid regular expression: ${(err as Error).message}`);
      }
      const problem = backtrackingProblem(src);
      if (problem) throw new ConfigError(file, `${where}.match.${f}`, `regular expression refused: ${problem}`);
      for (const n of captureNames(src)) names.add(n);
    }
    p.fingerprint.forEach((n, k) => {
      if (!names.has(n)) throw new ConfigError(file, `${where}.fingerprint[${k}]`, `unknown capture "${n}" ${known(names)}`);
    });
    if (p.fix) {
      for (const [key, value] of Object.entries(p.fix.params)) {
        for (const m of value.matchAll(/\$\{([^}]*)\}/g)) {
          if (!names.has(m[1] ?? '')) {
            throw new ConfigError(file, `${where}.fix.params.${key}`, `unknown capture "${m[1]}" ${known(names)}`);
          }
        }
      }
    }
    return loaded(p, file, index);
  });
}

function loaded(p: Pattern & { priority?: number }, file: string, index: number): LoadedPattern {
  return { ...p, priority: p.priority ?? 0, file, index };
}

function known(names: Set<string>): string {
  return names.size ? `(captures: ${[...names].join(', ')})` : '(the regexes have no named groups)';
}

/** Ajv reports every failed branch of an `anyOf`; the anyOf error itself is the useful one. */
function pickError(errors: ErrorObject[]): ErrorObject {
  return errors.find((e) => e.keyword === 'anyOf') ?? errors[0]!;
}

/** `/patterns/3/match/message` → `patterns[3] (id "db-refused").match.message`. */
function fieldPath(data: unknown, err: ErrorObject): string {
  const parts = err.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  let node: unknown = data;
  for (const part of parts) {
    if (Array.isArray(node)) {
      out += `[${part}]`;
      node = node[Number(part)];
      const id = (node as { id?: unknown } | undefined)?.id;
      if (out.startsWith('patterns') && out.split('[').length === 2 && typeof id === 'string') out += ` (id "${id}")`;
    } else {
      out += out ? `.${part}` : part;
      node = (node as Record<string, unknown> | undefined)?.[part];
    }
  }
  return out || '(top level)';
}

function describeError(err: ErrorObject): string {
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties':
      return `unknown property "${String(p.additionalProperty)}"`;
    case 'required':
      return `missing property "${String(p.missingProperty)}"`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'anyOf':
      return 'needs at least one of message, exception, record';
    default:
      return err.message ?? err.keyword;
  }
}
