#!/usr/bin/env node
// CPU per console frame: the real ConsoleApp rendered by Ink at 120x40 into a fake terminal, fed
// store changes like the engine's probe rounds (charts, counters, probe data; `--log` adds a log
// record per frame). Reports the median CPU of a frame (React + layout + Output.get + write) and of
// Output.get alone, with Ink's own get() (`--ink`) or the fast one (src/ui/fast-output.ts).
//
//   npm run build && node bench/frame-cost.mjs [--ink] [--frames 300] [--log] [--size 120x40]
//                                              [--gap 60] [--warmup 60] [--incremental]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { distImport, fixtures } from './lib/dist.mjs';
import { fmt, median, percentile, sleep } from './lib/stats.mjs';

// As bin/odoo-heal: React's production build. Ink reads CI when imported.
process.env.NODE_ENV ??= 'production';
process.env.CI = 'false';

const { values: args } = parseArgs({
  options: {
    ink: { type: 'boolean', default: false },
    frames: { type: 'string', default: '300' },
    log: { type: 'boolean', default: false },
    size: { type: 'string', default: '120x40' },
    // ms between frames; the live console draws one every ~5 s, with colder caches than back to back
    gap: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '60' },
    incremental: { type: 'boolean', default: false }, // Ink's incrementalRendering option
  },
});
const [columns, rows] = args.size.split('x').map(Number);

const { EventEmitter } = await import('node:events');
const React = (await import('react')).default;
const { render } = await import('ink');
const { ConsoleApp } = await distImport('ui/app.js');
const { installFastOutput, inkOutput, fastOutputStats } = await distImport('ui/fast-output.js');
const { createEngineStore, pushBounded } = await distImport('engine/state/store.js');
const { parseText } = await distImport('engine/logs/parser.js');

if (!inkOutput) throw new Error('Ink is not the pinned version: nothing to compare');
if (!args.ink) installFastOutput();
// Output.get's own share, timed around whichever get() is installed.
const getMs = [];
const proto = inkOutput.Output.prototype;
const inner = proto.get;
proto.get = function timedGet() {
  const t = process.cpuUsage();
  const out = inner.call(this);
  const d = process.cpuUsage(t);
  getMs.push((d.user + d.system) / 1000);
  return out;
};

class FakeStdout extends EventEmitter {
  isTTY = true;
  columns = columns;
  rows = rows;
  writes = 0;
  bytes = 0;
  write = (chunk) => {
    this.writes++;
    this.bytes += Buffer.byteLength(chunk);
    return true;
  };
}
class FakeStdin extends EventEmitter {
  isTTY = false;
  setEncoding() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
  read = () => null;
}

const NOW = Date.now();
const MiB = 1024 * 1024;
const proc = (pid, role, cpu, extra = {}) => ({
  pid, ppid: role === 'main' ? 1 : 4100, role, cpuPercent: cpu, rssBytes: (170 + (pid % 7)) * MiB,
  vsizeBytes: 450 * MiB, threads: 4, startedAt: NOW - 3600_000, uptimeSeconds: 3600, ...extra,
});
const processData = (round) => {
  const workers = Array.from({ length: 6 }, (_, i) => proc(4200 + i, i === 5 ? 'cron' : 'http', (round * 7 + i * 3) % 23));
  return {
    mode: 'prefork', configPath: '/etc/odoo/odoo.conf', main: proc(4100, 'main', round % 5, { uptimeSeconds: 3 * 3600 }),
    workers, expected: { http: 5, cron: 1, gevent: true }, counts: { http: 5, cron: 1, untitled: 0, gevent: 0 },
    titled: true, totalRssBytes: 7 * 180 * MiB, totalCpuPercent: 10 + (round % 9), restarts: 0, lastRestartAt: null,
    workersRespawned: 0, otherInstances: [],
  };
};
const databaseData = (round) => ({
  target: '127.0.0.1:5432', database: 'healdb', user: 'odoo', serverVersion: '15.18', latencyMs: 1 + (round % 7) / 3,
  connections: { used: 10 + (round % 4), max: 100, reserved: 3, percent: 10 + (round % 4) }, idleInTransaction: [],
  longQueries: [], waitingLocks: 0, databaseSizeBytes: 1.2 * 1024 ** 3, seesAllSessions: true, error: null, notes: [],
});
const memoryData = (round) => {
  const total = 16 * 1024 ** 3;
  const used = 38 + (round % 5);
  return {
    totalBytes: total, availableBytes: total * (1 - used / 100), availablePercent: 100 - used, usedPercent: used,
    swapTotalBytes: 2 * 1024 ** 3, swapUsedBytes: 100 * MiB, swapUsedPercent: 5, odooRssBytes: 2 * 1024 ** 3,
    odooLimitBytes: 8 * 1024 ** 3, cpuPercent: 12 + (round % 11), cpus: 2, load: null,
  };
};
const fsData = (mountPoint, pct) => ({
  mountPoint, device: '/dev/sda1', fsType: 'ext4', paths: [{ role: 'root', path: mountPoint }], sizeBytes: 100 * 1024 ** 3,
  freeBytes: (100 - pct) * 1024 ** 3, usedPercent: pct, inodesTotal: 1000, inodesFree: 900, inodeUsedPercent: 10,
});
const probe = (name, summary, data) => ({ probe: name, status: 'ok', summary, checkedAt: Date.now(), durationMs: 3, findings: [], data });

