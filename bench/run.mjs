#!/usr/bin/env node
// `npm run bench`: every bench in one run, figures and comparisons side by side (absolute times
// on shared machines drift, so the baselines run in the same minute as odoo-heal), then one table
// of all targets. One throwaway PostgreSQL serves every bench.
//
//   npm run bench                    full run (about 5 minutes)
//   node bench/run.mjs --quick       smoke run: smaller log, shorter windows (about 1 minute)
//   node bench/run.mjs --only scan,check   a subset: scan, latency, idle, flood, check
import { startCluster } from './lib/pg.mjs';
import { machine, printResult, table } from './lib/stats.mjs';

const BENCHES = {
  scan: () => import('./log-scan.mjs'),
  latency: () => import('./detection-latency.mjs'),
  idle: () => import('./idle-footprint.mjs'),
  flood: () => import('./flood.mjs'),
  check: () => import('./check-time.mjs'),
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : Object.keys(BENCHES);
const unknown = only.filter((n) => !(n in BENCHES));
if (unknown.length) {
  console.error(`bench/run.mjs: unknown bench ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}

const m = machine();
console.log(`odoo-heal benches${quick ? ' (--quick: shortened, figures are indicative only)' : ''}`);
console.log(`machine: ${m.nproc} CPU (${m.cpu}), ${m.ramGb} GB RAM, Node ${m.node}, load ${m.loadavg}; ${m.date}`);

const pg = await startCluster();
process.env.BENCH_PG = `${pg.host}:${pg.port}`;
const results = [];
try {
  for (const name of only) {
    const t0 = performance.now();
    try {
      const mod = await BENCHES[name]();
      const r = await mod.run({ quick });
      printResult(r);
      console.log(`  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      results.push(r);
    } catch (err) {
      console.log(`\n== ${name}: FAILED: ${err.stack ?? err}`);
      results.push({ title: name, checks: [{ name: 'bench ran', value: 'failed', limit: 'runs', met: false }] });
    }
  }
} finally {
  pg.destroy();
}

console.log('\n== Summary');
const rows = results.flatMap((r) => (r.checks ?? []).map((c) => [r.title.split(' (')[0], c.name, c.value, c.limit, c.met ? 'met' : 'NOT met']));
console.log(table(['bench', 'target', 'measured', 'limit', 'verdict'], rows));
if (rows.some((r) => r[4] !== 'met')) process.exitCode = 1;
