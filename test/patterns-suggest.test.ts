// `patterns suggest` and the local pattern directory stacked over the bundled one, through the CLI
// as an admin runs them, on the real Odoo 18 run of test/fixtures/logs/unclassified_route_and_cron.log.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generalise } from '../src/engine/unclassified/suggest.js';
import { writeLocalPattern } from '../src/engine/unclassified/suggest-run.js';
import { ensureBuilt, runCli } from './helpers/cli.js';

const LOGS = join(import.meta.dirname, 'fixtures', 'logs');
const RUN = join(LOGS, 'unclassified_route_and_cron.log');
let dir: string;
let local: string;
let config: string;

beforeAll(() => {
  ensureBuilt(['src/cli/commands/patterns.ts', 'src/engine/unclassified/suggest-run.ts', 'src/engine/patterns/load.ts']);
  dir = mkdtempSync(join(tmpdir(), 'odoo-heal-suggest-'));
  local = join(dir, 'patterns.d');
  config = join(dir, 'config.yaml');
  writeFileSync(config, `patterns:\n  localDir: ${local}\npaths:\n  stateDir: ${join(dir, 'state')}\n`);
  // An odoo.conf of its own: the machine's running Odoo instances are none of this test's business.
  writeFileSync(join(dir, 'odoo.conf'), `[options]\ndata_dir = ${join(dir, 'data')}\n`);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(['--config', config, '--odoo-config', join(dir, 'odoo.conf'), ...args]);

describe('patterns suggest', () => {
  it('drafts an anchored, generalised pattern, proved on the incident records and the baselines', async () => {
    const r = await cli('patterns', 'suggest', 'i-b3df7476', '--log', RUN, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.proved).toBe(true);
    expect(out.pattern.match).toEqual({
      exception: '^ZeroDivisionError:\\s*division\\s+by\\s+zero$',
      kind: 'odoo',
      record: 'File "[^"\\n]*/heal_unclassified/models/margin\\.py", line \\d+, in margin\\n',
    });
    // All 7 records (6 route failures from two workers, 1 from the scheduled action), no other record.
    expect(out.proof).toMatchObject({ matched: 7, of: 7, otherHits: [], baselineHits: [], refused: null });
    expect(out.proof.baselines.length).toBeGreaterThanOrEqual(3);
    expect(existsSync(local)).toBe(false); // nothing written without --write
  });

  it('an unknown reference is a usage error listing the unclassified incidents', async () => {
    const r = await cli('patterns', 'suggest', 'i-00000000', '--log', RUN);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no unclassified incident "i-00000000" in .* \(unclassified: i-b3df7476\)/);
  });

  it('--write puts the proved draft in the local directory; detect then names the incident by it', async () => {
    const w = await cli('patterns', 'suggest', 'i-b3df7476', '--log', RUN, '--write');
    expect(w.code).toBe(0);
    const file = join(local, 'local-heal-unclassified-zerodivisionerror-margin.json');
    expect(w.stdout).toContain(`written to ${file}`);
    expect(JSON.parse(readFileSync(file, 'utf8')).patterns[0].id).toBe('local-heal-unclassified-zerodivisionerror-margin');
    const d = await cli('detect', '--json', RUN);
    const out = JSON.parse(d.stdout);
    expect(out.incidents.map((i: { kind: string; patternId: string; count: number }) => [i.kind, i.patternId, i.count])).toEqual([
      ['pattern', 'local-heal-unclassified-zerodivisionerror-margin', 7],
    ]);
    // Explained now: nothing left to suggest for it.
    const again = await cli('patterns', 'suggest', 'i-b3df7476', '--log', RUN, '--write');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no unclassified incident "i-b3df7476"/);
    // And a draft is never written over a local pattern of the same id.
    const draft = JSON.parse(readFileSync(file, 'utf8')).patterns[0];
    await expect(writeLocalPattern(local, draft)).rejects.toThrow(/a local pattern with id "local-heal-unclassified-zerodivisionerror-margin" exists already/);
    expect(JSON.parse(readFileSync(file, 'utf8')).patterns[0]).toEqual(draft);
  });

  it('a local pattern replaces the bundled one with its id; a bad local file is named with its entry', async () => {
    const bundled = JSON.parse((await runCli(['patterns', 'list', '--json'])).stdout).patterns as { id: string }[];
    mkdirSync(local, { recursive: true });
    const base = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'patterns', 'database.json'), 'utf8')).patterns.find((p: { id: string }) => p.id === 'db-unreachable');
    writeFileSync(join(local, 'site.json'), JSON.stringify({ patterns: [{ ...base, title: 'Our PostgreSQL is down: call the DBA on-call' }] }));
    const list = JSON.parse((await cli('patterns', 'list', '--json')).stdout).patterns as { id: string; title: string; file: string }[];
    expect(list.length).toBe(bundled.length + 1); // + the ZeroDivisionError draft, db-unreachable replaced
    const db = list.filter((p) => p.id === 'db-unreachable');
    expect(db).toHaveLength(1);
    expect(db[0]).toMatchObject({ title: 'Our PostgreSQL is down: call the DBA on-call', file: join(local, 'site.json') });
    const d = JSON.parse((await cli('detect', '--json', join(LOGS, 'db_connection_threaded.log'))).stdout);
    expect(d.incidents.find((i: { patternId: string }) => i.patternId === 'db-unreachable').title).toBe('Our PostgreSQL is down: call the DBA on-call');

    writeFileSync(join(local, 'zz-bad.json'), JSON.stringify({ patterns: [{ ...base, id: 'bad-one', match: { message: '(a+)+$' } }] }));
    const bad = await cli('detect', RUN);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain(`${join(local, 'zz-bad.json')}: patterns[0] (id "bad-one").match.message: regular expression refused`);
    rmSync(join(local, 'zz-bad.json'));
  });
});

describe('generalise', () => {
  it('keeps literals escaped and generalises what changes', () => {
    expect(generalise("Record 'ref-17' (id 42) not found in prod_db at 0x7f3a2b1c", 'prod_db')).toBe(
      "Record\\s+'[^'\\n]*'\\s+\\(id\\s+\\d+(?:\\.\\d+)?\\)\\s+not\\s+found\\s+in\\s+[\\w.-]+\\s+at\\s+0x[0-9a-fA-F]+",
    );
    const re = new RegExp(`^${generalise("Record 'ref-17' (id 42) not found in prod_db", 'prod_db')}$`);
    expect(re.test("Record 'ref-99' (id 7) not found in other_db")).toBe(true);
    expect(re.test("Record 'ref-99' (id 7) was found in other_db")).toBe(false);
  });
});
