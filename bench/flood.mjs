#!/usr/bin/env node
// Bench 4 — flood: 20,000 lines/s for 30 s of real sample records into a followed log, with the
// console open in a 120x40 tmux pane and a real Engine following the same file in this process.
// Checks: nothing lost (console lines/matches and engine records/incidents equal `detect` on the
// final file), console RSS growth <= 50 MB, keypress-to-screen <= 150 ms (`?` opens the help
// overlay; capture-pane is polled until it shows).
//
//   npm run build && node bench/flood.mjs [--rate 20000] [--seconds 30] [--quick]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bin } from './lib/dist.mjs';
import { benchEngine, patternMatches } from './lib/engine.mjs';
import { startCluster } from './lib/pg.mjs';
import { runMeasured, statusMb } from './lib/proc.mjs';
import { writeDeployment } from './lib/setup.mjs';
import { check, fmt, isMain, percentile, printResult, sleep, waitFor } from './lib/stats.mjs';
import { haveTmux, startTmux } from './lib/tmux.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const HELP = /Keys — /;
const shellQuote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `N lines read · M matches` from the console's footer. */
function footer(screen) {
  const m = /(\d+) lines read · (\d+) matches/.exec(screen);
  return m ? { lines: Number(m[1]), matches: Number(m[2]) } : null;
}

/** Time from sending `?` until the help overlay is on screen, then closes it again. */
async function keyLatency(t) {
  const t0 = performance.now();
  t.send('?');
  const shown = await waitFor(() => HELP.test(t.capture()), { timeoutMs: 5000, everyMs: 2 });
  const ms = performance.now() - t0;
  t.send('?');
  await waitFor(() => !HELP.test(t.capture()), { timeoutMs: 5000, everyMs: 20 });
  return shown ? ms : Infinity;
}

export async function run({ quick = false, rate = 20_000, seconds = quick ? 8 : 30 } = {}) {
  if (!haveTmux()) return { title: '4. Flood', lines: ['SKIPPED: tmux not installed'], checks: [] };
  const pg = await startCluster();
  const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-bench-flood-'));
  let engine = null;
  let t = null;
  try {
    const dep = writeDeployment(dir, { pg });
    writeFileSync(dep.logfile, '');
    const argv = [process.execPath, bin, '--config', dep.config, '--odoo-config', dep.odooConf];
    t = startTmux(`exec ${argv.map(shellQuote).join(' ')}`, { width: 120, height: 40 });
    if (!(await waitFor(() => footer(t.capture()), { timeoutMs: 20_000, everyMs: 100 }))) {
      throw new Error(`the console did not draw:\n${t.capture()}`);
    }
    const pid = t.panePid();
    engine = await benchEngine({ dir: join(dir, 'engine'), sources: [{ kind: 'file', path: dep.logfile, start: 'start' }], pg });
    await engine.start();
    await sleep(3000); // first probe round, JIT warm
    const idleKey = await keyLatency(t);
    const rssStart = statusMb(pid);

    const writer = spawn(process.execPath, [join(here, 'lib', 'flood-writer.mjs'), dep.logfile, String(rate), String(seconds)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    writer.stdout.on('data', (d) => (out += d));
    const done = new Promise((r) => writer.on('close', r));
    const keys = [];
    let rssMax = rssStart;
    let finished = false;
    done.then(() => (finished = true));
    await sleep(1000);
    while (!finished) {
      keys.push(await keyLatency(t));
      rssMax = Math.max(rssMax, statusMb(pid) ?? 0);
      await sleep(700);
    }
    await done;
    const written = JSON.parse(out);

    // Both readers catch up, then their counts are compared with a one-shot `detect` of the file.
    const caughtUp = await waitFor(
      () => {
        const f = footer(t.capture());
        return f && f.lines === written.lines && engine.store.getState().counters.linesRead === written.lines ? f : null;
      },
      { timeoutMs: 60_000, everyMs: 200 },
    );
    await sleep(500); // the last record is completed by the engine's quiet-source flush
    rssMax = Math.max(rssMax, statusMb(pid) ?? 0);
    const rssEnd = statusMb(pid);
    const screen = footer(t.capture());
    const state = engine.store.getState();
    const det = await runMeasured([process.execPath, bin, 'detect', dep.logfile, '--json'], { stdout: 'pipe' });
    const d = JSON.parse(det.stdout);
    const detRecords = d.sources.reduce((n, s) => n + s.records, 0);
    const detMatches = d.incidents.reduce((n, i) => n + i.count, 0);
    const byFp = (list) => new Map(list.map((i) => [i.fingerprint, i.count]));
    const detInc = byFp(d.incidents);
    const engInc = byFp(Object.values(state.incidents).filter((i) => i.origin.kind === 'pattern'));
    const incidentDiff = [...new Set([...detInc.keys(), ...engInc.keys()])].filter((k) => detInc.get(k) !== engInc.get(k));

    const lost = {
      consoleLines: written.lines - (screen?.lines ?? 0),
      consoleMatches: detMatches - (screen?.matches ?? 0),
      engineRecords: detRecords - state.counters.records,
      engineMatches: detMatches - patternMatches(state),
      incidents: incidentDiff.length,
    };
    const exact = Object.values(lost).every((v) => v === 0) && caughtUp;
    const p = (q) => percentile(keys, q);
    return {
      title: `4. Flood (${rate} lines/s for ${seconds} s)`,
      lines: [
        `written: ${written.lines} lines, ${written.records} records, ${fmt(written.bytes / 1048576)} MB in ${fmt(written.seconds, 1)} s (${fmt(written.lines / written.seconds, 0)} lines/s)`,
        `detect on the final file: ${detRecords} records, ${detMatches} matches in ${d.incidents.length} incidents`,
        `console footer: ${screen?.lines} lines read, ${screen?.matches} matches${caughtUp ? '' : ' (did NOT catch up within 60 s)'}`,
        `engine (in this process): ${state.counters.linesRead} lines, ${state.counters.records} records, ${patternMatches(state)} matches in ${engInc.size} incidents${incidentDiff.length ? `; incident counts differ: ${incidentDiff.join(', ')}` : ', every incident count equal to detect'}`,
        `console RSS: ${fmt(rssStart)} MB before, ${fmt(rssMax)} MB max, ${fmt(rssEnd)} MB after (growth ${fmt(rssMax - rssStart)} MB)`,
        `keypress-to-screen during the flood (${keys.length} presses of ?): p50 ${fmt(p(50))} ms, p95 ${fmt(p(95))} ms, max ${fmt(Math.max(...keys))} ms; idle before: ${fmt(idleKey)} ms`,
      ],
      notes: ['the machine runs writer, console, engine and tmux at once; keypress latency includes capture-pane polling (every 2 ms).'],
      checks: [
        check('lost lines/records/matches/incidents', exact ? 0 : 1, { max: 0, digits: 0 }),
        check('console RSS growth', rssMax - rssStart, { max: 50, unit: ' MB' }),
        check('keypress-to-screen p95', p(95), { max: 150, unit: ' ms' }),
      ],
      figures: { written, detRecords, detMatches, screen, engine: state.counters, rssStart, rssMax, rssEnd, keys, idleKey, lost },
    };
  } finally {
    await engine?.stop();
    t?.kill();
    pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const num = (flag, dflt) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : dflt);
  const quick = args.includes('--quick');
  const result = await run({ quick, rate: num('--rate', 20_000), seconds: num('--seconds', quick ? 8 : 30) });
  printResult(result);
  if (result.checks.some((c) => !c.met)) process.exitCode = 1;
}
