import { describe, expect, it } from 'vitest';
import { lineChart, rangeOf, sparkline } from '../../src/ui/charts.js';
import { bar, formatBytes, formatDuration } from '../../src/ui/format.js';
import { actionFor, footerHints, KEYMAP } from '../../src/ui/keymap.js';
import { computeLayout, tooSmall } from '../../src/ui/layout.js';
import { sanitizeText } from '../../src/ui/sanitize.js';
import { colorWanted } from '../../src/ui/theme.js';
import { databaseView, diskView, memoryView, processView, visibleLogRows } from '../../src/ui/view-models.js';
import { databaseData, diskData, memoryData, probe, processData, rawRecord, tailFromFixture } from './harness.js';
import type { Key } from 'ink';

describe('sanitizeText', () => {
  it('removes CSI, OSC (title, hyperlink), DCS, C1 and C0 controls and bidi overrides, keeping the text', () => {
    const evil =
      'a\u001B[31mred\u001B[0m b\u001B]0;pwned\u0007c \u001B]8;;http://x\u001B\\link\u001B]8;;\u001B\\ ' +
      '\u001BP1$r0m\u001B\\d \u009B2Je \u0007\u0008f \u202Eg\u202C \u2066h\u2069 \u001B[?1049l';
    const out = sanitizeText(evil);
    expect(out).toBe('ared bc link d e f g h ');
    expect(out).not.toMatch(/[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/);
  });

  it('expands tabs and keeps ordinary unicode', () => {
    expect(sanitizeText('a\tb — é 日本')).toBe('a    b — é 日本');
  });

  it('leaves no ESC behind from an unterminated OSC', () => {
    expect(sanitizeText('x\u001B]0;never ends')).not.toContain('\u001B');
  });
});

describe('charts', () => {
  it('sparkline scales to the given range, clamps, and right-aligns the newest values', () => {
    expect(sparkline([0, 50, 100], 3, { min: 0, max: 100 })).toBe('▁▅█');
    expect(sparkline([150, -5], 2, { min: 0, max: 100 })).toBe('█▁');
    expect(sparkline([10], 4, { min: 0, max: 100 })).toBe('   ▁');
    expect(sparkline([1, 2, 3, 4, 5, 6], 3, { min: 0, max: 6 })).toBe('▆▇█');
    // small values on a fixed 0..100 scale stay low instead of filling the chart
    expect(sparkline([0.1, 0.5, 0.9], 3, { min: 0, max: 100 })).toBe('▁▁▁');
    expect(sparkline([1, NaN, 1], 3, { min: 0, max: 1 })).toBe('█ █');
  });

  it('rangeOf covers the largest value (latency in ms, bytes alike)', () => {
    expect(rangeOf([1, 20, 3])).toEqual({ min: 0, max: 20 });
    expect(rangeOf([9e9, 1])).toEqual({ min: 0, max: 9e9 });
    expect(sparkline([9e9, 4.5e9], 2, rangeOf([9e9, 4.5e9]))).toBe('█▅');
  });

  it('lineChart is exactly width x height', () => {
    const lines = lineChart([10, 50, 90, 20], { width: 30, height: 6, range: { min: 0, max: 100 } });
    expect(lines).toHaveLength(6);
    for (const l of lines) expect(l.length).toBe(30);
    expect(lineChart([], { width: 30, height: 6, range: { min: 0, max: 100 } })).toEqual([]);
  });
});

describe('format', () => {
  it('formats bytes, durations and bars', () => {
    expect(formatBytes(1536)).toBe('1.5K');
    expect(formatBytes(700 * 1024 ** 2)).toBe('700M');
    expect(formatDuration(3 * 3600 + 12 * 60)).toBe('3h12m');
    expect(formatDuration(26 * 3600)).toBe('1d2h');
    expect(bar(0.5, 10)).toBe('█████░░░░░');
    expect(bar(2, 4)).toBe('████');
    expect(bar(null, 3)).toBe('···');
  });
});

describe('keymap', () => {
  const key = (over: Partial<Key> = {}): Key =>
    ({ upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false,
      home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false,
      backspace: false, delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false,
      ...over }) as Key;

  it('maps every issue key to one action', () => {
    expect(actionFor('j', key())).toBe('down');
    expect(actionFor('', key({ upArrow: true }))).toBe('up');
    expect(actionFor('', key({ return: true }))).toBe('open');
    expect(actionFor('f', key())).toBe('plan');
    expect(actionFor('y', key())).toBe('confirm');
    expect(actionFor('n', key())).toBe('cancel');
    expect(actionFor('u', key())).toBe('rollback');
    expect(actionFor('i', key())).toBe('snooze');
    expect(actionFor('A', key({ shift: true }))).toBe('autoHeal');
    expect(actionFor('/', key())).toBe('filter');
    expect(actionFor('L', key({ shift: true }))).toBe('level');
    expect(actionFor(' ', key())).toBe('pause');
    expect(actionFor('', key({ tab: true }))).toBe('focus');
    expect(actionFor('?', key())).toBe('help');
    expect(actionFor('q', key())).toBe('quit');
    expect(actionFor('c', key({ ctrl: true }))).toBe('quit');
    expect(actionFor('z', key())).toBeNull();
  });

  it('has one binding per action and footers drawn from it', () => {
    const actions = KEYMAP.map((b) => b.action);
    expect(new Set(actions).size).toBe(actions.length);
    expect(footerHints('browse')).toContain('f fix');
    expect(footerHints('prompt')).toContain('y yes');
    expect(footerHints('browse')).not.toContain('y yes');
  });
});

describe('layout', () => {
  it('gives the rows to the incidents and the log; charts only on a tall terminal (issue 12 §7)', () => {
    const at = (c: number, r: number) => computeLayout(c, r);
    // 120x40 used to spend 12 rows on the top panes (an 11-row memory chart of a flat line) and 10 on incidents.
    expect(at(120, 40).top.height).toBe(8);
    expect(at(120, 40).queueHeight).toBeGreaterThanOrEqual(12);
    expect(at(120, 40).logHeight).toBeGreaterThanOrEqual(15);
    expect(at(120, 40).top.charts).toBe(false);
    expect(at(80, 24)).toMatchObject({ top: { height: 7, charts: false }, queueHeight: 6, logHeight: 7 });
    const tall = at(200, 60);
    expect(tall.top.charts).toBe(true);
    expect(tall.top.height).toBeLessThanOrEqual(14);
    expect(tall.queueHeight + tall.logHeight).toBeGreaterThanOrEqual(3 * tall.top.height);
    for (const r of [24, 30, 40, 49, 50, 60, 90]) {
      const l = at(120, r);
      expect(l.queueHeight + l.logHeight, `${r} rows`).toBeGreaterThan(l.top.height);
    }
  });

  it('keeps the root one row shorter than the terminal and adds up', () => {
    for (const [c, r] of [[80, 24], [120, 40], [160, 50], [300, 90]] as const) {
      const l = computeLayout(c, r);
      expect(l.height).toBe(r - 1);
      expect(1 + l.top.height + l.queueHeight + l.logHeight + 2).toBe(l.height);
      const widths = l.top.columns === 4 ? l.top.process + l.top.database + l.top.memory + l.top.disk + 3 : l.top.process + l.top.database + l.top.memory + 2;
      expect(widths).toBe(c);
      expect(l.logHeight).toBeGreaterThanOrEqual(4);
    }
    expect(tooSmall(79, 24)).toBe(true);
    expect(tooSmall(80, 23)).toBe(true);
    expect(tooSmall(80, 24)).toBe(false);
  });
});

describe('theme', () => {
  it('respects NO_COLOR (non-empty) and --no-color', () => {
    expect(colorWanted({})).toBe(true);
    expect(colorWanted({ NO_COLOR: '1' })).toBe(false);
    expect(colorWanted({ NO_COLOR: '' })).toBe(true);
    expect(colorWanted({}, false)).toBe(false);
  });
});

describe('view-models read the probes’ data types', () => {
  it('process: main first, then workers with role, cpu, rss and age', () => {
    const v = processView(probe('process', 'ok', '', processData(3)), Date.now());
    expect(v?.mode).toBe('prefork');
    expect(v?.rows.map((r) => r.kind)).toEqual(['master', 'http', 'http', 'http']);
    expect(v?.rows[0]).toMatchObject({ pid: 4100, rssBytes: 180 * 1024 * 1024, ageSeconds: 3 * 3600 + 12 * 60 });
    expect(v?.expectedWorkers).toBe(3);
    // VMS as a share of limit_memory_soft (450M of 2G), busy time from the probe's since.
    expect(v?.rows[1]!.vmsOfSoft).toBeCloseTo(450 / 2048, 5);
    expect(v?.rows[1]).toMatchObject({ busy: true, busySeconds: 12 });
    expect(v?.rows[2]).toMatchObject({ busy: false, busySeconds: null });
    expect(v?.roles).toEqual({ http: { have: 3, want: 3 }, cron: { have: 0, want: 0 }, gevent: { have: 0, want: 1 } });
    expect(processView(probe('process', 'unknown', 'timed out', null), 0)).toBeNull();
  });

  it('database: up with slot ratio; down when the probe reports an error', () => {
    const up = databaseView(probe('database', 'ok', '', databaseData({ idleInTransaction: [{ pid: 1, idleSeconds: 90, transactionSeconds: 100, database: 'x', usename: 'odoo', applicationName: null }] })));
    expect(up).toMatchObject({ up: true, connectionsUsed: 12, connectionsMax: 100, idleInTransaction: 1, longQueries: 0 });
    expect(up?.connectionsRatio).toBeCloseTo(0.124);
    const down = databaseView(
      probe('database', 'critical', 'PostgreSQL is down', databaseData({ latencyMs: null, connections: null, error: { code: 'ECONNREFUSED', message: 'connection refused' } })),
    );
    expect(down).toMatchObject({ up: false, error: 'connection refused' });
    expect(databaseView(probe('database', 'critical', 'down', null))?.up).toBe(false);
  });

  it('disk and memory', () => {
    expect(diskView(probe('disk', 'ok', '', diskData(90)))?.[0]).toMatchObject({ mount: '/', usedRatio: 0.9, inodeRatio: 0.1 });
    expect(memoryView(probe('memory', 'ok', '', memoryData(40)))).toMatchObject({ usedRatio: 0.4, odooRssLimitBytes: 8 * 1024 ** 3 });
  });
});

describe('visibleLogRows', () => {
  const tail = tailFromFixture('db_connection_threaded.log');

  it('collapses a traceback to its exception line and expands on request', () => {
    const withTrace = tail.filter((e) => e.record.exception && e.record.lines.length > 3);
    expect(withTrace.length).toBeGreaterThan(0);
    const one = [withTrace[0]!];
    const collapsed = visibleLogRows(one, { text: '', minLevel: 'DEBUG', untilSeq: null }, { height: 50, skip: 0, expanded: false });
    expect(collapsed.rows).toHaveLength(2);
    expect(collapsed.rows[1]!.text).toContain(withTrace[0]!.record.exception!);
    const expanded = visibleLogRows(one, { text: '', minLevel: 'DEBUG', untilSeq: null }, { height: 500, skip: 0, expanded: true });
    expect(expanded.rows).toHaveLength(withTrace[0]!.record.lines.length);
  });

  it('returns only what fits, newest last, and filters by level, text and pause point', () => {
    const r = visibleLogRows(tail, { text: '', minLevel: 'DEBUG', untilSeq: null }, { height: 5, skip: 0, expanded: false });
    expect(r.rows).toHaveLength(5);
    const errors = visibleLogRows(tail, { text: '', minLevel: 'ERROR', untilSeq: null }, { height: 1000, skip: 0, expanded: false });
    expect(errors.rows.filter((x) => !x.continuation).every((x) => x.level === 'ERROR' || x.level === 'CRITICAL')).toBe(true);
    const text = visibleLogRows(tail, { text: 'OPERATIONALERROR', minLevel: 'DEBUG', untilSeq: null }, { height: 1000, skip: 0, expanded: true });
    expect(text.rows.length).toBeGreaterThan(0);
    const paused = visibleLogRows(tail, { text: '', minLevel: 'DEBUG', untilSeq: 3 }, { height: 1000, skip: 0, expanded: false });
    expect(paused.matched).toBe(3);
    const raw = visibleLogRows([{ seq: 1, record: rawRecord('Traceback', ['Traceback', '  x', 'ValueError: boom'], 'ValueError: boom') }], { text: '', minLevel: 'ERROR', untilSeq: null }, { height: 5, skip: 0, expanded: false });
    expect(raw.rows).toHaveLength(2);
  });
});
