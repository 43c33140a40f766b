#!/usr/bin/env node
// Bench 7 — what the Odoo-aware probes cost the idle console (issue 13: "a round with these probes
// keeps console idle CPU within its current figure +0.2 % of a core"). The console watches a REAL
// Odoo 18 (../shared/real-odoo, its own PostgreSQL and database healdb), so the odoo_db probe's
// queries (scheduled actions, modules, mail queue, queue_job) run against Odoo's real tables.
// A. The probe's own cost: its queries run N times in this process against the real database, and
//    the CPU time they take (process.cpuUsage: our side, the pg client included) is divided by the
//    interval. This is the figure checked: it does not depend on what else the host runs.
// B. The console as a whole, in tmux, with odoo_db every 60 s (default), every hour (off) and every
//    5 s (worst), alternating so a busy host shifts all three alike. Whole-console CPU on a shared
//    host moves with the number of processes and the load; read it beside A, not alone.
//
//   npm run build && sudo node bench/odoo-db-idle.mjs [--seconds 60] [--rounds 3] [--runs 30]
// Needs root and ../shared/real-odoo; starts its own Odoo under a temp base dir and stops it after.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './lib/pg.mjs';
import { check, fmt, isMain, median, printResult, table } from './lib/stats.mjs';
import { haveTmux } from './lib/tmux.mjs';
import { inTmux } from './idle-footprint.mjs';
import { bin, distImport, root } from './lib/dist.mjs';

const REAL = resolve(root, '..', 'shared', 'real-odoo');
const MODES = [
  ['off (odoo_db every 1 h)', 3_600_000],
  ['default (odoo_db every 60 s)', 60_000],
  ['worst (odoo_db every round, 5 s)', 5_000],
];

