import { Profiler } from 'react';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineContext } from '../../src/ui/context.js';
import { ProcessPane } from '../../src/ui/process-pane.js';
import { ThemeContext, makeTheme } from '../../src/ui/theme.js';
import type { TailEntry } from '../../src/engine/core/types.js';
import { defaultConfig } from '../../src/engine/config/defaults.js';
import { OdooEventTally } from '../../src/engine/logs/odoo-events.js';
import { judgeLogRates, withLogRates } from '../../src/engine/probes/log-rates.js';
import {
  databaseData,
  diskData,
  frameSize,
  healthyState,
  incident,
  intentsDouble,
  KEY,
  memoryData,
  mount,
  newStore,
  NOW,
  probe,
  processData,
  rawRecord,
  tailFromFixture,
  tick,
  type Mounted,
} from './harness.js';

const mounted: Mounted[] = [];
async function open(...args: Parameters<typeof mount>): Promise<Mounted> {
  const m = await mount(...args);
  mounted.push(m);
  return m;
}
afterEach(() => {
  for (const m of mounted.splice(0)) m.instance.unmount();
});

function expectFits(frame: string, columns: number, rows: number) {
  const size = frameSize(frame);
  // Root box is rows-1 tall (Ink 6 repaints the scrollback when the output fills the screen).
  expect(size.rows).toBeLessThanOrEqual(rows - 1);
  expect(size.width).toBeLessThanOrEqual(columns);
}

