// The one contract every fix module follows, and the safety services fixes must use for side
// effects: all file writes go through SafeWriter, all commands through CommandRunner, all paths taken
// from log text through Confiner.
import type { Config, OdooConf } from '../engine/config/types.js';
import type { Incident, ProbeName, ProbeResult } from '../engine/core/types.js';

// ---------------------------------------------------------------------------------------------
// Safety services (implemented in src/fixes/lib/)
// ---------------------------------------------------------------------------------------------

/** Metadata saved next to each backup copy (manifest.json). */
export interface BackupEntry {
  /** Absolute path of the original file. */
  path: string;
  /** Path of the byte-identical copy. */
  copy: string;
  sha256: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  takenAt: number;
  fixId: string;
  incidentId: string;
  attemptId: string;
}

export interface SafeWriter {
  /** Backup (copy + manifest entry) then atomic replace keeping mode and owner. Returns the backup. */
  replaceFile(path: string, content: Buffer | string): Promise<BackupEntry>;
  /** Backup only (e.g. before chmod/chown or deletion). */
  backup(path: string): Promise<BackupEntry>;
  /** Restore a backup byte-identically (atomic), restoring mode and owner; checks the copy's sha256. */
  restore(entry: BackupEntry): Promise<void>;
}

export interface CommandResult {
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

export interface CommandRunner {
  /** Runs argv without a shell. Refuses executables not in the allowlist (throws CommandRefused). */
  run(argv: string[], opts?: { timeoutMs?: number; cwd?: string; env?: Record<string, string> }): Promise<CommandResult>;
}

export type ConfineResult = { ok: true; path: string; root: string } | { ok: false; reason: string };

export interface Confiner {
  roots: readonly string[];
  /** Resolves (realpath) a path from log text and checks it lies inside a root. */
  check(path: string): ConfineResult;
}

// ---------------------------------------------------------------------------------------------
// The fix contract
// ---------------------------------------------------------------------------------------------

/** What a plan will do, in machine-readable form (the preview is the human form). */
export type PlanAction =
  | { kind: 'edit-file'; path: string; sha256Before: string; diff: string }
  | { kind: 'command'; argv: string[] }
  | { kind: 'sql'; sql: string; params: unknown[] }
  | { kind: 'chown'; path: string; fromUid: number; fromGid: number; toUid: number; toGid: number }
  | { kind: 'chmod'; path: string; fromMode: number; toMode: number }
  | { kind: 'delete'; path: string; bytes: number }
  | { kind: 'guidance'; steps: string[] };

export interface FixPlan<D = unknown> {
  fixId: string;
  incidentId: string;
  /** One line: what will happen. */
  summary: string;
  /** Why this fixes the incident. */
  why: string;
  /** Human-readable preview: unified diff, command line, SQL, list of changes or steps. */
  preview: string;
  actions: PlanAction[];
  /** Guidance-only plans have nothing to apply. */
  applicable: boolean;
  /** Fix-specific data apply/verify/rollback need (must be JSON-serialisable: it is persisted). */
  data: D;
}

/** What apply did, kept (persisted with the attempt) so rollback can undo it later. */
export interface Applied {
  backups: BackupEntry[];
  commands: CommandResult[];
  /** Fix-specific undo data (JSON-serialisable). */
  undo: unknown;
}

export interface Verification {
  ok: boolean;
  detail: string;
}

export interface FixContext {
  config: Config;
  odoo: OdooConf;
  confiner: Confiner;
  writer: SafeWriter;
  runner: CommandRunner;
  /** Re-runs one probe (verification of service restarts, DB fixes...). */
  probe(name: ProbeName): Promise<ProbeResult>;
  /** Whether systemd is the init system here (/run/systemd/system exists). */
  systemd: boolean;
  attemptId: string;
  now(): number;
  /** Progress for the console / JSON log. */
  progress(step: string): void;
}

export type DetectResult<P> = { ok: true; params: P } | { ok: false; reason: string };

export interface Fix<P = unknown, D = unknown> {
  id: string;
  title: string;
  /**
   * The fix frees disk space (session cleanup): it must still run when the state dir is full, so its
   * 'planned' audit entry is written after apply when it cannot be written before.
   */
  freesSpace?: boolean;
  /** Reads what the fix needs from the incident (pattern captures, probe key) or says why not. */
  detect(incident: Incident, ctx: FixContext): DetectResult<P>;
  /** No side effects. */
  plan(params: P, incident: Incident, ctx: FixContext): Promise<FixPlan<D>>;
  apply(plan: FixPlan<D>, ctx: FixContext): Promise<Applied>;
  verify(plan: FixPlan<D>, applied: Applied, ctx: FixContext): Promise<Verification>;
  rollback(plan: FixPlan<D>, applied: Applied, ctx: FixContext): Promise<void>;
}
