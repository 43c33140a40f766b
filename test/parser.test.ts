import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseText, createAssembler } from '../src/engine/logs/parser.js';
import { LogReadError, readRecordBatches, readStreamBatches } from '../src/engine/logs/read-records.js';
import type { LogRecord, OdooRecord, RawRecord } from '../src/engine/core/types.js';

const LOGS = join(import.meta.dirname, 'fixtures', 'logs');
const read = (name: string): string => readFileSync(join(LOGS, name), 'utf8');
const parse = (name: string): LogRecord[] => parseText(read(name), name);
const odoo = (r: LogRecord | undefined): OdooRecord => {
  expect(r?.kind).toBe('odoo');
  return r as OdooRecord;
};

const tmp = mkdtempSync(join(tmpdir(), 'oh-parser-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parser on the real Odoo 18 logs', () => {
  it('groups every file into the expected number of records and never drops a line', () => {
    const expected: Record<string, number> = {
      'baseline_install_base.log': 176,
      'baseline_prefork_server.log': 42,
      'baseline_threaded_server.log': 25,
      'cron_deprecated_field.log': 21,
      'cron_deprecated_field_fixed.log': 23,
      'db_connection_threaded.log': 86,
      'db_connection_threaded.stdout.log': 3,
      'db_not_initialized.log': 11,
      'disk_full_filestore.log': 29,
      'module_not_found_external_dependency.log': 16,
      'module_not_found_no_such_module.log': 18,
      'module_states_not_loaded.log': 19,
      'permission_denied_filestore.log': 47,
      'python_syntax_error.log': 32,
      'registry_reload_loop.log': 248,
      'registry_signaling.log': 64,
      'threaded_request_time_limit.log': 39,
      'too_many_db_connections.log': 445,
      'unclassified_route_and_cron.log': 26,
      'websocket_not_evented.log': 2,
      'worker_limit_time.log': 64,
      'worker_max_request.log': 47,
      'worker_memory_respawn_loop.log': 549,
    };
    expect(readdirSync(LOGS).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, count] of Object.entries(expected)) {
      const text = read(name);
      const records = parseText(text, name);
      expect(records.length, name).toBe(count);
      const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
      expect(records.flatMap((r) => r.lines), name).toEqual(lines);
      // Baselines and the fixed run are all Odoo records.
      if (name.startsWith('baseline_') || name === 'cron_deprecated_field_fixed.log') {
        expect(records.every((r) => r.kind === 'odoo')).toBe(true);
      }
    }
  });

  it('reads the header fields of the deprecated-cron record and its final exception', () => {
    const r = odoo(parse('cron_deprecated_field.log').find((x) => x.line === 18));
    expect(r).toMatchObject({
      time: Date.UTC(2026, 10, 28, 19, 59, 44, 307),
      pid: 9324,
      level: 'CRITICAL',
      db: 'healdb',
      logger: 'odoo.service.server',
      message: 'Failed to initialize database `healdb`.',
    });
    // The ParseError, not the XML lines after it, not the ValueError of the first traceback.
    expect(r.exception).toBe(
      'odoo.tools.convert.ParseError: while parsing /tmp/realodoo/custom_addons/legacy_cron/data/ir_cron_data.xml:4, somewhere inside',
    );
    expect(r.lines.at(-1)).toBe('        </record>');
  });

  it('maps db `?` to null and cuts the perf numbers off werkzeug lines', () => {
    const records = parse('baseline_threaded_server.log');
    expect(odoo(records[0]).db).toBeNull();
    expect(odoo(records[0]).message).toBe('Odoo version 18.0');
    const health = odoo(records.find((r) => r.kind === 'odoo' && r.logger === 'werkzeug'));
    expect(health.message).toBe('127.0.0.1 - - [28/Nov/2026 19:52:36] "GET /web/health HTTP/1.1" 200 -');
    expect(health.lines[0]).toMatch(/ 200 - \d+ \d\.\d{3} \d\.\d{3}$/);
  });

  it('takes the last exception of chained tracebacks, not the tab-indented PostgreSQL lines', () => {
    const db = parse('db_connection_threaded.log');
    const first = odoo(db.find((r) => r.line === 75));
    expect(first.message).toBe('Database or registry unusable, trying without');
    expect(first.exception).toBe(
      'psycopg2.OperationalError: connection to server at "127.0.0.1", port 55432 failed: Connection refused',
    );
    expect(first.lines).toContain('\tIs the server running on that host and accepting TCP/IP connections?');

    const disk = odoo(parse('disk_full_filestore.log').find((r) => r.line === 33));
    expect(disk.exception).toBe('OSError: [Errno 28] No space left on device');

    const ext = odoo(parse('module_not_found_external_dependency.log').find((r) => r.line === 13));
    expect(ext.exception).toMatch(/^odoo\.exceptions\.UserError: Unable to install module "ext_dep_missing"/);

    const syntax = odoo(parse('python_syntax_error.log').find((r) => r.line === 50));
    expect(syntax.exception).toBe("SyntaxError: expected ':'");

    // Records without a traceback have no exception.
    expect(parse('baseline_install_base.log').every((r) => r.exception === null)).toBe(true);
  });

  it('groups each crashed cron thread on stderr into one raw record with its exception', () => {
    const records = parse('db_connection_threaded.stdout.log') as RawRecord[];
    expect(records.map((r) => [r.kind, r.line, r.lines.length])).toEqual([
      ['raw', 1, 1],
      ['raw', 2, 14],
      ['raw', 16, 14],
    ]);
    expect(records[1]!.message).toBe('Exception in thread odoo.service.cron.cron0:');
    expect(records[1]!.exception).toBe('psycopg2.OperationalError: server closed the connection unexpectedly');
    expect(records[1]!.time).toBeNull();
    expect(records[2]!.message).toBe('Exception in thread odoo.service.cron.cron1:');
  });
});

