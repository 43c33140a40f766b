// Issue 11, item 4: a forged log record carrying OSC 52 (clipboard write), CSI 2J (clear screen), BEL,
// U+202E (right-to-left override) and U+009B (8-bit CSI) must reach no terminal through any command.
// The attacker's record is a real Odoo 18 ParseError record (test/fixtures/logs/cron_deprecated_field.log)
// whose file path carries the sequences: once for a file that does not exist (a login name with a
// newline in it forges such a record), once for an addon directory Odoo's user created with that name.
// Every command's stdout and stderr are checked code point by code point; JSON output must keep the data
// but escape C1 and bidi characters (\u009b, \u202e).
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeJsonText, safeJsonStringify, sanitizeBlock } from '../../src/engine/text/terminal-safe.js';
import { ensureBuilt, ROOT } from '../helpers/cli.js';

const EVIL = '\u001b]52;c;cHduZWQ=\u0007\u001b[2J\u0007\u202e\u009b2J';
// What may not appear in text output: C0 controls but TAB/LF (and CR only before LF), DEL, C1, bidi controls.
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/u;
// JSON output: not even LF inside strings is raw (JSON.stringify escapes C0); C1/bidi must be escaped too.
// eslint-disable-next-line no-control-regex
const UNSAFE_JSON = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

const tmp = mkdtempSync(join(tmpdir(), 'oh-term-out-'));
const addons = join(tmp, 'addons');
const stateDir = join(tmp, 'state');
const evilAddon = join(addons, `legacy${EVIL}cron`);
const evilXml = join(evilAddon, 'data', 'ir_cron_data.xml');
const missingXml = join(addons, `gone${EVIL}`, 'data', 'ir_cron_data.xml');
const log = join(tmp, 'odoo.log');
const odooConf = join(tmp, 'odoo.conf');
const yaml = join(tmp, 'config.yaml');

interface Run {
  code: number;
  out: string;
  err: string;
}

/** The built CLI; output collected as bytes and decoded once (no chunk boundary can hide a sequence). */
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'odoo-heal'), ...args, '--config', yaml, '--odoo-config', odooConf], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') }));
  });
}

function firstUnsafe(text: string, re: RegExp): string | null {
  const m = re.exec(text);
  if (!m) return null;
  const at = m.index;
  return `U+${m[0].codePointAt(0)!.toString(16).padStart(4, '0')} at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 20))}`;
}

function expectSafeText(r: Run): void {
  expect(firstUnsafe(r.out, UNSAFE_TEXT)).toBeNull();
  expect(firstUnsafe(r.err, UNSAFE_TEXT)).toBeNull();
}

function expectSafeJson(r: Run): unknown {
  expect(firstUnsafe(r.out, UNSAFE_JSON)).toBeNull();
  expect(firstUnsafe(r.err, UNSAFE_TEXT)).toBeNull();
  return JSON.parse(r.out);
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  ensureBuilt(['src/cli/output.ts', 'src/engine/text/terminal-safe.ts', 'src/cli/commands/fix.ts', 'src/cli/commands/history.ts', 'src/cli/commands/report.ts']);
  mkdirSync(addons);
  cpSync(join(ROOT, 'test', 'fixtures', 'legacy_cron'), evilAddon, { recursive: true });
  const real = readFileSync(join(ROOT, 'test', 'fixtures', 'logs', 'cron_deprecated_field.log'), 'utf8');
  const realPath = '/tmp/realodoo/custom_addons/legacy_cron/data/ir_cron_data.xml';
  expect(real).toContain(realPath);
  // Two forged copies of the real record: one naming a file that does not exist, one the evil addon.
  writeFileSync(log, real.replaceAll(realPath, missingXml) + real.replaceAll(realPath, evilXml));
  const port = await closedPort();
  writeFileSync(odooConf, `[options]\naddons_path = ${addons}\ndata_dir = ${join(tmp, 'data')}\nlogfile = ${log}\ndb_host = 127.0.0.1\ndb_port = ${port}\n`);
  writeFileSync(
    yaml,
    ['odoo:', `  url: http://127.0.0.1:${port}`, 'services: []', 'endpoints: []', 'logs:', '  commands: []', 'probes:', '  timeoutMs: 1000', 'paths:', `  stateDir: ${stateDir}`, ''].join('\n'),
  );
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the shared sanitizer', () => {
  it('sanitizeBlock keeps lines and tabs, drops sequences, controls, lone CR, C1 and bidi', () => {
    expect(sanitizeBlock(`a${EVIL}b\n\tc\r\nd\re`)).toBe('ab\n\tc\nde');
  });

  it('escapeJsonText escapes C1 and bidi losslessly', () => {
    const json = safeJsonStringify({ s: EVIL });
    expect(json).toContain('\\u009b');
    expect(json).toContain('\\u202e');
    expect(firstUnsafe(json, UNSAFE_JSON)).toBeNull();
    expect((JSON.parse(json) as { s: string }).s).toBe(EVIL);
    expect(escapeJsonText('"\u2028"')).toBe('"\\u2028"');
  });
});

