// Worker recycles and registry reloads counted from real Odoo 18 logs (test/fixtures/logs, see
// MANIFEST.md) and judged as rates: memory and time recycles past their threshold are incidents,
// recycling at limit_request is not, and registry reloads are a loop only past their threshold.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/engine/config/defaults.js';
import type { LogRecord, ProbeResult } from '../src/engine/core/types.js';
import { OdooEventTally, odooEventOf } from '../src/engine/logs/odoo-events.js';
import { parseText } from '../src/engine/logs/parser.js';
import { judgeLogRates, recycleLine, withLogRates } from '../src/engine/probes/log-rates.js';

const LOGS = join(import.meta.dirname, 'fixtures', 'logs');
const thresholds = defaultConfig().thresholds;

function records(name: string): LogRecord[] {
  return parseText(readFileSync(join(LOGS, name), 'utf8'), name);
}

/** A tally of the whole file and the time of its last record (the judge's "now"). */
function tallyOf(name: string): { tally: OdooEventTally; end: number } {
  const recs = records(name);
  const end = Math.max(...recs.map((r) => r.time ?? 0));
  const tally = new OdooEventTally(() => end);
  for (const r of recs) tally.add(r);
  return { tally, end };
}

describe('worker recycles from real Odoo 18 logs', () => {
  it('limit_time_real and limit_time_cpu kills: one per worker, the repeated kill line and the traceback not counted again', () => {
    const { tally, end } = tallyOf('worker_limit_time.log');
    // 10304 and 10347 were each logged twice, 10 ms apart: 8 workers killed, not 10.
    expect(tally.totals['time-real']).toBe(8);
    // "Worker (10301) CPU time limit (1) reached." and 10358; the "CPU time limit exceeded." traceback lines are not events.
    expect(tally.totals.cpu).toBe(2);
    expect(tally.totals.memory + tally.totals['max-request']).toBe(0);
    // 10 kills within a minute: over an hour's window that is 10/h, under the default 12/h...
    expect(judgeLogRates(tally, end, thresholds).findings).toEqual([]);
    // ...but over the 15 minutes `check` reads, 40/h: an incident naming both limits.
    const { rates, findings } = judgeLogRates(tally, end, thresholds, { windowSeconds: 900 });
    expect(rates.recycles.windowSeconds).toBe(900);
    expect(rates.recycles.reasons['time-real']).toMatchObject({ count: 8, perHour: 32 });
    expect(findings.map((f) => f.key)).toEqual(['recycles-time']);
    expect(findings[0]!.detail).toMatch(/8 past limit_time_real.*2 past limit_time_cpu/);
  });

  it('a limit_memory_soft below the workers\' size: a respawn loop, an incident', () => {
    const { tally, end } = tallyOf('worker_memory_respawn_loop.log');
    // 97 "Worker (pid) virtual memory limit (...) reached." and 29 "Gevent virtual memory limit reached".
    expect(tally.totals.memory).toBe(126);
    const { rates, findings } = judgeLogRates(tally, end, thresholds);
    expect(rates.recycles.reasons.memory).toMatchObject({ count: 126, perHour: 126 });
    expect(findings.map((f) => f.key)).toEqual(['recycles-memory']);
    expect(findings[0]!.hint).toMatch(/limit_memory_soft/);
    // The loop also starved the cron workers: the master killed four at limit_time_real (3883 logged twice).
    expect(rates.recycles.reasons['time-real'].count).toBe(4);
    expect(recycleLine(rates, true)).toBe('rcy/h 126m 4t');
    expect(recycleLine(rates)).toBe('recycled/h: 126 mem, 4 time');
    // An hour later the window has passed: counted in the total, no longer a rate.
    const later = judgeLogRates(tally, end + 3601_000, thresholds);
    expect(later.rates.recycles.reasons.memory).toMatchObject({ count: 0, total: 126 });
    expect(later.findings).toEqual([]);
  });

  it('a threaded server past limit_time_real: the "Thread ... virtual real time limit" line counts as a time recycle', () => {
    const { tally } = tallyOf('threaded_request_time_limit.log');
    // One request of 100 s against limit_time_real = 20: Odoo's 60 s check saw it at 53 s and reloaded the server.
    expect(tally.totals['time-real']).toBe(1);
    expect(tally.totals.cpu + tally.totals.memory + tally.totals['max-request']).toBe(0);
  });

  it('limit_request recycling is counted but never an alarm', () => {
    const { tally, end } = tallyOf('worker_max_request.log');
    expect(tally.totals['max-request']).toBe(2);
    const { rates, findings } = judgeLogRates(tally, end, { ...thresholds, memoryRecyclesPerHour: 0, timeRecyclesPerHour: 0 });
    expect(rates.recycles.reasons['max-request'].count).toBe(2);
    expect(findings).toEqual([]);
    expect(recycleLine(rates)).toBe('recycled/h: 2 req');
  });

  it('believes only Odoo\'s own loggers: a client URL spelling the line in an access record is not an event', () => {
    const access = records('worker_max_request.log').find((r) => r.kind === 'odoo' && r.logger === 'werkzeug')!;
    expect(access).toBeDefined();
    const forged = { ...access, message: 'Worker (1) virtual memory limit (1) reached. "GET / HTTP/1.1" 200' } as LogRecord;
    expect(odooEventOf(forged)).toBeNull();
    const real = records('worker_max_request.log').find((r) => r.kind === 'odoo' && r.message.includes('max request'))!;
    expect(odooEventOf(real)).toMatchObject({ kind: 'recycle', reason: 'max-request' });
  });
});

