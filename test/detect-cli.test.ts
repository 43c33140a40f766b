// Runs the built CLI (`node bin/odoo-heal`) as a child process. `npm test` builds first; when dist
// is missing or older than the sources of these commands, the build is run here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const LOGS = join(ROOT, 'test', 'fixtures', 'logs');
const tmp = mkdtempSync(join(tmpdir(), 'oh-detect-'));

function stale(): boolean {
  const pairs = [
    ['src/cli/commands/detect.ts', 'dist/cli/commands/detect.js'],
    ['src/cli/commands/patterns.ts', 'dist/cli/commands/patterns.js'],
    ['src/engine/logs/parser.ts', 'dist/engine/logs/parser.js'],
    ['src/engine/patterns/matcher.ts', 'dist/engine/patterns/matcher.js'],
    ['src/engine/patterns/load.ts', 'dist/engine/patterns/load.js'],
    ['src/engine/incidents/incidents.ts', 'dist/engine/incidents/incidents.js'],
  ];
  return pairs.some(([src, out]) => !existsSync(join(ROOT, out!)) || statSync(join(ROOT, src!)).mtimeMs > statSync(join(ROOT, out!)).mtimeMs);
}

beforeAll(() => {
  if (stale()) {
    // Other areas may not compile yet; tsc still emits, so ignore its exit code.
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  }
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'odoo-heal'), ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('odoo-heal detect', () => {
  it('prints incidents with counts and hints, exit 2 when critical', () => {
    const r = cli(['detect', join(LOGS, 'permission_denied_filestore.log')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^2 incidents in 1 source \(47 records\): 1 critical, 1 warning/);
    expect(r.stdout).toMatch(/critical\s+8\s+2026-11-28 20:01:03\s+2026-11-28 20:01:03\s+i-[0-9a-f]{8}\s+Odoo cannot access a file/);
    expect(r.stdout).toContain('fix:  permissions path=/tmp/realodoo/data/filestore/healdb (pattern allows unattended)');
  });

  it('exits 0 on a healthy log and 1 on warnings only', () => {
    const ok = cli(['detect', join(LOGS, 'baseline_prefork_server.log'), join(LOGS, 'cron_deprecated_field_fixed.log')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('0 incidents in 2 sources (65 records)\n');
    expect(cli(['detect', join(LOGS, 'worker_limit_time.log')]).code).toBe(1);
  });

  it('writes the versioned JSON format', () => {
    const r = cli(['detect', '--json', join(LOGS, 'db_connection_threaded.log'), join(LOGS, 'db_connection_threaded.stdout.log')]);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.format).toBe('odoo-heal/detect@1');
    expect(out.status).toBe('critical');
    expect(out.sources.map((s: { records: number }) => s.records)).toEqual([86, 3]);
    const ids = out.incidents.map((i: { patternId: string; count: number }) => [i.patternId, i.count]);
    expect(ids).toEqual(expect.arrayContaining([['db-unreachable', 16], ['db-connection-failed', 18], ['cron-thread-crashed', 2]]));
    expect(ids).toHaveLength(3);
    const cron = out.incidents.find((i: { patternId: string }) => i.patternId === 'cron-thread-crashed');
    expect(cron.fix).toEqual({ id: 'restart-service', params: { service: 'odoo' }, unattended: true });
    expect(cron.sample).toMatchObject({ line: 2, kind: 'raw', text: 'Exception in thread odoo.service.cron.cron0:' });
  });

  it('reads stdin with -', () => {
    const r = cli(['detect', '--json', '-'], readFileSync(join(LOGS, 'cron_deprecated_field.log'), 'utf8'));
    const out = JSON.parse(r.stdout);
    // The pattern's incident, and the ERROR record no pattern explains as an unclassified one.
    expect(out.incidents.map((i: { kind: string; patternId: string | null }) => [i.kind, i.patternId])).toEqual([
      ['pattern', 'cron-deprecated-fields'],
      ['unclassified', null],
    ]);
    expect(out.incidents[1].title).toBe('ERROR in odoo.modules.registry: Failed to load registry');
    expect(out.sources[0].path).toBe('-');
  });

  it('applies --since and rejects a malformed one', () => {
    const r = cli(['detect', '--json', '--since', '2026-11-28T20:04:20Z', join(LOGS, 'worker_limit_time.log')]);
    const out = JSON.parse(r.stdout);
    expect(out.since).toBe('2026-11-28T20:04:20.000Z');
    expect(out.incidents.map((i: { patternId: string; count: number }) => [i.patternId, i.count]).sort()).toEqual([
      ['worker-cpu-limit', 2],
      ['worker-timeout', 1],
      ['worker-timeout', 3],
    ]);
    const bad = cli(['detect', '--since', 'yesterday-ish', join(LOGS, 'worker_limit_time.log')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^odoo-heal: --since: expected an ISO date\/time .* got "yesterday-ish"\n$/);
  });

  it('reports an unreadable file in one line and exits 3 (UNKNOWN) unless something is critical', () => {
    const missing = join(tmp, 'nope.log');
    const r = cli(['detect', missing, join(LOGS, 'baseline_threaded_server.log')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`odoo-heal: ${missing}: cannot read log: no such file\n`);
    expect(cli(['detect', missing, join(LOGS, 'disk_full_filestore.log')]).code).toBe(2);
  });

  it('uses --patterns and fails with the loader error on a bad pattern dir', () => {
    const d = join(tmp, 'pats');
    mkdirSync(d);
    writeFileSync(join(d, 'x.json'), JSON.stringify({ patterns: [{ id: 'x', title: 't', severity: 'warning', category: 'other', hint: 'h', match: { message: '(a+)+$' }, fingerprint: [] }] }));
    const r = cli(['--patterns', d, 'detect', join(LOGS, 'baseline_threaded_server.log')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(d, 'x.json')}: patterns[0] (id "x").match.message: regular expression refused`);
  });
});

describe('odoo-heal patterns', () => {
  it('lists and validates the bundled patterns', () => {
    const list = cli(['patterns', 'list', '--json']);
    expect(list.code).toBe(0);
    const ids = JSON.parse(list.stdout).patterns.map((p: { id: string }) => p.id);
    expect(ids).toContain('cron-thread-crashed');
    const v = cli(['patterns', 'validate']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/: ok \(\d+ patterns in 9 files\)\n$/);
    const file = cli(['patterns', 'validate', join(ROOT, 'patterns', 'cron.json')]);
    const cronCount = (JSON.parse(readFileSync(join(ROOT, 'patterns', 'cron.json'), 'utf8')) as { patterns: unknown[] }).patterns.length;
    expect(file.stdout).toContain(`cron.json: ok (${cronCount} patterns)`);
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{');
    const b = cli(['patterns', 'validate', bad]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(new RegExp(`^odoo-heal: ${bad}: content: invalid JSON`));
  });

  it('test shows which pattern matched which record', () => {
    const r = cli(['patterns', 'test', join(LOGS, 'python_syntax_error.log')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^13\s+CRITICAL\s+addon-syntax-error\s+file=\/tmp\/realodoo\/custom_addons\/partner_credit_flag\/models\/res_partner\.py line=10 \(also: db-init-failed\)\s+SyntaxError: expected ':'$/m,
    );
    expect(r.stdout).toMatch(/^10\s+CRITICAL\s+module-load-failed\s+module=partner_credit_flag\s+Couldn't load module partner_credit_flag$/m);
    expect(r.stdout).toMatch(/^\d+\s+ERROR\s+\(no pattern\)\s+Failed to load registry/m);
    const json = JSON.parse(cli(['patterns', 'test', '--json', join(LOGS, 'db_connection_threaded.stdout.log')]).stdout);
    expect(json.matches.map((m: { line: number; patternId: string }) => [m.line, m.patternId])).toEqual([
      [2, 'cron-thread-crashed'],
      [16, 'cron-thread-crashed'],
    ]);
    expect(json.matches[0].alsoMatched).toEqual(['db-unreachable']);
  });
});

