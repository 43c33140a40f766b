#!/usr/bin/env node
// What one look at the host costs: odoo-heal's /proc + statfs readers against the systeminformation
// calls that would answer the same question. Prints wall time (median / p95) and CPU time per call,
// children included (systeminformation forks ps/df), so the choice in src/engine/probes is measured.
//
//   npm run build && node bench/probe-costs.mjs [iterations]
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import si from 'systeminformation';

// ODOO_HEAL_DIST points at another build output (e.g. a scratch `tsc --outDir`).
const dist = join(process.env.ODOO_HEAL_DIST ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'), 'engine');
if (!existsSync(join(dist, 'probes', 'run.js'))) {
  console.error(`bench/probe-costs.mjs: ${dist}/probes/run.js not found: run \`npm run build\` first`);
  process.exit(2);
}
const { scanOdooProcesses, createOdooScanner } = await import(join(dist, 'probes', 'process.js'));
const { createDiskProbe } = await import(join(dist, 'probes', 'disk.js'));
const { createServicesProbe } = await import(join(dist, 'probes', 'services.js'));
const { readMeminfo, readProcStat, parseCpuTimes } = await import(join(dist, 'probes', 'proc.js'));
const { defaultConfig, defaultOdooConf } = await import(join(dist, 'config', 'defaults.js'));

const N = Number(process.argv[2] ?? 20);
const config = defaultConfig();
const odoo = defaultOdooConf();
const ctx = { config, odoo, now: () => Date.now() };
const signal = new AbortController().signal;

/** CPU ms of this process plus its reaped children (utime+stime+cutime+cstime from /proc/self/stat). */
function cpuMsWithChildren() {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
  // f[0] is field 3; utime=14, stime=15, cutime=16, cstime=17 (clock ticks, USER_HZ 100).
  return (f[11] + f[12] + f[13] + f[14]) * 10;
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median: at(0.5), p95: at(0.95) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** gapMs: untimed pause between calls. systeminformation returns a cached result for processes()
 * and currentLoad() called again within ~0.5 s, which would measure its cache, not the work. */
async function measure(label, fn, iterations = N, gapMs = 0) {
  await fn(); // warm-up: module loading, first-call caches
  const walls = [];
  let cpu = 0;
  for (let i = 0; i < iterations; i++) {
    if (gapMs) await sleep(gapMs);
    const c = cpuMsWithChildren();
    const t = performance.now();
    await fn();
    walls.push(performance.now() - t);
    cpu += cpuMsWithChildren() - c;
  }
  const cpuPerCall = cpu / iterations;
  const { median, p95 } = stats(walls);
  return { label, median, p95, cpuPerCall };
}

async function firstCall(label, fn) {
  const cpu0 = cpuMsWithChildren();
  const t = performance.now();
  await fn();
  const wall = performance.now() - t;
  return { label, median: wall, p95: wall, cpuPerCall: cpuMsWithChildren() - cpu0 };
}

const pids = (await import('node:fs')).readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
console.log(`probe costs on this host: ${pids} processes, ${N} iterations each (warm), Node ${process.version}\n`);

const roundScanner = createOdooScanner({ maxAgeMs: 0 });
const rows = [
  ['process', await measure('odoo-heal: full scan (every cmdline; first round, then every 60 s)', () => scanOdooProcesses())],
  // What a probe round pays: every pid's stat (sync), command lines only of new/changed/Odoo pids.
  // 1 s apart so the kernel's and CPU's caches are as cold as between two 5 s rounds.
  ['process', await measure('odoo-heal: round scan (stat of every pid, cmdline of new ones)', () => roundScanner.scan(), N, 1000)],
  ['process', await measure('systeminformation.processes()', () => si.processes(), Math.min(N, 8), 1100)],
  ['disk', await measure('odoo-heal: disk probe (mountinfo + statfs)', () => createDiskProbe().run(ctx, signal))],
  ['disk', await measure('systeminformation.fsSize()', () => si.fsSize())],
  ['memory', await measure('odoo-heal: /proc/meminfo', () => readMeminfo())],
  ['memory', await measure('systeminformation.mem()', () => si.mem())],
  ['cpu', await measure('odoo-heal: /proc/stat cpu line (delta)', async () => parseCpuTimes(await readProcStat()))],
  ['cpu', await firstCall('systeminformation.currentLoad() first call', () => si.currentLoad())],
  ['cpu', await measure('systeminformation.currentLoad() later calls', () => si.currentLoad(), Math.min(N, 8), 1100)],
  ['services', await measure('odoo-heal: services probe (shared /proc scan + protocol checks)', () => createServicesProbe().run(ctx, signal))],
  ['services', await measure("systeminformation.services('postgres,redis-server,nginx')", () => si.services('postgres,redis-server,nginx'), Math.min(N, 10))],
];

const w = Math.max(...rows.map(([, r]) => r.label.length));
console.log(`${'probe'.padEnd(9)} ${'approach'.padEnd(w)}  ${'median ms'.padStart(9)}  ${'p95 ms'.padStart(8)}  ${'CPU ms/call'.padStart(11)}`);
for (const [probe, r] of rows) {
  console.log(
    `${probe.padEnd(9)} ${r.label.padEnd(w)}  ${r.median.toFixed(2).padStart(9)}  ${r.p95.toFixed(2).padStart(8)}  ${r.cpuPerCall.toFixed(2).padStart(11)}`,
  );
}
console.log('\nCPU ms/call includes forked children (ps, df); clock-tick resolution is 10 ms, so small figures are averages.');
