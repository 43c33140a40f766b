// `patterns suggest` over whole logs: find the unclassified incident, collect its records and the
// other error records read with them, draft and prove a pattern (suggest.ts); and the one place a
// proved draft is written, as a new file of the local pattern directory.
import { existsSync, promises as fsp, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDir, writeFileDurable } from '../core/durable.js';
import { UsageError } from '../core/errors.js';
import { parseText } from '../logs/parser.js';
import { loadPatternLayers, loadPatterns } from '../patterns/load.js';
import { Matcher } from '../patterns/matcher.js';
import { scanSources } from '../patterns/scan.js';
import type { Incident, LogRecord, Pattern } from '../core/types.js';
import { DEFAULT_UNCLASSIFIED, type UnclassifiedPolicy } from './grouper.js';
import { isUnclassifiedCandidate, signatureOf } from '../incidents/signature.js';
import { draftPattern, patternFileText, proofOk, provePattern, type Proof } from './suggest.js';

export interface Suggestion {
  incidentId: string;
  title: string;
  pattern: Pattern;
  proof: Proof;
  ok: boolean;
  /** Why it is not proved (empty when ok). */
  why: string[];
}

/** Healthy Odoo logs shipped with a checkout (test/fixtures/logs/baseline_*.log), if there. */
export function defaultBaselines(): string[] {
  const dir = fileURLToPath(new URL('../../../test/fixtures/logs/', import.meta.url));
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.startsWith('baseline_') && n.endsWith('.log'))
    .sort()
    .map((n) => join(dir, n));
}

export interface SuggestInput {
  sources: string[];
  layers: string[];
  baselines: string[];
  unclassified?: UnclassifiedPolicy;
}

/** Drafts and proves a pattern for the unclassified incident `ref` (id or signature) of `sources`. */
export async function suggestForLogs(ref: string, input: SuggestInput): Promise<Suggestion> {
  const matcher = new Matcher(loadPatternLayers(input.layers));
  const policy = input.unclassified && input.unclassified.mode !== 'off' ? input.unclassified : DEFAULT_UNCLASSIFIED;
  const candidates: LogRecord[] = [];
  const result = await scanSources(input.sources, matcher, {
    unclassified: policy,
    // Every error-like record, explained or not: the draft must match none but its own.
    onRecord: (r) => {
      if (isUnclassifiedCandidate(r)) candidates.push(r);
    },
  });
  for (const s of result.sources) if (s.error) throw new UsageError(`patterns suggest: ${s.error}`);
  const incident = result.book.find(ref);
  if (!incident || incident.origin.kind !== 'unclassified') {
    const known = result.book.list().filter((i) => i.origin.kind === 'unclassified').map((i) => i.id);
    throw new UsageError(
      `patterns suggest: no unclassified incident ${JSON.stringify(ref)} in ${input.sources.join(', ')}${known.length ? ` (unclassified: ${known.join(', ')})` : ' (it has none)'}`,
    );
  }
  return suggestFor(incident, candidates, input.baselines);
}

/**
 * Drafts and proves a pattern for the unclassified `incident` (suggest.ts): `candidates` are the
 * error-like records read with it, its own and every other (which the draft must not match);
 * `baselines` healthy log files. `patterns suggest` passes what it scanned, the console what the
 * engine kept of the logs it follows.
 */
export function suggestFor(incident: Incident, candidates: readonly LogRecord[], baselineFiles: readonly string[]): Suggestion {
  if (incident.origin.kind !== 'unclassified') throw new UsageError(`${incident.id} is not an unclassified incident`);
  const signature = incident.origin.signature;
  const own: LogRecord[] = [];
  const others: LogRecord[] = [];
  for (const r of candidates) (signatureOf(r).key === signature ? own : others).push(r);
  const baselines = new Map<string, LogRecord[]>();
  for (const file of baselineFiles) baselines.set(file, parseText(readFileSync(file, 'utf8'), file));
  const sample = incident.sample ?? own[0];
  if (!sample) throw new UsageError(`${incident.id}: none of its records is at hand to draft a pattern from`);
  const pattern = draftPattern(incident, sample);
  const proof = provePattern(pattern, own, others, baselines);
  const why: string[] = [];
  if (proof.refused) why.push(`refused by the pattern checks: ${proof.refused}`);
  if (proof.matched < proof.of) why.push(`matches only ${proof.matched} of the incident's ${proof.of} records`);
  if (proof.otherHits.length) why.push(`also matches ${proof.otherHits.length} other record(s), e.g. ${proof.otherHits.slice(0, 3).join(', ')}`);
  if (proof.baselineHits.length) why.push(`matches ${proof.baselineHits.length} record(s) of healthy baseline logs, e.g. ${proof.baselineHits.slice(0, 3).join(', ')}`);
  return { incidentId: incident.id, title: incident.title, pattern, proof, ok: proofOk(proof), why };
}

/** The proof in one line, as `patterns suggest` and the console print it; `read` names what the
 * other records came from ("2 log(s)", "the followed logs"). */
export function proofLine(p: Proof, read: string): string {
  return `matches ${p.matched} of the incident's ${p.of} record(s); ${p.otherHits.length} other record(s) of ${read}; ${p.baselineHits.length} record(s) of ${p.baselines.length} baseline log(s)`;
}

/**
 * Writes a proved draft as `<dir>/<id>.json` (created 0755 if missing), atomically and never over
 * an existing file; refuses an id the local directory already defines. Returns the path.
 */
export async function writeLocalPattern(dir: string, pattern: Pattern): Promise<string> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(pattern.id)) throw new UsageError(`pattern id ${JSON.stringify(pattern.id)}: expected a-z, 0-9 and -`);
  const path = join(dir, `${pattern.id}.json`);
  if (existsSync(dir)) {
    const there = loadPatterns(dir);
    if (there.some((p) => p.id === pattern.id)) throw new UsageError(`${dir}: a local pattern with id "${pattern.id}" exists already`);
  } else {
    await ensureDir(dir, 0o755);
  }
  try {
    await fsp.access(path);
    throw new UsageError(`${path}: exists already, not overwritten`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
  await writeFileDurable(path, patternFileText(pattern), { mode: 0o644 });
  return path;
}