describe('parser on wrapped and damaged input', () => {
  const odooLines = read('db_connection_threaded.log').split('\n').slice(73, 103); // records at 74, 75, ...

  it('strips journald short-iso prefixes and keeps the Odoo record intact', () => {
    const plain = parseText(`${odooLines.join('\n')}\n`, 's'); // keeps the final empty line, as the wrapped one does
    const wrapped = parseText(odooLines.map((l) => `2026-11-28T19:54:00+0000 srv odoo[8378]: ${l}`).join('\n'), 's');
    expect(wrapped.map((r) => ({ ...r }))).toEqual(plain.map((r) => ({ ...r })));
    expect(odoo(wrapped[1]).exception).toMatch(/Connection refused$/);
  });

  it('reads raw stderr inside journald/docker prefixes with the prefix time', () => {
    const stderr = read('db_connection_threaded.stdout.log').split('\n').slice(1, 15);
    const journald = parseText(stderr.map((l) => `2026-11-28T19:53:58+0000 srv odoo[8378]: ${l}`).join('\n'), 'j');
    expect(journald).toHaveLength(1);
    expect(journald[0]).toMatchObject({
      kind: 'raw',
      time: Date.UTC(2026, 10, 28, 19, 53, 58),
      message: 'Exception in thread odoo.service.cron.cron0:',
      exception: 'psycopg2.OperationalError: server closed the connection unexpectedly',
    });
    const docker = parseText(stderr.map((l) => `2026-11-28T19:53:58.123456789Z ${l}`).join('\n'), 'd');
    expect(docker).toHaveLength(1);
    expect(docker[0]).toMatchObject({ kind: 'raw', time: Date.UTC(2026, 10, 28, 19, 53, 58, 123) });
    // An Odoo record inside a docker prefix keeps Odoo's own time.
    const inDocker = parseText(`2026-11-28T19:59:00.5Z ${odooLines[0]}`, 'd');
    expect(odoo(inDocker[0]).time).toBe(Date.UTC(2026, 10, 28, 19, 54, 0, 681));
  });

  it('survives a log cut mid-line and binary garbage without losing records', () => {
    const text = read('disk_full_filestore.log');
    const cut = text.slice(0, text.indexOf('2026-11-28 20:14:25,469') + 15); // ends inside a header
    const records = parseText(cut, 'cut');
    expect(records.at(-1)!.lines.at(-1)).toBe('2026-11-28 20:1');
    const garbage = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919 + 13) % 256)).toString('latin1');
    const mixed = parseText(`${garbage}\n${odooLines.join('\n')}\n\u0000\u0001${garbage}`, 'g');
    expect(mixed.filter((r) => r.kind === 'odoo').length).toBeGreaterThanOrEqual(2);
    expect(mixed.flatMap((r) => r.lines).join('\n')).toContain(odooLines[0]);
  });

  it('push/flush assemble the same records as parseText', () => {
    const text = read('permission_denied_filestore.log');
    const asm = createAssembler('p');
    const out: LogRecord[] = [];
    for (const line of text.slice(0, -1).split('\n')) out.push(...asm.push(line));
    out.push(...asm.flush());
    expect(out).toEqual(parseText(text, 'p'));
    expect(asm.flush()).toEqual([]);
  });
});

