// Issue 11, item 7: a pattern regex that backtracks polynomially (`a.*a.*a.*a.*a.*a.*a.*a.*b`) passed
// `patterns validate`, and `detect` then hung on one 3 KB forged line. Now: validation refuses regexes
// whose worst case is above O(n^2) (ambiguityDegree), and no regex sees more than MAX_REGEX_INPUT
// characters of a field, so an allowed O(n^2) regex stays bounded on any line an attacker writes.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPatternsDir, loadPatternFile, loadPatterns, patternFiles } from '../../src/engine/patterns/load.js';
import { Matcher, MAX_REGEX_INPUT, regexInput } from '../../src/engine/patterns/matcher.js';
import { ambiguityDegree, backtrackingProblem, MAX_AMBIGUITY_DEGREE } from '../../src/engine/patterns/regex-tools.js';
import type { LogRecord, Pattern } from '../../src/engine/core/types.js';
import { ensureBuilt, ROOT } from '../helpers/cli.js';

const EVIL_REGEX = 'a.*a.*a.*a.*a.*a.*a.*a.*b';
const tmp = mkdtempSync(join(tmpdir(), 'oh-regex-budget-'));
const localDir = join(tmp, 'local-patterns');
const evilFile = join(localDir, 'evil.json');
const log = join(tmp, 'odoo.log');

function patternFile(regex: string): string {
  return JSON.stringify({
    patterns: [{ id: 'slow-one', title: 'A slow regex', severity: 'warning', category: 'other', hint: 'none', match: { message: regex }, fingerprint: [] }],
  });
}

/** The built CLI with a hard kill: a hang shows up as code -1 and `killed`, not as a stuck suite. */
function cli(args: string[], killAfterMs = 20_000): Promise<{ code: number; out: string; err: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'odoo-heal'), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, err, killed });
    });
  });
}

beforeAll(() => {
  ensureBuilt(['src/engine/patterns/regex-tools.ts', 'src/engine/patterns/load.ts', 'src/engine/patterns/matcher.ts']);
  mkdirSync(localDir);
  writeFileSync(evilFile, patternFile(EVIL_REGEX));
  // The forged record: a 3 KB login name Odoo logs verbatim in an INFO line.
  writeFileSync(log, `2026-11-28 19:59:42,361 9324 INFO healdb odoo.addons.base.models.res_users: Login failed for db:healdb login:${'a'.repeat(3000)} from 203.0.113.9\n`);
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('validation refuses polynomial regexes (issue 11, item 7)', () => {
  it('`patterns validate` on the forged file: exit 2, one line naming file, entry and field', async () => {
    const r = await cli(['patterns', 'validate', evilFile]);
    expect(r.code).toBe(2);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toContain(`${evilFile}: patterns[0] (id "slow-one").match.message: regular expression refused: can backtrack polynomially`);
  });

  it('a local pattern directory gets the same validation: detect refuses to start instead of hanging', async () => {
    const r = await cli(['--patterns', localDir, 'detect', log]);
    expect(r.killed).toBe(false);
    expect(r.code).toBe(2);
    expect(r.err).toContain('can backtrack polynomially');
  });

  it('the stacked local pattern directory (config patterns.localDir) is validated the same way', async () => {
    const yaml = join(tmp, 'config.yaml');
    const conf = join(tmp, 'odoo.conf');
    writeFileSync(yaml, `services: []\nendpoints: []\npatterns:\n  localDir: ${localDir}\npaths:\n  stateDir: ${join(tmp, 'state')}\n`);
    writeFileSync(conf, `[options]\nlogfile = ${log}\n`);
    const r = await cli(['--config', yaml, '--odoo-config', conf, 'detect', log]);
    expect(r.killed).toBe(false);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${evilFile}: patterns[0] (id "slow-one").match.message: regular expression refused: can backtrack polynomially`);
  });

  it.each([
    [EVIL_REGEX, 9],
    ['foo.*bar.*baz', 3],
    ['^x.*y.*z.*w', 3],
    ['^(?<a>.*) and (?<b>.*) and (?<c>.*)$', 3],
  ])('%s has degree %i and is refused', (src, degree) => {
    expect(ambiguityDegree(src)).toBe(degree);
    expect(backtrackingProblem(src)).toMatch(/polynomially/);
  });

  it.each([
    ['foo.*bar', 2],
    ['^Job \'(?<job>.*)\'(?: \\(\\d+\\))? server action #(?<action>\\d+) failed', 2],
    ['File "(?<file>[^"\\n]+)", line (?<line>\\d+)', 2],
    ['^a [^ ]+ b [^ ]+ c', 1],
  ])('%s has degree %i and is allowed', (src, degree) => {
    expect(ambiguityDegree(src)).toBe(degree);
    expect(backtrackingProblem(src)).toBeNull();
  });

  it('every bundled pattern passes the full validation (not only the verified-text shortcut)', () => {
    for (const file of patternFiles(defaultPatternsDir())) {
      expect(() => loadPatternFile(file, { trustVerified: false })).not.toThrow();
    }
    expect(loadPatterns(defaultPatternsDir()).length).toBeGreaterThan(20);
    expect(MAX_AMBIGUITY_DEGREE).toBe(2);
  });
});

describe('no regex sees more than MAX_REGEX_INPUT characters of a field', () => {
  const record = (message: string): LogRecord =>
    ({ kind: 'odoo', level: 'ERROR', logger: 'odoo.x', message, exception: null, lines: [message], source: 't', line: 1, time: 0, pid: 1, db: 'db' }) as unknown as LogRecord;
  const matcher = (regex: string): Matcher =>
    new Matcher([{ id: 'p', title: 't', severity: 'warning', category: 'other', hint: 'h', match: { message: regex }, fingerprint: [] } as Pattern]);

  it('head and tail stay visible, the middle of a huge line does not', () => {
    const huge = `HEAD ${'x'.repeat(50_000)} MIDDLE ${'x'.repeat(50_000)} TAIL`;
    expect(regexInput(huge)).toHaveLength(MAX_REGEX_INPUT);
    expect(matcher('^HEAD').match(record(huge))).toHaveLength(1);
    expect(matcher('TAIL$').match(record(huge))).toHaveLength(1);
    expect(matcher('MIDDLE').match(record(huge))).toHaveLength(0);
    expect(matcher('MIDDLE').match(record('short MIDDLE line'))).toHaveLength(1);
  });

  it('an allowed O(n^2) regex on a 1 MB forged line returns (it would run for hours uncapped)', () => {
    const forged = 'foo'.repeat(350_000);
    expect(matcher('foo.*bar').match(record(forged))).toHaveLength(0);
  });
});
