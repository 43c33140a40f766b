// Follows a command's output as lines (`journalctl -u odoo -f -o short-iso -n 0`, `docker logs -f ...`):
// spawned without a shell, restarted with capped exponential backoff when it exits, killed with its
// whole process group on stop().

import { spawn, type ChildProcess } from 'node:child_process';
import { errorMessage } from '../core/errors.js';
import { LineSplitter } from './line-splitter.js';
import { ErrorGate, FollowError, type FollowState, type FollowStatus, type LinesCallback } from './follow-file.js';

export interface CommandFollowerOptions {
  /** Source id for the lines (e.g. `journald`). */
  name: string;
  /** argv[0] is looked up in PATH; no shell is involved, so no quoting or globbing surprises. */
  argv: string[];
  onLines: LinesCallback;
  onError?: (err: FollowError) => void;
  onStatus?: (status: FollowStatus, source: string) => void;
  maxLineBytes?: number;
  /** First restart delay; doubles per consecutive failure up to restartMaxMs. Defaults 1000 / 30000 ms. */
  restartBaseMs?: number;
  restartMaxMs?: number;
  /** A child that ran this long counts as healthy: backoff and error reporting start over. Default 10000 ms. */
  stableMs?: number;
  /** Time between SIGTERM and SIGKILL on stop(). Default 2000 ms. */
  killGraceMs?: number;
  /** A partial last line quiet this long is taken as final. Default 2000 ms. */
  partialLineMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Process groups still alive, killed if our process exits without stop() (so no orphaned `journalctl -f`). */
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pid: number): void {
  liveGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pgid of liveGroups) killGroup(pgid, 'SIGTERM');
  });
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** One stream (stdout or stderr) of one child: splitter plus the quiet-partial timer. */
class StreamLines {
  private readonly splitter: LineSplitter;
  private timer: NodeJS.Timeout | null = null;
  lastLine: string | null = null;
  constructor(
    maxLineBytes: number | undefined,
    private readonly partialLineMs: number,
    private readonly emit: (lines: string[]) => void,
  ) {
    this.splitter = new LineSplitter(maxLineBytes);
  }
  push(chunk: Buffer): void {
    const lines = this.splitter.push(chunk);
    this.deliver(lines);
    if (this.timer) clearTimeout(this.timer);
    this.timer = this.splitter.hasPartial ? setTimeout(() => this.flush(), this.partialLineMs) : null;
  }
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.deliver(this.splitter.flushPartial());
  }
  private deliver(lines: string[]): void {
    if (lines.length === 0) return;
    this.lastLine = lines[lines.length - 1]!;
    this.emit(lines);
  }
}

export class CommandFollower {
  readonly source: string;
  private readonly bin: string;
  private readonly errors: ErrorGate;
  private readonly restartBaseMs: number;
  private readonly restartMaxMs: number;
  private readonly stableMs: number;
  private readonly killGraceMs: number;
  private child: ChildProcess | null = null;
  /** Resolves when the current child's stdio closed and its end was handled. */
  private childDone: Promise<void> | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private started = false;
  private stopped = false;
  private closed = false;
  private _status: FollowStatus = { state: 'starting', message: 'starting', since: Date.now() };

  constructor(private readonly opts: CommandFollowerOptions) {
    const bin = opts.argv[0];
    if (bin === undefined || bin === '') throw new Error(`command source "${opts.name}": argv is empty`);
    this.bin = bin;
    this.source = opts.name;
    this.errors = new ErrorGate(opts.onError);
    this.restartBaseMs = opts.restartBaseMs ?? 1000;
    this.restartMaxMs = opts.restartMaxMs ?? 30_000;
    this.stableMs = opts.stableMs ?? 10_000;
    this.killGraceMs = opts.killGraceMs ?? 2000;
  }

  get status(): FollowStatus {
    return this._status;
  }

