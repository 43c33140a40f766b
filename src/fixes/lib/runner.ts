// The one way fixes run commands: an argument array handed to the kernel directly (never a shell, so
// `;`, `$()`, globs in arguments are plain bytes), only executables on the configured allowlist, a
// timeout that kills the whole process group, and bounded output kept for the audit log.
import { spawn } from 'node:child_process';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join } from 'node:path';
import type { CommandResult, CommandRunner } from '../types.js';

export class CommandRefused extends Error {
  constructor(
    readonly argv: string[],
    readonly reason: string,
  ) {
    super(`command refused: ${reason}`);
    this.name = 'CommandRefused';
  }
}

/** Output kept per stream: the first and the last half of this many bytes. */
export const OUTPUT_LIMIT = 64 * 1024;
const KILL_GRACE_MS = 2000;

/** Keeps the head and the tail of a stream (errors are usually at the end, context at the start). */
class BoundedOutput {
  private head: Buffer[] = [];
  private headLen = 0;
  private tail: Buffer[] = [];
  private tailLen = 0;
  private dropped = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    const half = this.limit / 2;
    if (this.headLen < half) {
      const take = chunk.subarray(0, half - this.headLen);
      this.head.push(take);
      this.headLen += take.length;
      chunk = chunk.subarray(take.length);
    }
    if (chunk.length === 0) return;
    this.tail.push(chunk);
    this.tailLen += chunk.length;
    while (this.tailLen > half) {
      const first = this.tail[0]!;
      const excess = this.tailLen - half;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailLen -= first.length;
        this.dropped += first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailLen -= excess;
        this.dropped += excess;
      }
    }
  }
  toString(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    return this.dropped > 0 ? `${head}\n[… ${this.dropped} bytes omitted …]\n${tail}` : head + tail;
  }
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function which(name: string, pathEnv: string | undefined): string | null {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue; // relative PATH entries would depend on the cwd
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

function realOrSelf(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    return p;
  }
}

export interface RunnerOptions {
  /** Allowed executables: basenames (looked up in PATH) or absolute paths. */
  allow: string[];
  timeoutMs: number;
}

/**
 * Resolves argv[0] to the absolute executable to start, or explains why not. A basename entry in the
 * allowlist admits that program name (bare, found via PATH, or given by absolute path — the allowlist is
 * the admin's choice of programs); an absolute entry admits exactly that file (compared by realpath).
 */
export function resolveAllowed(argv0: string, allow: readonly string[], pathEnv = process.env.PATH): string {
  if (typeof argv0 !== 'string' || argv0.length === 0) throw new CommandRefused([String(argv0)], 'empty command');
  if (argv0.includes('\0')) throw new CommandRefused([argv0], 'command contains a NUL byte');
  let exe: string;
  if (argv0.includes('/')) {
    if (!isAbsolute(argv0)) throw new CommandRefused([argv0], `${argv0}: relative executable paths are not allowed (use a name on PATH or an absolute path)`);
    exe = argv0;
  } else {
    const found = which(argv0, pathEnv);
    if (!found) throw new CommandRefused([argv0], `${argv0}: not found on PATH (${pathEnv ?? ''})`);
    exe = found;
  }
  if (!isExecutableFile(exe)) throw new CommandRefused([argv0], `${exe}: not an executable file`);
  const exeReal = realOrSelf(exe);
  const allowed = allow.some((entry) => {
    if (isAbsolute(entry)) return entry === exe || realOrSelf(entry) === exeReal;
    return !entry.includes('/') && entry === basename(exe);
  });
  if (!allowed) {
    throw new CommandRefused([argv0], `${basename(exe)} (${exe}) is not in fixes.allowCommands [${allow.join(', ')}]`);
  }
  return exe;
}

export function createRunner(opts: RunnerOptions): CommandRunner {
  const allow = [...opts.allow];
  return {
    run(argv, runOpts = {}) {
      if (!Array.isArray(argv) || argv.length === 0) return Promise.reject(new CommandRefused([], 'empty argv'));
      if (argv.some((a) => typeof a !== 'string' || a.includes('\0'))) {
        return Promise.reject(new CommandRefused(argv, 'arguments must be strings without NUL bytes'));
      }
      let exe: string;
      try {
        exe = resolveAllowed(argv[0]!, allow);
      } catch (err) {
        return Promise.reject(err);
      }
      const timeoutMs = runOpts.timeoutMs ?? opts.timeoutMs;
      const started = Date.now();
      return new Promise<CommandResult>((resolvePromise) => {
        const stdout = new BoundedOutput(OUTPUT_LIMIT);
        const stderr = new BoundedOutput(OUTPUT_LIMIT);
        let timedOut = false;
        let settled = false;
        const child = spawn(exe, argv.slice(1), {
          shell: false,
          argv0: argv[0],
          cwd: runOpts.cwd,
          env: { ...process.env, ...(runOpts.env ?? {}) },
          stdio: ['ignore', 'pipe', 'pipe'],
          // Own process group, so a timeout kills the command and everything it started.
          detached: true,
        });
        const killGroup = (signal: NodeJS.Signals): void => {
          if (child.pid === undefined) return;
          try {
            process.kill(-child.pid, signal);
          } catch {
            /* already gone */
          }
        };
        let graceTimer: NodeJS.Timeout | undefined;
        const timer = setTimeout(() => {
          timedOut = true;
          killGroup('SIGTERM');
          graceTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
        }, timeoutMs);
        child.stdout.on('data', (c: Buffer) => stdout.push(c));
        child.stderr.on('data', (c: Buffer) => stderr.push(c));
        const finish = (exitCode: number | null, signal: string | null, spawnError?: Error): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (graceTimer) clearTimeout(graceTimer);
          // Children of the command left holding our pipes must not keep us waiting.
          child.stdout.destroy();
          child.stderr.destroy();
          const err = spawnError ? `${stderr.toString()}${spawnError.message}\n` : stderr.toString();
          resolvePromise({
            argv: [...argv],
            exitCode,
            signal,
            stdout: stdout.toString(),
            stderr: err,
            durationMs: Date.now() - started,
            timedOut,
          });
        };
        child.on('error', (e) => finish(null, null, e));
        child.on('exit', (code, signal) => {
          // Give the pipes a moment to deliver the last output, then settle regardless.
          const fallback = setTimeout(() => finish(code, signal), 200);
          child.on('close', () => {
            clearTimeout(fallback);
            finish(code, signal);
          });
          if (timedOut) killGroup('SIGKILL'); // leftovers of the group
        });
      });
    },
  };
}