const store = createEngineStore('odoo-prod-1', NOW - 600_000);
const tailText = readFileSync(join(fixtures, 'logs', 'baseline_threaded_server.log'), 'utf8');
let seq = 0;
const tail = parseText(tailText, 'odoo.log').map((record) => ({ seq: ++seq, record }));
const disk = probe('disk', 'disks fine', { filesystems: [fsData('/', 41), fsData('/var/lib/odoo', 51)] });

function probeRound(round) {
  const s = store.getState();
  const cpu = 5 + ((round * 13) % 40);
  const next = {
    probes: {
      ...s.probes,
      process: probe('process', 'prefork: 5 workers', processData(round)),
      database: probe('database', 'PostgreSQL 15.18 up', databaseData(round)),
      memory: probe('memory', 'memory fine', memoryData(round)),
      disk,
    },
    history: {
      cpu: pushBounded(s.history.cpu, [cpu], 120),
      memUsedPercent: pushBounded(s.history.memUsedPercent, [38 + (round % 5)], 120),
      dbLatencyMs: pushBounded(s.history.dbLatencyMs, [1 + (round % 7) / 3], 120),
    },
    counters: { ...s.counters, linesRead: s.counters.linesRead + 3 },
  };
  if (args.log) {
    const line = `2026-11-29 04:0${round % 10}:00,123 4242 INFO healdb werkzeug: 127.0.0.1 - - "GET /web/webclient/load_menus/${round} HTTP/1.1" 200 - 3 0.002 0.004`;
    next.tail = pushBounded(s.tail, parseText(line, 'odoo.log').map((record) => ({ seq: ++seq, record })), 500);
  }
  store.setState(next);
}

store.setState({ odoo: { version: '18.0', mode: 'prefork', configPath: '/etc/odoo/odoo.conf' }, tail });
for (let r = 0; r < 30; r++) probeRound(r);

const stdout = new FakeStdout();
const intents = new Proxy({}, { get: () => () => undefined });
const instance = render(React.createElement(ConsoleApp, { engine: { store, intents }, color: true }), {
  stdout, stdin: new FakeStdin(), stderr: new FakeStdout(), exitOnCtrlC: false, patchConsole: false, maxFps: 20,
  incrementalRendering: args.incremental,
});

const frames = Number(args.frames);
const frameMs = [];
const getOnly = [];
const frameBytes = [];
await sleep(200);
const warmup = Number(args.warmup);
for (let i = 0; i < warmup + frames; i++) {
  const writes = stdout.writes;
  const bytes = stdout.bytes;
  getMs.length = 0;
  const t = process.cpuUsage();
  probeRound(30 + i);
  await new Promise((r) => setImmediate(r)); // React may finish the commit in a microtask
  const d = process.cpuUsage(t);
  // Rarely the throttle holds a frame back (another render just before): not a sample.
  if (i >= warmup && stdout.writes !== writes) {
    frameMs.push((d.user + d.system) / 1000);
    getOnly.push(getMs.reduce((a, b) => a + b, 0));
    frameBytes.push(stdout.bytes - bytes);
  }
  await sleep(Math.max(60, Number(args.gap))); // past the 20 fps throttle: the next update renders at once
}
instance.unmount();

const mode = args.ink ? "Ink's get()" : 'fast get()';
console.log(`${mode}, ${columns}x${rows}, ${frames} frames ${args.gap} ms apart${args.log ? ', a log record per frame' : ''}${args.incremental ? ', incremental' : ''}`);
console.log(`  frames sampled ${frameMs.length}`);
console.log(`  frame CPU ms: median ${fmt(median(frameMs), 2)}, p90 ${fmt(percentile(frameMs, 90), 2)}`);
console.log(`  Output.get CPU ms: median ${fmt(median(getOnly), 2)}, p90 ${fmt(percentile(getOnly, 90), 2)}`);
if (!args.ink) console.log(`  rows built ${fastOutputStats.rowsBuilt}, reused ${fastOutputStats.rowsReused}`);
console.log(`  bytes written per frame: median ${median(frameBytes)}`);
globalThis.gc?.(); // node --expose-gc: the heap that stays, not what waits for collection
const mem = process.memoryUsage();
console.log(`  RSS ${fmt(mem.rss / MiB)} MB, heap used ${fmt(mem.heapUsed / MiB)} MB${globalThis.gc ? ' after a full GC' : ''}`);
