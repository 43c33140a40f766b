#!/usr/bin/env node
// Bench 6 — open world (issue 10): what unclassified incidents cost `detect`, and detect beside grep
// on a log full of errors.
//
//   A. detect on the log-scan bench's 100 MB log (bench/log-scan.mjs: real sample records, ~1% error
//      records), this build against an older build given with --before <checkout with dist/ built>.
//      Target: within 25% of the time before unclassified incidents.
//   B. detect beside `grep -E -c -f` on a 100 MB log where 10-15% of the lines belong to error
//      records with tracebacks (the sample's tracebacks, including the ZeroDivisionError of
//      test/fixtures/logs/unclassified_route_and_cron.log that no pattern knows). grep gets the
//      pattern database's regexes as ERE plus what makes a line an unclassified error for odoo-heal
//      (an ERROR/CRITICAL header, a traceback start), so both look for "every error". grep's output
//      goes to a file: GNU grep stops at the first match when its output is /dev/null.
//   C. the same log gzip-compressed: `detect log.gz` beside `zgrep -E -c -f` (and the --before build's).
//
//   npm run build && node bench/open-world.mjs [--before DIR] [--mb 100] [--runs 3]
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { bin, fixtures, patternsDir } from './lib/dist.mjs';
import { patternRegexes } from './lib/ere.mjs';
import { buildLog, recordText, sampleRecords } from './lib/logs.mjs';
import { runMeasured } from './lib/proc.mjs';
import { fmt, isMain, median, printResult, table } from './lib/stats.mjs';

async function time(argv, runs, { stdoutFile = null, env = process.env } = {}) {
  const walls = [];
  let rss = 0;
  let first = null;
  for (let i = 0; i < runs; i++) {
    // A file for stdout when asked (grep), else a pipe (detect's JSON is read back).
    const full = stdoutFile ? ['sh', '-c', '"$@" > "$0"', stdoutFile, ...argv] : argv;
    const r = await runMeasured(full, { env, stdout: stdoutFile ? 'ignore' : 'pipe' });
    if (r.code > 3) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    walls.push(r.wallMs);
    rss = Math.max(rss, r.peakRssMb);
    first ??= stdoutFile ? readFileSync(stdoutFile, 'utf8') : r.stdout;
  }
  return { wallMs: median(walls), all: walls, peakRssMb: rss, stdout: first };
}

/** A log of about `bytes` where `share` of the lines belong to error records with a traceback. */
async function errorLog(path, bytes, share) {
  const pool = await sampleRecords();
  const { parseText } = await import('../dist/engine/logs/parser.js');
  const extra = parseText(readFileSync(join(fixtures, 'logs', 'unclassified_route_and_cron.log'), 'utf8'), 'x')
    .filter((r) => r.lines.some((l) => l.startsWith('Traceback')))
    .map((r) => ({ lines: r.lines, stamped: r.kind === 'odoo' }));
  const tracebacks = [...pool.error.filter((r) => r.lines.some((l) => l.startsWith('Traceback'))), ...extra];
  const normal = pool.normal;
  const fd = openSync(path, 'w');
  let written = 0;
  let lines = 0;
  let errLines = 0;
  let records = 0;
  let errRecords = 0;
  let n = 0;
  let e = 0;
  const start = Date.now() - 24 * 3600_000;
  let chunk = [];
  try {
    while (written < bytes) {
      const useError = errLines < share * lines;
      const rec = useError ? tracebacks[e++ % tracebacks.length] : normal[n++ % normal.length];
      const text = recordText(rec, start + records * 50);
      chunk.push(text);
      written += Buffer.byteLength(text);
      lines += rec.lines.length;
      if (useError) {
        errLines += rec.lines.length;
        errRecords++;
      }
      records++;
      if (chunk.length >= 4096) {
        writeSync(fd, chunk.join(''));
        chunk = [];
      }
    }
    if (chunk.length) writeSync(fd, chunk.join(''));
  } finally {
    closeSync(fd);
  }
  return { bytes: written, lines, errLines, records, errRecords, kinds: tracebacks.length };
}

