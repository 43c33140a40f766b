import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit, currentWho, verifyAudit, type AuditInput } from '../../src/engine/state/audit.js';
import { transpileModules, type TranspiledTree } from '../helpers/safety-child.js';

const input = (n: number): AuditInput => ({
  who: 'root@pts/1',
  action: n % 2 ? 'planned' : 'verified',
  incidentId: 'i-0000abcd',
  fixId: 'cron-deprecated-fields',
  attemptId: 'a-20250101-000000-abcd',
  summary: `step ${n}`,
  preview: '--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n',
  result: `result ${n}`,
  durationMs: n,
});

describe('audit log', () => {
  let dir: string;
  let log: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'odoo-heal-audit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    log = join(dir, `audit-${Math.random().toString(16).slice(2)}.jsonl`);
    for (let n = 1; n <= 5; n++) await appendAudit(log, input(n));
  });
  const lines = (): string[] => readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const write = (ls: string[]): void => writeFileSync(log, ls.map((l) => `${l}\n`).join(''));

  it('chains intact entries', async () => {
    expect(await verifyAudit(log)).toEqual({ ok: true, entries: 5 });
    const e = JSON.parse(lines()[1]!);
    expect(e).toMatchObject({ seq: 2, who: 'root@pts/1', action: 'verified', summary: 'step 2', durationMs: 2 });
    expect(e.prev).toMatch(/^[0-9a-f]{64}$/);
  });

  it('detects an edited field, naming the line', async () => {
    const ls = lines();
    ls[2] = ls[2]!.replace('"result 3"', '"result 3 (all fine)"');
    write(ls);
    expect(await verifyAudit(log)).toEqual({ ok: false, line: 3, reason: expect.stringMatching(/edited/) });
  });

  it('detects a deleted line', async () => {
    const ls = lines();
    ls.splice(1, 1);
    write(ls);
    expect(await verifyAudit(log)).toMatchObject({ ok: false, line: 2 });
  });

  it('detects reordered lines', async () => {
    const ls = lines();
    [ls[3], ls[4]] = [ls[4]!, ls[3]!];
    write(ls);
    expect(await verifyAudit(log)).toMatchObject({ ok: false, line: 4 });
  });

  it('detects an inserted line and a removed last entry', async () => {
    const ls = lines();
    write([...ls.slice(0, 2), ls[1]!, ...ls.slice(2)]);
    expect(await verifyAudit(log)).toMatchObject({ ok: false, line: 3 });
    write(ls.slice(0, 4));
    expect(await verifyAudit(log)).toEqual({ ok: false, line: 5, reason: expect.stringMatching(/removed from the end/) });
  });

  it('detects a truncated last line and refuses to append after it', async () => {
    const text = readFileSync(log, 'utf8');
    writeFileSync(log, text.slice(0, -20));
    expect(await verifyAudit(log)).toMatchObject({ ok: false, line: 5, reason: expect.stringMatching(/partial last line/) });
    await expect(appendAudit(log, input(6))).rejects.toThrow(/partial line/);
    appendFileSync(log, '');
  });

  it('who is user@tty', () => {
    expect(currentWho()).toMatch(/^[^@]+@\S+$/);
  });
});

describe('audit log across processes', () => {
  let tree: TranspiledTree;
  let dir: string;
  beforeAll(() => {
    tree = transpileModules(['src/engine/core/durable.ts', 'src/engine/state/audit.ts']);
    dir = mkdtempSync(join(tmpdir(), 'odoo-heal-audit-mp-'));
  });
  afterAll(() => {
    tree.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('concurrent appenders keep one valid chain', async () => {
    const log = join(dir, 'audit.jsonl');
    const script = join(tree.dir, 'append.mjs');
    writeFileSync(
      script,
      `import { appendAudit } from ${JSON.stringify(tree.js('src/engine/state/audit.ts'))};
       const [log, who] = process.argv.slice(2);
       for (let i = 0; i < 15; i++) await appendAudit(log, { who, action: 'planned', incidentId: null, fixId: null, attemptId: null, summary: 's' + i, result: 'r' });`,
    );
    const procs = [0, 1, 2, 3].map((n) => spawn(process.execPath, [script, log, `p${n}`], { stdio: 'inherit' }));
    const codes = await Promise.all(procs.map((p) => new Promise<number | null>((r) => p.once('exit', r))));
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(await verifyAudit(log)).toEqual({ ok: true, entries: 60 });
  });
});