describe('registry reloads after database signaling, from real Odoo 18 logs', () => {
  it('one module upgrade and one system parameter: counted, not a loop', () => {
    const { tally, end } = tallyOf('registry_signaling.log');
    expect(tally.totals.registry).toBe(1);
    expect(tally.totals.cache).toBe(1);
    const { rates, findings } = judgeLogRates(tally, end, thresholds);
    expect(rates.signaling.registry).toMatchObject({ signals: 1, reloads: 1 });
    expect(rates.signaling.cache).toMatchObject({ signals: 1, reloads: 1 });
    expect(findings).toEqual([]);
  });

  it('eight upgrades in a row with workers recycling: a loop, though no one process reloaded more than 3 times', () => {
    const { tally, end } = tallyOf('registry_reload_loop.log');
    const { rates, findings } = judgeLogRates(tally, end, thresholds);
    expect(rates.signaling.registry).toMatchObject({ signals: 8, reloads: 8, maxPerProcess: 3 });
    expect(findings.map((f) => f.key)).toEqual(['registry-loop']);
    expect(findings[0]!.title).toMatch(/registry reloads in a loop \(8 changes/);
    expect(findings[0]!.hint).toMatch(/to upgrade.*signal_changes.*docs\/checks\/registry-loop\.md/s);
    // The threshold is configurable: 8 is no loop when 10 are allowed.
    expect(judgeLogRates(tally, end, { ...thresholds, registryReloadsMax: 10 }).findings).toEqual([]);
  });
});

describe('the rates on the process probe result', () => {
  const base: ProbeResult = {
    probe: 'process',
    status: 'ok',
    summary: 'prefork',
    checkedAt: 0,
    durationMs: 1,
    findings: [{ key: 'workers', severity: 'warning', title: 't', detail: 'd', hint: 'h', category: 'worker' }],
    data: { mode: 'prefork' },
  };

  it('adds the figures and the findings, raises the status, and replaces its own findings of an earlier round', () => {
    const { tally, end } = tallyOf('worker_memory_respawn_loop.log');
    const once = withLogRates(base, judgeLogRates(tally, end, thresholds));
    expect(once.status).toBe('warning');
    expect(once.findings.map((f) => f.key)).toEqual(['workers', 'recycles-memory']);
    expect((once.data as { logRates: { recycles: unknown } }).logRates.recycles).toBeDefined();
    const again = withLogRates(once, judgeLogRates(tally, end + 3601_000, thresholds));
    expect(again.findings.map((f) => f.key)).toEqual(['workers']);
  });
});