describe('read-records', () => {
  it('streams a file into the same records as parseText', async () => {
    for (const name of ['too_many_db_connections.log', 'db_connection_threaded.stdout.log']) {
      const got: LogRecord[] = [];
      for await (const batch of readRecordBatches(join(LOGS, name))) got.push(...batch);
      expect(got).toEqual(parseText(read(name), join(LOGS, name)));
    }
  });

  it('handles chunks that split lines and multi-byte characters', async () => {
    const text = `${read('module_not_found_no_such_module.log')}2026-11-28 20:02:14,600 9860 WARNING healdb odoo.x: café ✓ ünïcode \n`;
    const bytes = Buffer.from(text, 'utf8');
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
    const got: LogRecord[] = [];
    for await (const batch of readStreamBatches(Readable.from(chunks), 's')) got.push(...batch);
    expect(got).toEqual(parseText(text, 's'));
    expect(odoo(got.at(-1)).message).toBe('café ✓ ünïcode');
  });

  it('gives a one-line error naming an unreadable file', async () => {
    const missing = join(tmp, 'missing.log');
    await expect(readRecordBatches(missing).next()).rejects.toThrow(new LogReadError(missing, { code: 'ENOENT' }).message);
    expect(new LogReadError(missing, { code: 'ENOENT' }).message).toBe(`${missing}: cannot read log: no such file`);
    if (process.getuid?.() !== 0) {
      const locked = join(tmp, 'locked.log');
      writeFileSync(locked, 'x\n');
      chmodSync(locked, 0o000);
      await expect(readRecordBatches(locked).next()).rejects.toThrow(`${locked}: cannot read log: permission denied`);
    }
    await expect(readRecordBatches(tmp).next()).rejects.toThrow(/cannot read log: is a directory/);
  });
});

describe('record times', () => {
  it('reads Odoo timestamps in the host time zone, as Odoo wrote them (TZ respected)', async () => {
    const { spawnSync } = await import('node:child_process');
    // A child with another TZ: Date's zone is fixed per process.
    const script = `import('${new URL('../src/engine/logs/parser.ts', import.meta.url).pathname}')`;
    void script;
    const line = '2026-11-28 19:59:44,307 9324 CRITICAL healdb odoo.service.server: Failed to initialize database `healdb`.';
    const code = `const { parseText } = await import(${JSON.stringify(new URL('../dist/engine/logs/parser.js', import.meta.url).pathname)});
      process.stdout.write(String(parseText(${JSON.stringify(line)}, 'x')[0].time));`;
    const run = (tz: string) => spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
    const utc = run('UTC');
    const paris = run('Europe/Paris');
    if (utc.status !== 0) throw new Error(utc.stderr);
    expect(Number(utc.stdout)).toBe(Date.UTC(2026, 10, 28, 19, 59, 44, 307));
    // 19:59:44 in Paris (UTC+1 in November) is 18:59:44 UTC.
    expect(Number(paris.stdout)).toBe(Date.UTC(2026, 10, 28, 18, 59, 44, 307));
  });
});
