import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/engine/core/errors.js';
import { defaultPatternsDir, loadPatterns } from '../src/engine/patterns/load.js';
import { backtrackingProblem, requiredLiterals } from '../src/engine/patterns/regex-tools.js';

const root = mkdtempSync(join(tmpdir(), 'oh-patterns-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const ok = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  title: 'T',
  severity: 'warning',
  category: 'other',
  hint: 'H',
  match: { message: '^boom (?<what>\\w+)' },
  fingerprint: ['what'],
  ...extra,
});

/** A fresh pattern dir with the given files (objects are JSON-encoded, strings written as is). */
function dir(files: Record<string, unknown>): string {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  for (const [name, body] of Object.entries(files)) {
    writeFileSync(join(d, name), typeof body === 'string' ? body : JSON.stringify(body));
  }
  return d;
}

function errorOf(d: string): string {
  try {
    loadPatterns(d);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadPatterns', () => {
  it('loads the bundled database', () => {
    const patterns = loadPatterns(defaultPatternsDir());
    expect(patterns.length).toBeGreaterThan(30);
    expect(new Set(patterns.map((p) => p.id)).size).toBe(patterns.length);
  });

  it('names the file for invalid JSON', () => {
    const d = dir({ 'db.json': '{"patterns": [' });
    expect(errorOf(d)).toMatch(new RegExp(`^${join(d, 'db.json')}: content: invalid JSON \\(`));
  });

  it('names file, entry and field for a schema violation', () => {
    const d = dir({ 'db.json': { patterns: [ok('a'), ok('b'), ok('c'), ok('db-refused', { severity: 'fatal' })] } });
    expect(errorOf(d)).toBe(`${join(d, 'db.json')}: patterns[3] (id "db-refused").severity: must be one of "info", "warning", "critical"`);
    const d2 = dir({ 'x.json': { patterns: [ok('a', { match: { levels: ['ERROR'] } })] } });
    expect(errorOf(d2)).toBe(`${join(d2, 'x.json')}: patterns[0] (id "a").match: needs at least one of message, exception, record`);
    const d3 = dir({ 'x.json': { patterns: [ok('a', { colour: 'red' })] } });
    expect(errorOf(d3)).toBe(`${join(d3, 'x.json')}: patterns[0] (id "a"): unknown property "colour"`);
  });

  it('rejects an invalid regular expression with the exact field', () => {
    const d = dir({ 'db.json': { patterns: [ok('a'), ok('b'), ok('c'), ok('db-refused', { match: { message: 'refused (' } })] } });
    expect(errorOf(d)).toMatch(
      new RegExp(`^${join(d, 'db.json')}: patterns\\[3\\] \\(id "db-refused"\\)\\.match\\.message: invalid regular expression: `),
    );
  });

  it('refuses catastrophic regexes without running them', () => {
    for (const [re, why] of [
      ['(a+)+$', /nested quantifiers/],
      ['^(\\w+\\s?)*$', /nested quantifiers/],
      ['(a|a)*b', /overlapping alternatives/],
      ['^x\\s*\\s*y', /adjacent quantifiers/],
      ['.*.*=', /adjacent quantifiers/],
    ] as const) {
      const d = dir({ 'w.json': { patterns: [ok('w', { match: { exception: re }, fingerprint: [] })] } });
      expect(errorOf(d), re).toMatch(new RegExp(`^${join(d, 'w.json')}: patterns\\[0\\] \\(id "w"\\)\\.match\\.exception: regular expression refused: can backtrack catastrophically`));
      expect(errorOf(d), re).toMatch(why);
    }
    // Optional groups and bounded repeats are fine.
    expect(backtrackingProblem("^Job '(?<job>.*)'(?: \\(\\d+\\))? server")).toBeNull();
    expect(backtrackingProblem('File "(?<f>[^"\\n]+)", line (\\d+)\\n(?:[^\\n]*\\n){0,3}?SyntaxError')).toBeNull();
  });

  it('rejects duplicate ids across files, naming both places', () => {
    const d = dir({ 'a.json': { patterns: [ok('same')] }, 'b.json': { patterns: [ok('other'), ok('same')] } });
    expect(errorOf(d)).toBe(`${join(d, 'b.json')}: patterns[1] (id "same"): duplicate id, already defined in ${join(d, 'a.json')} patterns[0]`);
  });

  it('rejects fingerprint and fix params naming unknown captures', () => {
    const d = dir({ 'a.json': { patterns: [ok('a', { fingerprint: ['what', 'where'] })] } });
    expect(errorOf(d)).toBe(`${join(d, 'a.json')}: patterns[0] (id "a").fingerprint[1]: unknown capture "where" (captures: what)`);
    const d2 = dir({ 'a.json': { patterns: [ok('a', { fix: { id: 'permissions', params: { path: '${pth}' }, unattended: true } })] } });
    expect(errorOf(d2)).toBe(`${join(d2, 'a.json')}: patterns[0] (id "a").fix.params.path: unknown capture "pth" (captures: what)`);
  });

  it('ignores schema.json in a directory and accepts a list of files', () => {
    const d = dir({ 'schema.json': { anything: true }, 'a.json': { patterns: [ok('a')] }, 'b.json': { patterns: [ok('b', { priority: 5 })] } });
    expect(loadPatterns(d).map((p) => [p.id, p.priority])).toEqual([
      ['a', 0],
      ['b', 5],
    ]);
    expect(loadPatterns([join(d, 'b.json')]).map((p) => p.id)).toEqual(['b']);
    expect(() => loadPatterns(join(d, 'nope'))).toThrow(`${join(d, 'nope')}: path: cannot read (ENOENT)`);
  });
});

describe('requiredLiterals', () => {
  it('finds literals every match contains', () => {
    expect(requiredLiterals('^Worker(?<w>HTTP|Cron) \\(\\d+\\) timeout after (?<s>\\d+)s')).toEqual([') timeout after ']);
    expect(requiredLiterals('remaining connection slots are reserved|sorry, too many clients already')).toEqual([
      'remaining connection slots are reserved',
      'sorry, too many clients already',
    ]);
    expect(requiredLiterals('^(?<x>[\\w.]+)')).toEqual([]);
    expect(requiredLiterals('ab?c')).toEqual([]); // 'b' is optional: no 3-char run is certain
  });
});