function upOdoo(base, ports) {
  const env = { ...process.env, REALODOO_BASE: base, PG_PORT: String(ports.pg), HTTP_PORT: String(ports.http), GEVENT_PORT: String(ports.gevent) };
  const out = execFileSync('bash', [join(REAL, 'up.sh')], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
  return { odooConf: out.trim().split('\n').pop().trim(), env };
}

/** CPU ms (ours) and wall ms per odoo_db run, queries forced every run, filestore sample off and on. */
async function probeCost(config, odooConf, runs) {
  const { loadConfig } = await distImport('engine/config/load.js');
  const { createOdooDbProbe } = await distImport('engine/probes/odoo-db/probe.js');
  const loaded = await loadConfig({ configPath: config, odooConfigPath: odooConf });
  const ctx = { config: loaded.config, odoo: loaded.odoo, now: () => Date.now() };
  const measure = async (probe, n) => {
    await probe.run(ctx, AbortSignal.timeout(10_000)); // warm-up: JIT, first connection
    const cpu = [];
    const wall = [];
    let summary = '';
    for (let i = 0; i < n; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const out = await probe.run(ctx, AbortSignal.timeout(10_000));
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      summary = out.summary;
    }
    return { cpuMs: median(cpu), wallMs: median(wall), summary };
  };
  return {
    queries: await measure(createOdooDbProbe({ everyRun: true, filestore: 'off' }), runs),
    withFilestore: await measure(createOdooDbProbe({ everyRun: true, filestore: 'always' }), Math.max(3, Math.round(runs / 5))),
    intervalMs: loaded.config.probes.odooDbIntervalMs,
    filestoreIntervalMs: loaded.config.probes.filestoreIntervalMs,
  };
}

export async function run({ seconds = 60, rounds = 3, runs = 30 } = {}) {
  const title = '7. Odoo-aware probes on the idle console (real Odoo 18)';
  if (!haveTmux()) return { title, lines: ['SKIPPED: tmux not installed'], checks: [] };
  if (!existsSync(join(REAL, 'up.sh'))) return { title, lines: [`SKIPPED: ${REAL} not found`], checks: [] };
  if (process.getuid?.() !== 0) return { title, lines: ['SKIPPED: needs root (up.sh creates the odoo user and its cluster)'], checks: [] };
  const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-bench-odoodb-'));
  chmodSync(dir, 0o755); // postgres and odoo must traverse it
  const ports = { pg: await freePort(), http: await freePort(), gevent: await freePort() };
  const odoo = upOdoo(join(dir, 'odoo'), ports);
  const load = [];
  try {
    const baseConfig = join(dir, 'config.yaml');
    writeFileSync(baseConfig, ['logs:', '  commands: []', 'paths:', `  stateDir: ${join(dir, 'state')}`, ''].join('\n'));
    const cost = await probeCost(baseConfig, odoo.odooConf, runs);
    // Per minute of an idle console: one query run per interval, one filestore sample per its interval.
    const pct = (ms, everyMs) => (100 * ms) / everyMs;
    const atDefault = pct(cost.queries.cpuMs, cost.intervalMs) + pct(cost.withFilestore.cpuMs - cost.queries.cpuMs, cost.filestoreIntervalMs);
    const lines = [
      `A. one odoo_db run against healdb (median of ${runs}; "${cost.queries.summary}"):`,
      ...table(
        ['run', 'our CPU ms', 'wall ms', '% of a core at default interval', '% every 5 s round'],
        [
          ['queries (crons, modules, queues)', fmt(cost.queries.cpuMs, 1), fmt(cost.queries.wallMs, 1), fmt(pct(cost.queries.cpuMs, cost.intervalMs), 3), fmt(pct(cost.queries.cpuMs, 5000), 2)],
          ['queries + filestore sample', fmt(cost.withFilestore.cpuMs, 1), fmt(cost.withFilestore.wallMs, 1), fmt(pct(cost.withFilestore.cpuMs, cost.filestoreIntervalMs), 3), '-'],
        ],
      ).split('\n').map((l) => `  ${l}`),
    ];
    const results = new Map(MODES.map(([name]) => [name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [name, everyMs] of MODES) {
        const config = join(dir, `config-${everyMs}.yaml`);
        writeFileSync(config, ['logs:', '  commands: []', 'paths:', `  stateDir: ${join(dir, `state-${everyMs}`)}`, 'probes:', `  odooDbIntervalMs: ${everyMs}`, ''].join('\n'));
        load.push(loadavg()[0]);
        const fp = await inTmux([process.execPath, bin, '--config', config, '--odoo-config', odoo.odooConf], seconds, (s) => /lines read/.test(s));
        results.get(name).push(fp.cpuPercent);
      }
    }
    const off = median(results.get(MODES[0][0]));
    const rows = MODES.map(([name]) => {
      const runs = results.get(name);
      return [name, runs.map((v) => fmt(v, 2)).join(' '), fmt(median(runs), 2), fmt(median(runs) - off, 2)];
    });
    lines.push(`B. the console in tmux 120x40 watching that Odoo, ${rounds} x ${seconds} s per mode:`);
    lines.push(...table(['odoo_db probe', 'console CPU % runs', 'median %', 'vs off'], rows).split('\n').map((l) => `  ${l}`));
    return {
      title,
      lines,
      notes: [`load average during B: ${load.map((l) => fmt(l, 1)).join(', ')} (2 vCPU)`],
      checks: [check('odoo_db at its defaults, added to an idle console (A)', atDefault, { max: 0.2, unit: ' % of a core', digits: 3 })],
      figures: { cost, console: Object.fromEntries(results) },
    };
  } finally {
    spawnSync('bash', [join(REAL, 'down.sh')], { env: odoo.env, stdio: 'ignore', timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
  const result = await run({ seconds: opt('--seconds', 60), rounds: opt('--rounds', 3), runs: opt('--runs', 30) });
  printResult(result);
  if (result.checks.some((c) => !c.met)) process.exitCode = 1;
}
