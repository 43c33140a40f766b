#!/usr/bin/env node
// Bench 5 — `odoo-heal check` wall time with the DB up (throwaway PostgreSQL via odoo.conf
// db_host/db_port, a followed log with real records): median of N runs. Target <= 0.5 s.
// Side by side: bare `node -e ''` start-up and `--version` (commander only), so the cost of the
// probes themselves is visible.
//
//   npm run build && node bench/check-time.mjs [--runs 15] [--quick]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, fixtures } from './lib/dist.mjs';
import { startCluster } from './lib/pg.mjs';
import { runMeasured } from './lib/proc.mjs';
import { writeDeployment } from './lib/setup.mjs';
import { check, fmt, isMain, median, percentile, printResult, table } from './lib/stats.mjs';

async function times(argv, runs, okCodes) {
  const walls = [];
  let last = null;
  for (let i = 0; i < runs; i++) {
    last = await runMeasured(argv, { stdout: 'pipe' });
    if (!okCodes.includes(last.code)) throw new Error(`${argv.join(' ')} exited ${last.code}: ${last.stderr.trim()}`);
    walls.push(last.wallMs);
  }
  return { median: median(walls), p90: percentile(walls, 90), min: Math.min(...walls), peakRssMb: last.peakRssMb, last };
}

export async function run({ quick = false, runs = quick ? 5 : 15 } = {}) {
  const pg = await startCluster();
  const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-bench-check-'));
  try {
    const dep = writeDeployment(dir, { pg });
    writeFileSync(dep.logfile, readFileSync(join(fixtures, 'logs', 'baseline_threaded_server.log')));
    const base = [process.execPath, bin, '--config', dep.config, '--odoo-config', dep.odooConf];
    // check exits 0-3 by health (Odoo itself is not running here: CRITICAL is expected).
    const checkRun = await times([...base, 'check'], runs, [0, 1, 2, 3]);
    const dbLine = checkRun.last.stdout.split('\n').find((l) => l.startsWith('database')) ?? '(no database row)';
    const nodeRun = await times([process.execPath, '-e', ''], runs, [0]);
    const versionRun = await times([process.execPath, bin, '--version'], runs, [0]);
    return {
      title: `5. odoo-heal check wall time (${runs} runs, DB up)`,
      lines: [
        ...table(
          ['command', 'median ms', 'p90 ms', 'min ms', 'peak RSS MB'],
          [
            ['odoo-heal check', checkRun, 'x'],
            ['odoo-heal --version', versionRun],
            ["node -e ''", nodeRun],
          ].map(([name, r]) => [name, fmt(r.median, 0), fmt(r.p90, 0), fmt(r.min, 0), fmt(r.peakRssMb, 0)]),
        ).split('\n'),
        `database row of the last run: ${dbLine.replace(/\s+/g, ' ').trim()}`,
      ],
      checks: [check('check median wall time', checkRun.median / 1000, { max: 0.5, unit: ' s', digits: 3 })],
      figures: { checkMs: checkRun.median, checkP90Ms: checkRun.p90, versionMs: versionRun.median, nodeMs: nodeRun.median, peakRssMb: checkRun.peakRssMb },
    };
  } finally {
    pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : quick ? 5 : 15;
  const result = await run({ quick, runs });
  printResult(result);
  if (result.checks.some((c) => !c.met)) process.exitCode = 1;
}