describe('console panes from store states', () => {
  it('healthy: header, every pane, fits 80x24', async () => {
    const store = newStore();
    healthyState(store);
    const m = await open(store, intentsDouble());
    const f = m.frame();
    expectFits(f, 80, 24);
    expect(f).toContain('odoo-prod-1');
    expect(f).toContain('Odoo 18.0 prefork');
    expect(f).toContain('● OK');
    expect(f).toContain('auto-heal off');
    expect(f).toContain('up 3h12m');
    expect(f).toMatch(/\d\d:\d\d:\d\d/);
    // Role, CPU, RSS and VMS as a share of limit_memory_soft (450M of 2G) fit 80 columns.
    expect(f).toMatch(/4100\s+master\s+3%\s+180M\s+22%/);
    expect(f).toContain('● UP 1.8ms');
    expect(f).toMatch(/conn █+░+ 12\/100/);
    expect(f).toContain('Memory 38%');
    expect(f).toContain('Disk');
    expect(f).toContain('no incidents');
    // the last record of the baseline log is at the bottom of the tail
    expect(f).toContain('Worker (8264) exiting');
  });

  it('degraded: warning header, incident queue with count, age, status and fix', async () => {
    const store = newStore();
    healthyState(store);
    store.setState((s) => ({
      probes: {
        ...s.probes,
        disk: probe('disk', 'warning', '/var/lib/odoo 92% full', diskData(82)),
        database: probe('database', 'warning', '2 sessions idle in transaction', databaseData({
          idleInTransaction: [1, 2].map((pid) => ({ pid, idleSeconds: 900, transactionSeconds: 900, database: 'healdb', usename: 'odoo', applicationName: null })),
        })),
      },
      incidents: {
        'i-00000001': incident('i-00000001', { title: 'Cron uses removed numbercall field', count: 12, firstSeen: NOW - 3 * 3600_000 }),
        'i-00000002': incident('i-00000002', { title: 'Old snoozed thing', status: 'snoozed', severity: 'info', fix: null }),
      },
    }));
    const m = await open(store, intentsDouble());
    const f = m.frame();
    expectFits(f, 80, 24);
    expect(f).toContain('● WARNING');
    expect(f).toContain('1 open · 1 snoozed');
    expect(f).toMatch(/› WARN Cron uses removed numbercall field\s+×12\s+3h00m open\s+cron-deprecat/);
    expect(f).toMatch(/INFO Old snoozed thing\s+×1\s+5m snoozed\s+—/);
    expect(f).toContain('idle-tx 2');
    expect(f).toMatch(/…b\/odoo █+░* +92%/);
  });

  it('DB down: says DOWN with the reason, header critical', async () => {
    const store = newStore();
    healthyState(store);
    store.setState((s) => ({
      probes: {
        ...s.probes,
        database: probe('database', 'critical', 'PostgreSQL refuses connections on 127.0.0.1:5432', databaseData({
          latencyMs: null,
          connections: null,
          error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
        })),
      },
    }));
    const m = await open(store, intentsDouble());
    const f = m.frame();
    expectFits(f, 80, 24);
    expect(f).toContain('● CRITICAL');
    expect(f).toContain('● DOWN');
    expect(f).toContain('PostgreSQL refuses');
    expect(f).not.toContain('conn █');
  });

  it('before the first probe: panes say they wait, header says STARTING', async () => {
    const m = await open(newStore(), intentsDouble());
    const f = m.frame();
    expectFits(f, 80, 24);
    expect(f).toContain('● STARTING');
    expect(f).toContain('waiting for the first probe');
    expect(f).toContain('no log records yet');
  });

  it('many workers (40): a window with the hidden count, scrollable when focused; more rows when taller', async () => {
    const store = newStore();
    healthyState(store);
    store.setState((s) => ({ probes: { ...s.probes, process: probe('process', 'ok', '40 workers', processData(40)) } }));
    const m = await open(store, intentsDouble());
    let f = m.frame();
    expectFits(f, 80, 24);
    expect(f).toContain('40/40h 0/0c');
    expect(f).toMatch(/\+\d+ more \(tab to scroll\)/);
    expect(f).not.toContain('4239 ');
    await m.press(KEY.tab, KEY.tab); // queue → log → process
    f = m.frame();
    expect(f).toContain('▶Process');
    await m.press(...Array<string>(45).fill('j'));
    f = m.frame();
    expect(f).toContain('4239 ');
    expect(f).not.toContain('4100 ');

    const big = await open(store, intentsDouble(), { columns: 160, rows: 50 });
    const bf = big.frame();
    expectFits(bf, 160, 50);
    const shown = (s: string) => (s.match(/^42\d\d /gm) ?? []).length;
    expect(shown(bf)).toBeGreaterThan(shown(m.frame()));
    // Wider: each HTTP worker's state (busy for how long, or idle) and the age.
    expect(bf).toMatch(/busy\s+age/);
    expect(bf).toMatch(/4200\s+http\s+3%\s+180M\s+22%\s+12s\s+10m/);
    expect(bf).toMatch(/4201\s+http\s+3%\s+180M\s+22%\s+idle\s+10m/);
  });

  it('a prefork server as odoo.conf sets it up: every role labelled and counted at 80x24, limits when there is room', async () => {
    const store = newStore();
    healthyState(store);
    const d = processData(2);
    d.workers = [...d.workers, { ...d.workers[0]!, pid: 4300, role: 'cron', activity: null }, { ...d.workers[0]!, pid: 4301, role: 'gevent', activity: null }];
    d.expected = { http: 2, cron: 1, gevent: true };
    d.counts = { http: 2, cron: 1, untitled: 0, gevent: 1 };
    store.setState((s) => ({ probes: { ...s.probes, process: probe('process', 'ok', 'prefork', d) } }));
    const m = await open(store, intentsDouble());
    const f = m.frame();
    expectFits(f, 80, 24);
    expect(f).toContain('2/2h 1/1c');
    for (const [pid, role] of [['4100', 'master'], ['4200', 'http'], ['4201', 'http'], ['4300', 'cron'], ['4301', 'gevent']]) {
      expect(f).toMatch(new RegExp(`${pid}\\s+${role}\\s`));
    }
    // gevent is not subject to limit_memory_soft: its VMS shows in bytes, not as a share.
    expect(f).toMatch(/4301\s+gevent\s+3%\s+180M\s+450M/);
    const tall = await open(store, intentsDouble(), { columns: 120, rows: 40 });
    const tf = tall.frame();
    expect(tf).toContain('1/2 busy · soft 2.0G hard 2.5G');
    expect(tf).toMatch(/4200\s+http\s+3%\s+180M\s+22%\s+12s/);
  });

  it('the process pane carries the recycle rates from the log, in the short form at 80x24', async () => {
    const store = newStore();
    healthyState(store);
    const tally = new OdooEventTally();
    for (const { record } of tailFromFixture('worker_memory_respawn_loop.log')) tally.add(record);
    const end = Date.parse('2026-12-02T12:36:35');
    const result = withLogRates(probe('process', 'ok', 'prefork', processData(2)), judgeLogRates(tally, end, defaultConfig().thresholds));
    store.setState((s) => ({ probes: { ...s.probes, process: result } }));
    const f = (await open(store, intentsDouble())).frame();
    expectFits(f, 80, 24);
    expect(f).toContain('rcy/h 126m 4t');
  });

  it('a threaded server shows its request threads and the oldest\'s age, yellow past limit_time_real', async () => {
    const store = newStore();
    healthyState(store);
    const d = { ...processData(0), mode: 'threaded' as const, httpLoad: null, expected: { http: 0, cron: 0, gevent: false } };
    d.requestThreads = { count: 2, oldestSeconds: 150, oldestTid: 17590, serverThreads: 3, websockets: 1, exact: true };
    const result = probe('process', 'warning', 'threaded', d);
    result.findings = [{ key: 'request-thread-old', severity: 'warning', title: 't', detail: 'd', hint: 'h', category: 'worker' }];
    store.setState((s) => ({ probes: { ...s.probes, process: result } }));
    const f = (await open(store, intentsDouble())).frame();
    expectFits(f, 80, 24);
    expect(f).toContain('req 2 oldest 2m');
  });

  it('the database pane carries the scheduled actions line: overdue / failing / running', async () => {
    const store = newStore();
    healthyState(store);
    const job = { database: 'healdb', id: 1, name: 'x', active: true, intervalSeconds: 60, lateSeconds: 9000, sinceLastSeconds: null, failureCount: 0, failingSeconds: null, running: null };
    const crons = [{ database: 'healdb', activeCount: 3, activeIds: [1, 2, 3], overdue: [job], failing: [], running: [{ ...job, id: 2 }], stuck: [], tracksFailures: true }];
    store.setState((s) => ({ probes: { ...s.probes, odoo_db: probe('odoo_db', 'critical', 'x', { databases: ['healdb'], truncated: false, crons, queues: [], filestore: null, filestoreAt: null, queriedAt: 0, stuckAfterSeconds: 120, errors: [] }) } }));
    const m = await open(store, intentsDouble());
    const f = m.frame();
    expectFits(f, 80, 24);
    expect(f).toContain('cron late 1 fail 0 run 1');
  });

  it('long lines are cut to the width, never wrapped', async () => {
    const store = newStore();
    healthyState(store);
    const long = 'x'.repeat(600);
    const tail: TailEntry[] = [...store.getState().tail, { seq: 999, record: rawRecord(`START ${long} END`) }];
    store.setState({
      hostname: `host-${'h'.repeat(200)}`,
      tail,
      incidents: { a: incident('a', { title: `T ${'t'.repeat(300)}` }) },
    });
    for (const size of [
      { columns: 80, rows: 24 },
      { columns: 132, rows: 43 },
    ]) {
      const m = await open(store, intentsDouble(), size);
      const f = m.frame();
      expectFits(f, size.columns, size.rows);
      expect(f).toContain('START xxx');
      expect(f).not.toContain('END');
      // the line after the long record is the status line, not a continuation of x's
      const lines = f.split('\n');
      expect(lines.filter((l) => /^x{10}/.test(l))).toHaveLength(0);
    }
  });

  it('escape sequences and bidi overrides in log lines never reach the frame raw', async () => {
    const store = newStore();
    healthyState(store);
    const hostile = [
      'login failed for \u001B[2J\u001B[31muser\u001B[0m',
      'title \u001B]0;owned\u0007 and link \u001B]8;;http://evil\u001B\\click\u001B]8;;\u001B\\',
      'dcs \u001BP+q544e\u001B\\ c1 \u009B6n bell\u0007 bs\u0008',
      'bidi \u202Eevil\u202C iso \u2066x\u2069 alt \u001B[?1049l',
    ];
    store.setState((s) => ({
      tail: [
        ...s.tail,
        ...hostile.map((line, i) => ({ seq: 1000 + i, record: rawRecord(line) })),
        {
          seq: 2000,
          record: {
            ...s.tail[s.tail.length - 1]!.record,
            lines: ['first', 'Traceback \u001B]52;c;Y2xpcGJvYXJk\u0007', 'ValueError: \u001B[5mblink'],
            exception: 'ValueError: \u001B[5mblink',
          },
        },
      ],
      incidents: { a: incident('a', { title: 'bad \u001B[31mtitle\u202E' }) },
    }));
    const m = await open(store, intentsDouble(), { columns: 120, rows: 40 });
    const f = m.frame();
    // Colours are off in this render, so the frame must hold no escape or control character at all.
    expect(f).not.toMatch(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/);
    expect(f).toContain('login failed for user');
    expect(f).toContain('title  and link click');
    expect(f).toContain('↳ ValueError: blink');
    expect(f).toContain('bad title');
  });

  it('tracebacks are collapsed to their exception line; e expands them', async () => {
    const store = newStore();
    const tail = tailFromFixture('db_connection_threaded.log');
    const traced = tail.filter((e) => e.record.exception && e.record.lines.length > 5);
    const last = traced[traced.length - 1]!;
    store.setState({ tail: tail.slice(0, tail.indexOf(last) + 1) });
    const m = await open(store, intentsDouble(), { columns: 120, rows: 50 });
    expect(m.frame()).toContain(`↳ ${last.record.exception!.slice(0, 40)}`);
    expect(m.frame()).toContain(`[+${last.record.lines.length - 1} lines]`);
    expect(m.frame()).not.toContain('Traceback (most recent call last)');
    await m.press('e');
    expect(m.frame()).toContain(last.record.lines[last.record.lines.length - 1]!.trim().slice(0, 40));
    expect(m.frame()).not.toContain('↳');
  });

  it('renders only basic colours (no 256/true-colour) when colour is on, none when off', async () => {
    const chalk = (await import('chalk')).default;
    const level = chalk.level;
    chalk.level = 3; // as in a true-colour terminal: we must still send only the 16 basic colours
    try {
      const store = newStore();
      healthyState(store);
      store.setState({ incidents: { a: incident('a', { severity: 'critical' }) } });
      const colored = await open(store, intentsDouble(), { columns: 80, rows: 24 }, true);
      const f = colored.frame();
      expect(f).toMatch(/\u001B\[3[1-7]m/);
      expect(f).not.toMatch(/\u001B\[[34]8;[25];/);
      const plain = await open(store, intentsDouble(), { columns: 80, rows: 24 }, false);
      expect(plain.frame()).not.toMatch(/\u001B\[(3[0-7]|9[0-7]|4[0-7])m/);
    } finally {
      chalk.level = level;
    }
  });

  it('below 80x24 says so; resizes live', async () => {
    const store = newStore();
    healthyState(store);
    const m = await open(store, intentsDouble(), { columns: 70, rows: 20 });
    expect(m.frame()).toContain('needs a terminal of at least 80x24 (this one is 70x20)');
    m.stdout.resize(160, 50);
    await tick();
    let f = m.frame();
    expectFits(f, 160, 50);
    expect(f).toMatch(/Memory .*Disk/); // four columns side by side
    m.stdout.resize(80, 24);
    await tick();
    f = m.frame();
    expectFits(f, 80, 24);
    expect(f).not.toMatch(/Memory .*Disk/);
    expect(f).toContain('Disk');
  });

  it('an unchanged pane does not re-render when other parts of the store change', async () => {
    const store = newStore();
    healthyState(store);
    let renders = 0;
    const { unmount } = render(
      <EngineContext.Provider value={{ store, intents: intentsDouble() }}>
        <ThemeContext.Provider value={makeTheme(false)}>
          <Profiler id="process" onRender={() => void (renders += 1)}>
            <ProcessPane width={30} height={7} focused={false} scroll={0} />
          </Profiler>
        </ThemeContext.Provider>
      </EngineContext.Provider>,
    );
    await tick();
    const before = renders;
    expect(before).toBeGreaterThan(0);
    // a log flush, an incident, a notice: nothing the process pane shows
    store.setState((s) => ({ tail: [...s.tail, { seq: 5000, record: rawRecord('hello') }], counters: { linesRead: 9, records: 9, matches: 1, unclassified: 0 } }));
    store.setState({ incidents: { a: incident('a') }, notice: { text: 'x', severity: 'info', at: Date.now() } });
    store.setState((s) => ({ history: { ...s.history, memUsedPercent: [...s.history.memUsedPercent, 50] } }));
    await tick();
    expect(renders).toBe(before);
    store.setState((s) => ({ probes: { ...s.probes, process: probe('process', 'ok', '', processData(5)) } }));
    await tick();
    expect(renders).toBe(before + 1);
    unmount();
  });
});

describe('memory chart on a large terminal', () => {
  it('draws an asciichart line chart when the pane has room', async () => {
    const store = newStore();
    healthyState(store);
    store.setState((s) => ({ probes: { ...s.probes, memory: probe('memory', 'ok', '', memoryData(60)) } }));
    const m = await open(store, intentsDouble(), { columns: 160, rows: 50 });
    expect(m.frame()).toMatch(/100%┼/);
    expect(m.frame()).toMatch(/0%┤/);
  });

  it('keeps to the title sparkline below a tall terminal, where the rows go to incidents and the log', async () => {
    const store = newStore();
    healthyState(store);
    store.setState((s) => ({ probes: { ...s.probes, memory: probe('memory', 'ok', '', memoryData(60)) } }));
    const m = await open(store, intentsDouble(), { columns: 160, rows: 40 });
    expect(m.frame()).toMatch(/Memory/);
    expect(m.frame()).not.toMatch(/100%┼/);
  });
});
