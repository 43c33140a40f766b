// All configured log sources behind one object, so the engine starts, stops and inspects them together.

import { UsageError } from '../core/errors.js';
import { CommandFollower } from './follow-command.js';
import {
  FileFollower,
  FollowError,
  type FollowStatus,
  type LinesCallback,
  type ReadPosition,
  type StartPosition,
} from './follow-file.js';

export { FollowError, parseStartPosition } from './follow-file.js';
export type { FollowState, FollowStatus, StartPosition, LinesCallback, ReadPosition } from './follow-file.js';

export type SourceSpec =
  /** `resume`: where an earlier follower of this path stopped (see FileFollowerOptions). */
  /** `postgres`: PostgreSQL's server log (its lines are read as such even without a prefix). */
  | { kind: 'file'; path: string; start: StartPosition; resume?: ReadPosition; postgres?: boolean }
  | { kind: 'command'; name: string; argv: string[] };

export interface SourcesOptions {
  onStatus?: (status: FollowStatus, source: string) => void;
  /** Passed to every follower (tests use short values). */
  maxLineBytes?: number;
  pollMs?: number;
  partialLineMs?: number;
  restartBaseMs?: number;
  restartMaxMs?: number;
}

export interface LogSources {
  /** Source ids in spec order (file path or command name): one RecordAssembler each. */
  readonly ids: readonly string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): Array<{ source: string; status: FollowStatus }>;
  /** Per file source (by path): where reading stands, or stood when stopped. */
  positions(): Map<string, ReadPosition>;
}

interface Follower {
  readonly source: string;
  readonly status: FollowStatus;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the followers; throws UsageError for a spec that cannot work (empty argv, duplicate source id). */
export function createSources(
  specs: SourceSpec[],
  onLines: LinesCallback,
  onError: (err: FollowError) => void,
  options: SourcesOptions = {},
): LogSources {
  const seen = new Set<string>();
  const followers: Follower[] = specs.map((spec, i) => {
    const id = spec.kind === 'file' ? spec.path : spec.name;
    if (!id) throw new UsageError(`logs source #${i + 1}: ${spec.kind === 'file' ? 'path' : 'name'} is empty`);
    // Two sources with one id would interleave into one record assembler and garble multi-line records.
    if (seen.has(id)) throw new UsageError(`logs source "${id}" is listed twice`);
    seen.add(id);
    const common = { onLines, onError, onStatus: options.onStatus, maxLineBytes: options.maxLineBytes, partialLineMs: options.partialLineMs };
    if (spec.kind === 'file') {
      return new FileFollower(spec.path, { ...common, start: spec.start, resume: spec.resume, pollMs: options.pollMs });
    }
    if (spec.argv.length === 0 || !spec.argv[0]) throw new UsageError(`logs command "${spec.name}": argv is empty`);
    return new CommandFollower({
      ...common,
      name: spec.name,
      argv: spec.argv,
      restartBaseMs: options.restartBaseMs,
      restartMaxMs: options.restartMaxMs,
    });
  });

  let state: 'new' | 'started' | 'stopped' = 'new';
  return {
    ids: followers.map((f) => f.source),
    async start() {
      if (state !== 'new') throw new Error(`log sources already ${state}`);
      state = 'started';
      const results = await Promise.allSettled(followers.map((f) => f.start()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        await Promise.allSettled(followers.map((f) => f.stop()));
        state = 'stopped';
        throw failed.reason;
      }
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      await Promise.allSettled(followers.map((f) => f.stop()));
    },
    status() {
      return followers.map((f) => ({ source: f.source, status: f.status }));
    },
    positions() {
      const out = new Map<string, ReadPosition>();
      for (const f of followers) {
        const at = f instanceof FileFollower ? f.position : null;
        if (at) out.set(f.source, at);
      }
      return out;
    },
  };
}
