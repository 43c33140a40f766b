// `odoo-heal report` end to end: the built CLI (`node bin/odoo-heal`) as a child process, on a state
// dir holding real attempt records (real runAttempt + the real cron fix on a temp copy of the broken
// addon) and the incident history --auto keeps. Probes point at a closed local port (no machine service
// is touched). When dist is missing or older than the sources of this command, the build runs here.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentBook } from '../src/engine/incidents/incidents.js';
import { parseText } from '../src/engine/logs/parser.js';
import { loadPatterns } from '../src/engine/patterns/load.js';
import { Matcher } from '../src/engine/patterns/matcher.js';
import { saveIncidentHistory, type Report } from '../src/engine/outputs/report.js';
import { runAttempt, type AttemptRecord } from '../src/fixes/attempts.js';
import { getFix } from '../src/fixes/registry.js';
import { testConfig, testOdooConf } from './helpers/fix-context.js';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'oh-report-cli-'));
const addons = join(tmp, 'custom_addons');
const stateDir = join(tmp, 'state');
let configPath: string;
let odooConfPath: string;
let verified: AttemptRecord;
let failed: AttemptRecord;

function stale(): boolean {
  const pairs = [
    ['src/cli/commands/report.ts', 'dist/cli/commands/report.js'],
    ['src/engine/outputs/report.ts', 'dist/engine/outputs/report.js'],
    ['src/engine/outputs/report-format.ts', 'dist/engine/outputs/report-format.js'],
    ['src/engine/run/health.ts', 'dist/engine/run/health.js'],
  ];
  return pairs.some(([src, out]) => !existsSync(join(ROOT, out!)) || statSync(join(ROOT, src!)).mtimeMs > statSync(join(ROOT, out!)).mtimeMs);
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  if (stale()) {
    // Other areas may not compile yet; tsc still emits, so ignore its exit code.
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  }
  mkdirSync(addons);
  cpSync(join(FIXTURES, 'legacy_cron'), join(addons, 'legacy_cron'), { recursive: true });
  const port = await closedPort();

  // The incident, as --auto would have recorded it in its history.
  const matcher = new Matcher(loadPatterns(join(ROOT, 'patterns')));
  const book = new IncidentBook();
  const text = readFileSync(join(FIXTURES, 'logs/cron_deprecated_field.log'), 'utf8').replaceAll('/tmp/realodoo/custom_addons', addons);
  for (const r of parseText(text, 'odoo.log')) for (const m of matcher.match(r)) book.addMatch(m, Date.now());
  const cron = book.find('cron-deprecated-fields')!;

  const fix = getFix('cron-deprecated-fields')!;
  const odoo = testOdooConf({ addonsPath: [addons] });
  const probe = async (): Promise<never> => {
    throw new Error('no probe here');
  };
  failed = await runAttempt(fix, cron, { config: testConfig(stateDir, { allowCommands: ['false'], moduleUpdate: ['false'] }), odoo, probe }, { who: 'auto' });
  verified = await runAttempt(fix, cron, { config: testConfig(stateDir), odoo, probe }, { who: 'auto' });
  book.resolve(cron.id, verified.finishedAt!);
  await saveIncidentHistory(stateDir, book.list());

  configPath = join(tmp, 'config.yaml');
  writeFileSync(
    configPath,
    [
      'odoo:',
      `  url: http://127.0.0.1:${port}`,
      'services: []',
      'endpoints: []',
      'logs:',
      '  commands: []',
      'probes:',
      '  timeoutMs: 1000',
      'paths:',
      `  stateDir: ${stateDir}`,
      'http:',
      '  token: do-not-print-this-token-123456',
      '',
    ].join('\n'),
  );
  odooConfPath = join(tmp, 'odoo.conf');
  writeFileSync(odooConfPath, `[options]\naddons_path = ${addons}\ndb_host = 127.0.0.1\ndb_port = ${port}\ndb_password = VeryS3cretDbPass\n`);
}, 180_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'odoo-heal'), '--config', configPath, '--odoo-config', odooConfPath, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 30_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('odoo-heal report', () => {
  it('--json: health, the incident history, both attempts and 50% for the cron pattern', () => {
    expect(failed.outcome).toBe('rolled_back');
    expect(verified.outcome).toBe('verified');
    const r = cli(['report', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.format).toBe('odoo-heal/report@1');
    expect(report.health?.format).toBe('odoo-heal/check@1');
    expect(report.health?.status).toBe('critical');
    expect(report.attempts.map((a) => [a.id, a.outcome])).toEqual([
      [failed.id, 'rolled_back'],
      [verified.id, 'verified'],
    ]);
    const eff = report.effectiveness.find((e) => e.key === 'cron-deprecated-fields')!;
    expect(eff).toMatchObject({ attempts: 2, successRate: 0.5, resolved: 1, recovered: 1 });
    expect(report.incidents.find((i) => i.key === 'cron-deprecated-fields')!.status).toBe('resolved');
    expect(r.stdout).not.toContain('VeryS3cretDbPass');
    expect(r.stdout).not.toContain('do-not-print-this-token-123456');
  });

  it('--since filters, --md and the default print Markdown', () => {
    const since = new Date(failed.finishedAt! + 1).toISOString();
    const r = cli(['report', '--json', '--since', since]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.since).toBe(since);
    expect(report.attempts.map((a) => a.id)).toEqual([verified.id]);
    expect(report.effectiveness.find((e) => e.key === 'cron-deprecated-fields')!.successRate).toBe(1);

    const md = cli(['report', '--md', '--since', '1h']);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^# odoo-heal report — /);
    expect(md.stdout).toContain('## Pattern effectiveness');
    expect(md.stdout).toMatch(/\| `cron-deprecated-fields` \| 1 \| 1 \| 2 \| 1 \| 50% \|/);
    expect(cli(['report']).stdout).toContain('**Health: CRITICAL**');
  });

  it('rejects a bad --since and --json with --md (exit 2, one line)', () => {
    const bad = cli(['report', '--since', 'yesterday-ish']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^odoo-heal: --since: expected an ISO date\/time/);
    expect(bad.stdout).toBe('');
    expect(cli(['report', '--json', '--md']).code).toBe(2);
  });
});