describe('a forged record with escape sequences through every command (issue 11, item 4)', () => {
  const ids: { missing?: string; evil?: string } = {};
  let attemptId = '';
  let listJson: Run;

  beforeAll(async () => {
    listJson = await cli('fix', '--log', log, '--json');
    const doc = JSON.parse(listJson.out) as { incidents: { id: string; fix: { params: { file: string } } }[] };
    for (const i of doc.incidents) {
      if (i.fix.params.file === missingXml) ids.missing = i.id;
      if (i.fix.params.file === evilXml) ids.evil = i.id;
    }
  }, 30_000);

  it('fix --json lists both incidents with the path intact but C1/bidi escaped', () => {
    expect(listJson.code).toBe(0);
    expect(ids.missing).toBeDefined();
    expect(ids.evil).toBeDefined();
    expect(listJson.out).toContain('\\u009b');
    expect(listJson.out).toContain('\\u202e');
    expectSafeJson(listJson);
  });

  it('fix (the list) prints the table without the sequences', async () => {
    const r = await cli('fix', '--log', log);
    expect(r.code).toBe(0);
    expectSafeText(r);
  });

  it('fix: the "cannot plan … cannot open" line', async () => {
    const r = await cli('fix', '--log', log, ids.missing!, '--dry-run');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/cannot plan: .*cannot open/);
    // The sequences are removed whole (not only their ESC), the rest of the path stays readable.
    expect(r.out).toContain(`${addons}/gone/data/ir_cron_data.xml: cannot open`);
    expectSafeText(r);
  });

  it('fix --dry-run: the diff header', async () => {
    const r = await cli('fix', '--log', log, ids.evil!, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^--- /m);
    expect(r.out).toContain('-            <field name="numbercall">-1</field>');
    expectSafeText(r);
  });

  it('fix --yes: the result line', async () => {
    const r = await cli('fix', '--log', log, ids.evil!, '--yes');
    expect(r.code).toBe(0);
    const m = /Attempt (a-\d{8}-\d{6}-[0-9a-f]{4}): verified/.exec(r.out);
    expect(m).not.toBeNull();
    attemptId = m![1]!;
    expectSafeText(r);
    // The fix really acted on the file with the hostile name (the sanitizer changes output, not data).
    expect(readFileSync(evilXml, 'utf8')).not.toMatch(/numbercall|doall/);
  });

  it('history and history --json', async () => {
    const h = await cli('history');
    expect(h.code).toBe(0);
    expect(h.out).toContain(attemptId);
    expectSafeText(h);
    const j = await cli('history', '--json');
    expect(j.code).toBe(0);
    const rows = expectSafeJson(j) as { message: string }[];
    expect(rows.some((a) => a.message.includes(EVIL))).toBe(true);
  });

  it('report, report --md and report --json', async () => {
    for (const args of [['report'], ['report', '--md']]) {
      const r = await cli(...args);
      expect(r.code).toBe(0);
      expect(r.out).toContain(attemptId);
      expectSafeText(r);
    }
    const j = await cli('report', '--json');
    expect(j.code).toBe(0);
    expect(j.out).toContain('\\u202e');
    const doc = expectSafeJson(j) as { attempts: { id: string }[] };
    expect(doc.attempts.some((a) => a.id === attemptId)).toBe(true);
  });

  it('detect and detect --json', async () => {
    const t = await cli('detect', log);
    expect(t.code).toBe(2);
    expectSafeText(t);
    const j = await cli('detect', log, '--json');
    expect(j.code).toBe(2);
    expect(j.out).toContain('\\u009b');
    const doc = expectSafeJson(j) as { incidents: { captures: Record<string, string> }[] };
    expect(doc.incidents.some((i) => i.captures.file === evilXml)).toBe(true);
  });

  it('rollback prints the restored path without the sequences', async () => {
    const r = await cli('rollback', attemptId);
    expect(r.code).toBe(0);
    expectSafeText(r);
  });
});

describe('every writer of the command line goes through src/cli/output.ts', () => {
  it('no file under src/cli/ but output.ts touches process.stdout / process.stderr', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.tsx?$/.test(e.name) && p !== join(ROOT, 'src', 'cli', 'output.ts')) {
          readFileSync(p, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (/process\.std(out|err)\b/.test(line)) offenders.push(`${p.slice(ROOT.length + 1)}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    walk(join(ROOT, 'src', 'cli'));
    // Write with print / printErr / printJson (src/cli/output.ts): they make log text safe for a terminal.
    expect(offenders).toEqual([]);
  });
});