  /** Spawns the command; resolves once it started (or failed to, which is reported and retried). */
  async start(): Promise<void> {
    if (this.started) throw new Error(`CommandFollower(${this.source}) already started`);
    this.started = true;
    await this.launch();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    const done = this.childDone;
    if (child?.pid !== undefined && done) {
      killGroup(child.pid, 'SIGTERM');
      if (!(await settlesWithin(done, this.killGraceMs))) {
        killGroup(child.pid, 'SIGKILL');
        await settlesWithin(done, 2000);
      }
    }
    this.setStatus('stopped', 'stopped');
    this.closed = true;
  }

  /** Resolves when the child spawned or failed to spawn. */
  private launch(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const startedAt = Date.now();
    const emit = (lines: string[]): void => {
      if (!this.closed) this.opts.onLines(lines, this.source);
    };
    const partialMs = this.opts.partialLineMs ?? 2000;
    const out = new StreamLines(this.opts.maxLineBytes, partialMs, emit);
    const err = new StreamLines(this.opts.maxLineBytes, partialMs, emit);

    let child: ChildProcess;
    try {
      child = spawn(this.bin, this.opts.argv.slice(1), {
        stdio: ['ignore', 'pipe', 'pipe'],
        // Own process group, so stop() can kill helpers the command started (docker's, journalctl's pager...).
        detached: true,
        env: this.opts.env,
        cwd: this.opts.cwd,
      });
    } catch (e) {
      this.ended(startedAt, null, null, e as NodeJS.ErrnoException, null);
      return Promise.resolve();
    }
    this.child = child;
    let spawnError: NodeJS.ErrnoException | null = null;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

    const spawned = new Promise<void>((resolve) => {
      child.once('spawn', () => {
        if (child.pid !== undefined) trackGroup(child.pid);
        this.setStatus('following', `running ${this.opts.argv.join(' ')}`);
        resolve();
      });
      child.once('error', (e: NodeJS.ErrnoException) => {
        spawnError ??= e;
        resolve();
      });
    });
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      // Helpers left in the group would keep our pipes open (and 'close' from firing).
      if (child.pid !== undefined) killGroup(child.pid, 'SIGTERM');
    });
    this.childDone = new Promise<void>((resolve) => {
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        if (child.pid !== undefined) liveGroups.delete(child.pid);
        out.flush();
        err.flush();
        this.child = null;
        const status = exit ?? { code, signal };
        this.ended(startedAt, spawnError ? null : status.code, spawnError ? null : status.signal, spawnError, err.lastLine);
        resolve();
      });
    });
    return spawned;
  }

  /** The child is gone (or never started): report once, schedule a restart with backoff. */
  private ended(
    startedAt: number,
    code: number | null,
    signal: NodeJS.Signals | null,
    spawnError: NodeJS.ErrnoException | null,
    lastStderr: string | null,
  ): void {
    if (this.stopped) return;
    if (Date.now() - startedAt >= this.stableMs) {
      this.failures = 0;
      this.errors.clear();
    }
    const delay = Math.min(this.restartMaxMs, this.restartBaseMs * 2 ** this.failures);
    this.failures++;
    const again = `; restarting in ${formatDelay(delay)}`;
    let errCode: string;
    let message: string;
    if (spawnError) {
      errCode = spawnError.code ?? 'ESPAWN';
      message =
        errCode === 'ENOENT'
          ? `${this.source}: command not found: ${this.bin} (ENOENT)`
          : `${this.source}: cannot run ${this.bin}: ${errorMessage(spawnError)}`;
    } else {
      errCode = 'EXIT';
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      message = `${this.source}: ${this.bin} ${how}${lastStderr ? `: ${lastStderr}` : ''}`;
    }
    this.setStatus(errCode === 'EXIT' ? 'waiting' : 'error', message + again);
    this.errors.report(new FollowError(this.source, errCode, message + again));
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.launch();
    }, delay);
  }

  private setStatus(state: FollowState, message: string): void {
    if (this._status.state === state && this._status.message === message) return;
    this._status = { state, message, since: Date.now() };
    this.opts.onStatus?.(this._status, this.source);
  }
}

async function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const result = await Promise.race([p.then(() => true), timeout]);
  clearTimeout(timer);
  return result;
}

function formatDelay(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10}s` : `${ms}ms`;
}
