// Scans one big log file on two threads: the main thread takes the head, a worker thread the tail,
// split at a line where every record in progress ends (an Odoo header line), so each half parses
// exactly as it would in one pass. The worker's counts and incidents are then merged as if its
// matches had come after the main thread's.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Incident, Pattern } from '../core/types.js';
import type { UnclassifiedPolicy } from '../unclassified/grouper.js';
import { findRecordStart, scanRange, type ScanPlan } from './scan-file.js';
import type { Tally, Unmatched } from './scan-tally.js';

export interface RangeJob {
  path: string;
  from: number;
  to: number;
  patterns: readonly Pattern[];
  since: number | null;
  /** The scan's clock, read once: a worker cannot call back into the main thread's `now()`. */
  now: number;
  /** Unclassified incidents policy, or null when off. */
  unclassified: UnclassifiedPolicy | null;
}

export interface RangeResult {
  lines: number;
  records: number;
  skipped: number;
  unmatched: Unmatched;
  /** Line numbers of samples count from the range start. */
  incidents: Incident[];
  error: string | null;
}

export { PARALLEL_MIN_BYTES } from './scan-parallel-limits.js';
/** The worker's share of the file: less than half, because it starts later (thread and module start-up). */
const WORKER_SHARE = 0.46;

const WORKER = fileURLToPath(new URL('./scan-worker.js', import.meta.url));

/** Whether a parallel scan can run here: two cores, and the compiled worker (absent under vitest's TS). */
export function canScanInParallel(): boolean {
  return availableParallelism() >= 2 && existsSync(WORKER);
}

/** A worker started ahead of its job (prestartScanWorker); unref'd until used. */
let prestarted: Worker | null = null;

/**
 * Starts the scan worker thread now, so that its start-up (a fresh V8 isolate, its modules: ~50 ms)
 * overlaps the caller's own work, e.g. loading the patterns, instead of delaying the scan. For a
 * caller that is about to scan a file of at least PARALLEL_MIN_BYTES; harmless if it does not.
 */
export function prestartScanWorker(): void {
  if (prestarted || !canScanInParallel()) return;
  const w = new Worker(WORKER);
  w.unref();
  // A worker that failed before its job must not be handed one (nothing would answer), nor turn
  // into an unhandled error.
  w.on('error', () => {});
  w.once('exit', () => {
    if (prestarted === w) prestarted = null;
  });
  prestarted = w;
}

function takeWorker(): Worker {
  const w = prestarted ?? new Worker(WORKER);
  prestarted = null;
  w.ref();
  return w;
}

/** Where the worker's range starts, or null when no record starts near the planned split. */
export function splitPoint(fd: number, size: number, path: string): number | null {
  return findRecordStart(fd, Math.floor(size * (1 - WORKER_SHARE)), path);
}

/**
 * Scans the open file `fd` of `size` bytes into `tally` (whose book must hold only matches, see
 * IncidentBook#absorbLater). Returns the worker's read error, if any (the main thread's throws).
 */
export async function scanInTwo(
  fd: number,
  size: number,
  path: string,
  plan: ScanPlan,
  tally: Tally,
  job: Pick<RangeJob, 'patterns' | 'since' | 'now' | 'unclassified'>,
): Promise<string | null> {
  const split = splitPoint(fd, size, path);
  if (split === null) {
    scanRange(fd, 0, Infinity, path, plan, tally);
    return null;
  }
  const worker = takeWorker();
  const done = new Promise<RangeResult>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`scan worker exited with code ${code} before answering`)));
  });
  worker.postMessage({ ...job, path, from: split, to: Infinity } satisfies RangeJob);
  let lines: number;
  try {
    lines = scanRange(fd, 0, split, path, plan, tally);
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  let r: RangeResult;
  try {
    r = await done;
  } finally {
    void worker.terminate();
  }
  tally.records += r.records;
  tally.skipped += r.skipped;
  tally.unmatched.warning += r.unmatched.warning;
  tally.unmatched.error += r.unmatched.error;
  tally.unmatched.critical += r.unmatched.critical;
  for (const i of r.incidents) if (i.sample) i.sample.line += lines;
  tally.book.absorbLater(r.incidents);
  return r.error;
}
