#!/usr/bin/env node
// Measures how long after a writer appends a line the FileFollower delivers it (target: p99 <= 200 ms).
// A separate writer process appends lines carrying their write time (high-resolution epoch ms), at
// irregular gaps and in bursts, and rotates the file (rename + create) midway, like Odoo + logrotate.
//
// Usage: npm run build && node bench/detection-latency.mjs [lines=400]
// ODOO_HEAL_DIST=<dir> points at another build of src (default: ../dist).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = process.env.ODOO_HEAL_DIST ?? path.join(here, '..', 'dist');
const { FileFollower } = await import(pathToFileURL(path.join(dist, 'engine', 'logs', 'follow-file.js')).href);

const total = Number(process.argv[2] ?? 400);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'odoo-heal-latency-'));
const log = path.join(dir, 'odoo.log');
fs.writeFileSync(log, '');

const now = () => performance.timeOrigin + performance.now();
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
const deadline = Date.now() + 5000;
while (received < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
await follower.stop();
fs.rmSync(dir, { recursive: true, force: true });

latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
const fmt = (ms) => `${ms.toFixed(1)} ms`;
console.log(`detection latency, ${latencies.length}/${total} lines (one rename+create rotation, one 50-line burst)`);
console.log(`  p50 ${fmt(pct(50))}  p95 ${fmt(pct(95))}  p99 ${fmt(pct(99))}  max ${fmt(latencies.at(-1) ?? NaN)}`);
console.log(`  target p99 <= 200 ms: ${pct(99) <= 200 ? 'met' : 'NOT met'}`);
if (latencies.length !== total) {
  console.log(`  LOST ${total - latencies.length} lines`);
  process.exitCode = 1;
}
