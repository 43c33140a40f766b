// Worker thread of a parallel scan (scan-parallel.ts): waits for one job (it may be started before
// the patterns are even loaded, so that its own start-up overlaps the main thread's), scans that
// range of the log with its own matcher and incident book, posts back the counts and incidents
// for the main thread to merge, and ends.
import { closeSync, openSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { IncidentBook } from '../incidents/incidents.js';
import { LogReadError } from '../logs/read-records.js';
import type { Pattern } from '../core/types.js';
import { UnclassifiedGrouper } from '../unclassified/grouper.js';
import { Matcher } from './matcher.js';
import { scanPlan, scanRange } from './scan-file.js';
import type { RangeJob, RangeResult } from './scan-parallel.js';
import { Tally } from './scan-tally.js';

function run(job: RangeJob): RangeResult {
  const grouper = job.unclassified ? new UnclassifiedGrouper(job.unclassified) : null;
  const tally = new Tally(new Matcher(job.patterns as Pattern[]), new IncidentBook(), { since: job.since, now: () => job.now, grouper });
  let lines = 0;
  let error: string | null = null;
  try {
    let fd: number;
    try {
      fd = openSync(job.path, 'r');
    } catch (err) {
      throw new LogReadError(job.path, err);
    }
    try {
      lines = scanRange(fd, job.from, job.to, job.path, scanPlan(tally.matcher, grouper !== null), tally);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (!(err instanceof LogReadError)) throw err;
    error = err.message;
  }
  return { lines, records: tally.records, skipped: tally.skipped, unmatched: tally.unmatched, incidents: tally.book.list(), error };
}

parentPort!.once('message', (job: RangeJob) => parentPort!.postMessage(run(job)));
