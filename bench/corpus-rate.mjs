#!/usr/bin/env node
// Recognition rate of `odoo-heal detect` on the public corpus (test/fixtures/public-logs): real
// Odoo 8-19 logs from GitHub issues, each with its expected class in manifest.json. Runs the built
// CLI (`detect --json`) once per excerpt, exactly as an admin would, and prints the rate per class
// and per Odoo version, and the false alarms on benign excerpts (goal: 0).
//
//   npm run build && node bench/corpus-rate.mjs              tables
//   node bench/corpus-rate.mjs --json                        the figures as JSON
//   node bench/corpus-rate.mjs --list                        also one line per excerpt
//   node bench/corpus-rate.mjs --patterns DIR                another pattern directory (e.g. an older one)
//
// An excerpt is recognised when detect reports its class (a pattern id, or an unclassified
// incident) and no other pattern besides the ones its manifest entry allows; a benign excerpt when
// detect reports nothing above info. Pending excerpts (work of another item of issue 10 not landed
// yet) are measured like the others and counted as such in the tables.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = join(ROOT, 'test', 'fixtures', 'public-logs');
const BIN = join(ROOT, 'bin', 'odoo-heal');
const args = process.argv.slice(2);

const patternsDir = args.includes('--patterns') ? args[args.indexOf('--patterns') + 1] : null;
const { excerpts } = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'));

async function detect(file) {
  let stdout;
  try {
    ({ stdout } = await run(process.execPath, [BIN, ...(patternsDir ? ['--patterns', patternsDir] : []), 'detect', '--json', join(DIR, file)], { maxBuffer: 64 << 20 }));
  } catch (err) {
    // Exit 1/2 mean warning/critical incidents: the JSON is still on stdout.
    if (typeof err.stdout !== 'string' || !err.stdout.startsWith('{')) throw err;
    stdout = err.stdout;
  }
  return JSON.parse(stdout).incidents.map((i) => ({ cls: i.patternId ?? 'unclassified', severity: i.severity }));
}

function verdict(e, incidents) {
  if (e.class === 'benign') {
    const alarms = incidents.filter((i) => i.severity !== 'info');
    return alarms.length ? `false alarm: ${alarms.map((i) => i.cls).join(', ')}` : null;
  }
  const got = incidents.map((i) => i.cls);
  if (!got.includes(e.class)) return `found ${got.length ? got.join(', ') : 'nothing'}`;
  const allowed = new Set([e.class, ...(e.also ?? []), 'unclassified']);
  const extra = got.filter((c) => !allowed.has(c));
  return extra.length ? `also ${extra.join(', ')}` : null;
}

// Two at a time: each run is a separate node process.
const results = new Array(excerpts.length);
let next = 0;
await Promise.all(
  [0, 1].map(async () => {
    while (next < excerpts.length) {
      const k = next++;
      const e = excerpts[k];
      const why = verdict(e, await detect(e.file));
      results[k] = { ...e, ok: why === null, why };
    }
  }),
);

function tally(rows) {
  return { n: rows.length, ok: rows.filter((r) => r.ok).length, pending: rows.filter((r) => r.pending !== undefined).length };
}
const pct = (t) => (t.n ? `${Math.round((100 * t.ok) / t.n)}%` : '-');
const incidentsRows = results.filter((r) => r.class !== 'benign');
const benign = results.filter((r) => r.class === 'benign');
const byClass = new Map();
const byVersion = new Map();
for (const r of incidentsRows) {
  byClass.set(r.class, [...(byClass.get(r.class) ?? []), r]);
  byVersion.set(r.version, [...(byVersion.get(r.version) ?? []), r]);
}
const versionKey = (v) => (v === 'unknown' ? 999 : Number.parseFloat(v));
const figures = {
  excerpts: results.length,
  fromIssues: results.filter((r) => /\/(?:issues|pull)\/\d+$/.test(r.source)).length,
  recognised: tally(incidentsRows),
  falseAlarms: benign.filter((r) => !r.ok).length,
  benign: benign.length,
  perClass: Object.fromEntries([...byClass].sort(([a], [b]) => a.localeCompare(b)).map(([c, rows]) => [c, tally(rows)])),
  perVersion: Object.fromEntries([...byVersion].sort(([a], [b]) => versionKey(a) - versionKey(b)).map(([v, rows]) => [v, tally(rows)])),
  benignPerVersion: Object.fromEntries(
    [...new Set(benign.map((r) => r.version))].sort((a, b) => versionKey(a) - versionKey(b)).map((v) => [v, tally(benign.filter((r) => r.version === v))]),
  ),
};

if (args.includes('--json')) {
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  process.exit(0);
}

const line = (cells) => `| ${cells.join(' | ')} |`;
const out = [];
const rec = figures.recognised;
out.push(
  `Corpus: ${figures.excerpts} excerpts (${figures.fromIssues} from GitHub issues and pull requests), ` +
    `${rec.n} with an incident, ${figures.benign} benign.`,
);
out.push(`Recognised: ${rec.ok}/${rec.n} (${pct(rec)}); ${rec.pending} excerpt(s) pending other work of issue 10.`);
out.push(`False alarms on benign excerpts: ${figures.falseAlarms}/${figures.benign}.`);
out.push('');
out.push(line(['class', 'recognised', 'rate', 'pending']));
out.push(line(['---', '---:', '---:', '---:']));
for (const [c, t] of Object.entries(figures.perClass)) out.push(line([c, `${t.ok}/${t.n}`, pct(t), String(t.pending || '')]));
out.push('');
out.push(line(['Odoo', 'recognised', 'rate', 'pending', 'benign (no alarm)']));
out.push(line(['---', '---:', '---:', '---:', '---:']));
const versions = [...new Set([...Object.keys(figures.perVersion), ...Object.keys(figures.benignPerVersion)])].sort((a, b) => versionKey(a) - versionKey(b));
for (const v of versions) {
  const t = figures.perVersion[v] ?? { n: 0, ok: 0, pending: 0 };
  const b = figures.benignPerVersion[v];
  out.push(line([v, `${t.ok}/${t.n}`, pct(t), String(t.pending || ''), b ? `${b.ok}/${b.n}` : '']));
}
if (args.includes('--list')) {
  out.push('');
  for (const r of results) out.push(`${r.ok ? 'ok  ' : 'MISS'} ${r.id} (${r.version}) ${r.class}${r.ok ? '' : `: ${r.why}`}${r.pending ? ' [pending]' : ''}`);
}
process.stdout.write(`${out.join('\n')}\n`);
