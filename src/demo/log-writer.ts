// Appends replayed records to the sandbox's Odoo log file the way Odoo does: whole records, one
// write each (a traceback never arrives split across two writes), at a human pace with bursts.
import { promises as fsp } from 'node:fs';
import { restamp, type ReplayRecord, type Rewrites } from './records.js';

export interface LogWriterOptions {
  path: string;
  rewrites: Rewrites;
  /** Multiplies every pause (0.1 = ten times faster); the demo's --minutes scales it. */
  pace: number;
  now?: () => number;
  random?: () => number;
}

export class LogWriter {
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private chatterTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Records written so far (for the summary and tests). */
  written = 0;

  constructor(private readonly opts: LogWriterOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  /** Writes one record now (queued behind earlier writes, so records never interleave). */
  write(record: ReplayRecord): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const text = `${restamp(record, this.now(), this.opts.rewrites).join('\n')}\n`;
    const next = this.queue.then(async () => {
      if (this.stopped) return;
      await fsp.appendFile(this.opts.path, text);
      this.written++;
    });
    // A failed write (sandbox removed under us) must not poison the queue for later records.
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Writes records one after another, `gapMs` apart on average (scaled by pace, jittered). */
  async play(records: readonly ReplayRecord[], gapMs = 350): Promise<void> {
    for (const r of records) {
      if (this.stopped) return;
      await this.write(r);
      await this.sleep(gapMs * (0.5 + this.random()));
    }
  }

  /** Background traffic: healthy records cycled at a few per second, sometimes a burst of several. */
  startChatter(records: readonly ReplayRecord[], meanGapMs = 600): void {
    if (records.length === 0 || this.chatterTimer || this.stopped) return;
    let i = 0;
    const tick = (): void => {
      if (this.stopped) return;
      const burst = this.random() < 0.15 ? 3 + Math.floor(this.random() * 5) : 1;
      for (let k = 0; k < burst; k++) void this.write(records[i++ % records.length]!).catch(() => undefined);
      this.chatterTimer = setTimeout(tick, Math.max(20, meanGapMs * this.opts.pace * (0.3 + 1.4 * this.random())));
      this.chatterTimer.unref?.();
    };
    tick();
  }

  stopChatter(): void {
    if (this.chatterTimer) clearTimeout(this.chatterTimer);
    this.chatterTimer = null;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      // Not unref'd: the scenario's pauses are what keeps a headless demo alive.
      setTimeout(resolve, Math.max(0, ms * this.opts.pace));
    });
  }

  /** A pause that --minutes does not scale (waiting for something outside the log). */
  sleepReal(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Stops writing and waits for the write in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopChatter();
    await this.queue;
  }
}
