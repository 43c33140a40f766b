#!/usr/bin/env node
// Bench 3 — idle footprint: the console in a 120x40 tmux pane, then `--auto`, each for 60 s at the
// default refresh (probes every 5 s) with the DB probe on a throwaway PostgreSQL (odoo.conf
// db_host/db_port) and a followed log file. CPU % of one core and RSS, sampled from /proc.
// Targets: console <= 1%, --auto <= 0.5%, RSS <= 90 MB. btop, glances and gtop are measured the same
// way when installed (never installed by this script) and printed as ratios.
//
//   npm run build && node bench/idle-footprint.mjs [--seconds 60] [--quick]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, fixtures } from './lib/dist.mjs';
import { startCluster } from './lib/pg.mjs';
import { sampleFootprint } from './lib/proc.mjs';
import { writeDeployment } from './lib/setup.mjs';
import { check, fmt, isMain, printResult, sleep, table, waitFor } from './lib/stats.mjs';
import { haveCommand, haveTmux, startTmux } from './lib/tmux.mjs';

const WARMUP_MS = 6000; // first probe round done, first frames drawn, JIT settled

const shellQuote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Measures a command in a 120x40 tmux pane; `ready(screen)` says when it has drawn. */
export async function inTmux(argv, seconds, ready, env = {}) {
  const t = startTmux(`exec ${argv.map(shellQuote).join(' ')}`, { width: 120, height: 40, env });
  try {
    const ok = await waitFor(() => ready(t.capture()), { timeoutMs: 20_000, everyMs: 100 });
    if (!ok) throw new Error(`${argv[0]} did not draw within 20 s:\n${t.capture()}`);
    await sleep(WARMUP_MS);
    return await sampleFootprint(t.panePid(), seconds * 1000);
  } finally {
    t.kill();
  }
}

async function headless(argv, seconds) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    await sleep(WARMUP_MS);
    if (child.exitCode !== null) throw new Error(`${argv.join(' ')} exited ${child.exitCode}: ${stderr}`);
    return await sampleFootprint(child.pid, seconds * 1000);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.on('close', r)));
  }
}

export async function run({ quick = false, seconds = quick ? 10 : 60 } = {}) {
  if (!haveTmux()) return { title: '3. Idle footprint', lines: ['SKIPPED: tmux not installed'], checks: [] };
  const pg = await startCluster();
  const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-bench-idle-'));
  try {
    const dep = writeDeployment(dir, { pg });
    // A followed log that already has real records (the console shows them in its tail).
    writeFileSync(dep.logfile, readFileSync(join(fixtures, 'logs', 'baseline_threaded_server.log')));
    const base = [process.execPath, bin, '--config', dep.config, '--odoo-config', dep.odooConf];
    const consoleFp = await inTmux(base, seconds, (s) => /lines read/.test(s));
    const autoFp = await headless([...base, '--auto'], seconds);

    const rows = [
      ['odoo-heal console (tmux 120x40)', consoleFp],
      ['odoo-heal --auto', autoFp],
    ];
    const others = [];
    for (const [name, argv, ready] of [
      ['btop', ['btop'], (s) => s.trim().length > 0],
      ['glances', ['glances'], (s) => s.trim().length > 0],
      ['gtop', ['gtop'], (s) => s.trim().length > 0],
    ]) {
      if (!haveCommand(name)) {
        others.push(`${name}: not installed`);
        continue;
      }
      try {
        const fp = await inTmux(argv, seconds, ready);
        rows.push([`${name} (tmux 120x40, its default refresh)`, fp]);
        others.push(`${name}: CPU ${fmt(fp.cpuPercent / Math.max(consoleFp.cpuPercent, 0.01), 1)}x the console's, RSS ${fmt(fp.rssAvgMb / consoleFp.rssAvgMb, 1)}x`);
      } catch (err) {
        others.push(`${name}: could not be measured (${err.message.split('\n')[0]})`);
      }
    }
    return {
      title: `3. Idle footprint (${seconds} s each, probes every 5 s, DB probe + 1 followed log)`,
      lines: [
        ...table(
          ['process', 'CPU % of a core', 'CPU ms', 'RSS avg MB', 'RSS max MB'],
          rows.map(([name, f]) => [name, fmt(f.cpuPercent, 2), fmt(f.cpuMs, 0), fmt(f.rssAvgMb, 1), fmt(f.rssMaxMb, 1)]),
        ).split('\n'),
        ...others,
      ],
      notes: ['CPU is measured from /proc/<pid>/stat over the whole window (10 ms clock ticks), after a 6 s warm-up.'],
      checks: [
        check('console CPU', consoleFp.cpuPercent, { max: 1, unit: '%', digits: 2 }),
        check('--auto CPU', autoFp.cpuPercent, { max: 0.5, unit: '%', digits: 2 }),
        check('console RSS (avg)', consoleFp.rssAvgMb, { max: 90, unit: ' MB' }),
        check('--auto RSS (avg)', autoFp.rssAvgMb, { max: 90, unit: ' MB' }),
      ],
      figures: { console: consoleFp, auto: autoFp, others },
    };
  } finally {
    pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const seconds = args.includes('--seconds') ? Number(args[args.indexOf('--seconds') + 1]) : quick ? 10 : 60;
  const result = await run({ quick, seconds });
  printResult(result);
  if (result.checks.some((c) => !c.met)) process.exitCode = 1;
}
