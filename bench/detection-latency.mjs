#!/usr/bin/env node
// Bench 2 — detection latency, in two layers:
//  a) engine: a real Engine follows a log file; a real incident record is appended 200 times and
//     the time from the write to the incident's new count in the store is measured (target p99 <= 200 ms);
//  b) follower: how long after a writer process appends a line the FileFollower delivers it, with
//     irregular gaps, a 50-line burst and a rename+create rotation midway (like Odoo + logrotate).
//
// Usage: npm run build && node bench/detection-latency.mjs [--records 200] [--lines 400] [--quick]
// ODOO_HEAL_DIST=<dir> points at another build of src (default: ../dist).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { distImport, fixtures } from './lib/dist.mjs';
import { benchEngine, patternMatches } from './lib/engine.mjs';
import { odooStamp } from './lib/logs.mjs';
import { check, fmt, isMain, percentile, printResult, sleep, waitFor } from './lib/stats.mjs';

const now = () => performance.timeOrigin + performance.now();

/** Two real incident records from the samples: a one-line ERROR and a multi-line traceback. */
function incidentRecords() {
  const worker = fs
    .readFileSync(path.join(fixtures, 'logs', 'worker_limit_time.log'), 'utf8')
    .split('\n')
    .find((l) => l.includes('WorkerHTTP (') && l.includes('timeout after'));
  const cron = fs.readFileSync(path.join(fixtures, 'logs', 'cron_deprecated_field.log'), 'utf8').split('\n');
  const start = cron.findIndex((l) => l.includes('CRITICAL healdb odoo.service.server: Failed to initialize'));
  const end = cron.findIndex((l, k) => k > start && l.startsWith('odoo.tools.convert.ParseError'));
  return [[worker], cron.slice(start, end + 1)];
}

export async function engineLatency(total) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'odoo-heal-latency-engine-'));
  const log = path.join(dir, 'odoo.log');
  fs.writeFileSync(log, '');
  const engine = await benchEngine({ dir, sources: [{ kind: 'file', path: log, start: 'end' }] });
  const latencies = [];
  try {
    await engine.start();
    let seen = patternMatches(engine.store.getState());
    let waiter = null;
    const unsubscribe = engine.store.subscribe((s) => {
      const n = patternMatches(s);
      if (n !== seen) {
        seen = n;
        waiter?.(now());
      }
    });
    const records = incidentRecords();
    const fd = fs.openSync(log, 'a');
    for (let i = 0; i < total; i++) {
      const lines = records[i % records.length];
      const text = `${odooStamp(Date.now())}${lines[0].slice(23)}\n${lines.slice(1).map((l) => `${l}\n`).join('')}`;
      const arrived = new Promise((resolve) => (waiter = resolve));
      const t0 = now();
      fs.writeSync(fd, text);
      const t1 = await Promise.race([arrived, sleep(5000).then(() => null)]);
      waiter = null;
      if (t1 === null) throw new Error(`record ${i} never reached the store`);
      latencies.push(t1 - t0);
      await sleep(Math.random() * 50); // irregular gaps, like a real log
    }
    fs.closeSync(fd);
    unsubscribe();
  } finally {
    await engine.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return latencies;
}

export async function followerLatency(total) {
  const { FileFollower } = await distImport('engine/logs/follow-file.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'odoo-heal-latency-'));
  const log = path.join(dir, 'odoo.log');
  fs.writeFileSync(log, '');
  const latencies = [];
  let received = 0;
  const follower = new FileFollower(log, {
    start: 'end',
    onLines(lines) {
      const t = now();
      for (const line of lines) {
        const m = /^seq (\d+) ([\d.]+) /.exec(line);
        if (m) latencies.push(t - Number(m[2]));
        received++;
      }
    },
    onError(err) {
      console.error('follower error:', err.message);
    },
  });
  await follower.start();
  // The writer: irregular gaps (0-40 ms), a burst of 50 lines 1 ms apart, a rotation at half-time.
  const writer = `
    const fs = require('node:fs');
    const log = ${JSON.stringify(log)};
    const total = ${total};
    const now = () => performance.timeOrigin + performance.now();
    const pad = ' odoo.modules.loading: ' + 'x'.repeat(80);
    let fd = fs.openSync(log, 'a');
    let i = 0;
    function next() {
      if (i === total) { fs.closeSync(fd); return; }
      if (i === Math.floor(total / 2)) { fs.closeSync(fd); fs.renameSync(log, log + '.1'); fd = fs.openSync(log, 'a'); }
      fs.writeSync(fd, 'seq ' + i + ' ' + now().toFixed(3) + pad + '\\n');
      i++;
      const inBurst = i > total / 4 && i <= total / 4 + 50;
      setTimeout(next, inBurst ? 1 : Math.random() * 40);
    }
    next();`;
  const child = spawn(process.execPath, ['-e', writer], { stdio: 'inherit' });
  await new Promise((resolve) => child.on('close', resolve));
  await waitFor(() => received >= total, { timeoutMs: 5000 });
  await follower.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  return latencies;
}

const summary = (xs) => `p50 ${fmt(percentile(xs, 50))} ms  p95 ${fmt(percentile(xs, 95))} ms  p99 ${fmt(percentile(xs, 99))} ms  max ${fmt(Math.max(...xs))} ms`;

export async function run({ quick = false, records = quick ? 50 : 200, lines = quick ? 100 : 400 } = {}) {
  const eng = await engineLatency(records);
  const fol = await followerLatency(lines);
  const lost = lines - fol.length;
  return {
    title: '2. Detection latency',
    lines: [
      `engine (write -> incident count in the store), ${eng.length} records (one-line ERROR and multi-line ParseError alternately):`,
      `  ${summary(eng)}`,
      `follower only (write -> lines delivered), ${fol.length}/${lines} lines, one rotation, one 50-line burst:`,
      `  ${summary(fol)}${lost ? `  LOST ${lost} lines` : ''}`,
    ],
    checks: [
      check('engine p99 write -> incident', percentile(eng, 99), { max: 200, unit: ' ms' }),
      check('follower lines lost', lost, { max: 0, digits: 0 }),
    ],
    figures: {
      engine: { p50: percentile(eng, 50), p95: percentile(eng, 95), p99: percentile(eng, 99), max: Math.max(...eng), n: eng.length },
      follower: { p50: percentile(fol, 50), p95: percentile(fol, 95), p99: percentile(fol, 99), max: Math.max(...fol), n: fol.length, lost },
    },
  };
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const num = (flag, dflt) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : dflt);
  const quick = args.includes('--quick');
  const result = await run({ quick, records: num('--records', quick ? 50 : 200), lines: num('--lines', quick ? 100 : 400) });
  printResult(result);
  if (result.checks.some((c) => !c.met)) process.exitCode = 1;
}