export async function run({ mb = 100, runs = 3, before = null } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-bench-open-'));
  const lines = [];
  const notes = [];
  const figures = {};
  try {
    // ---------------------------------------------------------------- A
    const benchLog = join(dir, 'bench.log');
    const built = await buildLog(benchLog, mb * 1024 * 1024);
    readFileSync(benchLog);
    const now = await time([process.execPath, bin, 'detect', benchLog, '--json'], runs);
    const nowOut = JSON.parse(now.stdout);
    const rowsA = [['this build', fmt(now.wallMs / 1000, 2), now.all.map((t) => fmt(t / 1000, 2)).join(' '), fmt(now.peakRssMb, 0), String(nowOut.incidents.length), String(nowOut.incidents.filter((i) => i.kind === 'unclassified').length)]];
    figures.benchLogNowS = now.wallMs / 1000;
    if (before) {
      const was = await time([process.execPath, join(before, 'bin', 'odoo-heal'), 'detect', benchLog, '--json'], runs);
      const wasOut = JSON.parse(was.stdout);
      rowsA.unshift([`before (${before})`, fmt(was.wallMs / 1000, 2), was.all.map((t) => fmt(t / 1000, 2)).join(' '), fmt(was.peakRssMb, 0), String(wasOut.incidents.length), '-']);
      figures.benchLogBeforeS = was.wallMs / 1000;
      figures.benchLogRatio = now.wallMs / was.wallMs;
    }
    lines.push(`A. detect on the log-scan bench's log: ${fmt(built.bytes / 2 ** 20, 0)} MB, ${built.lines} lines, ${built.errorRecords} error records (${fmt((built.errorRecords / built.records) * 100, 2)}%)`);
    lines.push(...table(['build', 'median s', 'runs s', 'peak RSS MB', 'incidents', 'unclassified'], rowsA).split('\n'));
    if (figures.benchLogRatio) lines.push(`after / before = ${fmt(figures.benchLogRatio, 2)}x (target: at most 1.25x)`);
    rmSync(benchLog);

    // ---------------------------------------------------------------- B
    const log = join(dir, 'errors.log');
    const e = await errorLog(log, mb * 1024 * 1024, 0.12);
    const { converted: all } = patternRegexes(patternsDir);
    // As in log-scan.mjs: a regex that alone matches most lines (a guard meaningful only beside its
    // pattern's other conditions) would make grep count every line; such regexes are left out.
    const sample = join(dir, 'sample.log');
    writeFileSync(sample, readdirSync(join(fixtures, 'logs')).filter((n) => n.endsWith('.log')).map((n) => readFileSync(join(fixtures, 'logs', n), 'utf8')).join(''));
    const sampleLines = readFileSync(sample, 'utf8').split('\n').length;
    const converted = all.filter((c) => Number(spawnSync('grep', ['-E', '-c', '-e', c.ere, sample], { encoding: 'utf8' }).stdout.trim()) <= sampleLines / 5);
    notes.push(`grep gets ${converted.length} of the ${all.length} bundled regexes expressible in ERE (${all.length - converted.length} left out as matching most lines alone) plus 2 for unclassified errors`);
    const ere = join(dir, 'errors.ere');
    // The bundled regexes, plus what odoo-heal groups as unclassified: ERROR/CRITICAL headers and
    // traceback starts (so grep, too, counts every error line it can see on one line).
    const extra = ['^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ', '^Traceback \\(most recent call last\\):'];
    writeFileSync(ere, `${[...converted.map((c) => c.ere), ...extra].join('\n')}\n`);
    readFileSync(log);
    const detect = await time([process.execPath, bin, 'detect', log, '--json'], runs);
    const grepOut = join(dir, 'grep.out');
    const grepC = await time(['grep', '-E', '-c', '-f', ere, log], runs, { stdoutFile: grepOut, env: { ...process.env, LC_ALL: 'C' } });
    const grepU = await time(['grep', '-E', '-c', '-f', ere, log], runs, { stdoutFile: grepOut, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    const out = JSON.parse(detect.stdout);
    const uncl = out.incidents.filter((i) => i.kind === 'unclassified');
    lines.push('');
    lines.push(
      `B. ${fmt(e.bytes / 2 ** 20, 0)} MB, ${e.lines} lines, ${fmt((e.errLines / e.lines) * 100, 1)}% of them in ${e.errRecords} error records with tracebacks (${e.kinds} distinct tracebacks of the sample logs)`,
    );
    lines.push(
      ...table(
        ['tool', 'median s', 'MB/s', 'runs s', 'peak RSS MB'],
        [
          ['odoo-heal detect --json', fmt(detect.wallMs / 1000, 2), fmt(e.bytes / 2 ** 20 / (detect.wallMs / 1000), 0), detect.all.map((t) => fmt(t / 1000, 2)).join(' '), fmt(detect.peakRssMb, 0)],
          ['grep -E -c -f > file (LC_ALL=C)', fmt(grepC.wallMs / 1000, 2), fmt(e.bytes / 2 ** 20 / (grepC.wallMs / 1000), 0), grepC.all.map((t) => fmt(t / 1000, 2)).join(' '), fmt(grepC.peakRssMb, 0)],
          ['grep -E -c -f > file (LC_ALL=C.UTF-8)', fmt(grepU.wallMs / 1000, 2), fmt(e.bytes / 2 ** 20 / (grepU.wallMs / 1000), 0), grepU.all.map((t) => fmt(t / 1000, 2)).join(' '), fmt(grepU.peakRssMb, 0)],
        ],
      ).split('\n'),
    );
    lines.push(
      `detect: ${out.sources[0].records} records, ${out.incidents.length} incidents (${uncl.length} unclassified: ${uncl.map((i) => `${i.title} x${i.count}`).join('; ')}); grep counted ${grepC.stdout.trim()} lines`,
    );
    lines.push(`detect / grep = ${fmt(detect.wallMs / grepC.wallMs, 2)}x (LC_ALL=C), ${fmt(detect.wallMs / grepU.wallMs, 2)}x (UTF-8)`);
    Object.assign(figures, { errorsDetectS: detect.wallMs / 1000, errorsGrepCS: grepC.wallMs / 1000, errorsGrepUtf8S: grepU.wallMs / 1000 });

    // ---------------------------------------------------------------- C
    const gz = `${log}.gz`;
    spawnSync('sh', ['-c', 'gzip -c "$0" > "$1"', log, gz]);
    rmSync(log);
    readFileSync(gz);
    const dgz = await time([process.execPath, bin, 'detect', gz, '--json'], runs);
    const dgzWas = before ? await time([process.execPath, join(before, 'bin', 'odoo-heal'), 'detect', gz, '--json'], runs) : null;
    const zg = await time(['zgrep', '-E', '-c', '-f', ere, gz], runs, { stdoutFile: grepOut, env: { ...process.env, LC_ALL: 'C' } });
    const gzOut = JSON.parse(dgz.stdout);
    const sameAsPlain = JSON.stringify(gzOut.incidents.map((i) => [i.id, i.count])) === JSON.stringify(out.incidents.map((i) => [i.id, i.count]));
    lines.push('');
    lines.push(`C. the same log gzip-compressed (gzip -6): ${fmt(readFileSync(gz).length / 2 ** 20, 1)} MB`);
    lines.push(
      ...table(
        ['tool', 'median s', 'runs s', 'peak RSS MB', 'result'],
        [
          ...(dgzWas ? [[`detect log.gz, before (${before})`, fmt(dgzWas.wallMs / 1000, 2), dgzWas.all.map((t) => fmt(t / 1000, 2)).join(' '), fmt(dgzWas.peakRssMb, 0), '']] : []),
          ['odoo-heal detect log.gz --json', fmt(dgz.wallMs / 1000, 2), dgz.all.map((t) => fmt(t / 1000, 2)).join(' '), fmt(dgz.peakRssMb, 0), `${gzOut.sources[0].records} records, ${gzOut.incidents.length} incidents${gzOut.sources[0].error ? `, error: ${gzOut.sources[0].error}` : ''}`],
          ['zgrep -E -c -f > file (LC_ALL=C)', fmt(zg.wallMs / 1000, 2), zg.all.map((t) => fmt(t / 1000, 2)).join(' '), fmt(zg.peakRssMb, 0), `${zg.stdout.trim()} lines`],
        ],
      ).split('\n'),
    );
    lines.push(`detect on .gz gives ${sameAsPlain ? 'the same' : 'DIFFERENT'} incidents (ids, counts) as on the plain file; detect / zgrep = ${fmt(dgz.wallMs / zg.wallMs, 2)}x`);
    Object.assign(figures, { gzDetectS: dgz.wallMs / 1000, zgrepS: zg.wallMs / 1000, gzSameAsPlain: sameAsPlain, plainDetectS: detect.wallMs / 1000 });
    lines.push(`detect log.gz / detect on the plain log = ${fmt(dgz.wallMs / detect.wallMs, 2)}x`);
    if (dgzWas) {
      lines.push(`detect log.gz before / now = ${fmt(dgzWas.wallMs / dgz.wallMs, 2)}x; before / zgrep = ${fmt(dgzWas.wallMs / zg.wallMs, 2)}x`);
      figures.gzDetectBeforeS = dgzWas.wallMs / 1000;
    }
    notes.push('grep and zgrep only count matching lines: no records, no tracebacks, no grouping, no JSON.');
    return { title: `6. Open world (${mb} MB logs)`, lines, notes, checks: [], figures };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (flag, dflt) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : dflt);
  printResult(await run({ mb: Number(opt('--mb', 100)), runs: Number(opt('--runs', 3)), before: opt('--before', null) }));
}
