// One fix attempt, start to finish: detect → plan (a dry run stops here) → audit 'planned' → apply →
// verify → on a failed verification or an apply error, roll back automatically and say so → audit the
// result. Every attempt is persisted (plan, what was applied, post-fix hashes, outcome) as
// <stateDir>/attempts/<id>.json so `odoo-heal rollback <id>` works later, from another process.
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { appendAudit, type AuditCommand } from '../engine/state/audit.js';
import type { Config, OdooConf } from '../engine/config/types.js';
import { ensureDir, writeJsonDurable } from '../engine/core/durable.js';
import { ensureReserve, isNoSpace, writeState } from '../engine/core/space-reserve.js';
import { UsageError, errorMessage } from '../engine/core/errors.js';
import type { AttemptOutcome, AttemptSummary, Incident, ProbeName, ProbeResult } from '../engine/core/types.js';
import { createConfiner } from './lib/confine.js';
import { createRunner } from './lib/runner.js';
import { createSafeWriter, differsFromBackup, readManifest, sha256File } from './lib/safe-writer.js';
import type { Applied, BackupEntry, Fix, FixContext, FixPlan, Verification } from './types.js';

/** What runAttempt needs to build a FixContext. */
export interface AttemptDeps {
  config: Config;
  odoo: OdooConf;
  probe(name: ProbeName): Promise<ProbeResult>;
  /** Default: /run/systemd/system exists. */
  systemd?: boolean;
  now?: () => number;
  progress?: (step: string) => void;
  /** Confinement roots; default: rootsFor(config, odoo). */
  roots?: string[];
}

export interface AttemptRecord extends AttemptSummary {
  version: 1;
  dryRun: boolean;
  plan: FixPlan | null;
  applied: Applied | null;
  /** sha256 of every backed-up file right after apply (null: the fix deleted it). */
  postFix: Record<string, string | null>;
  verification: Verification | null;
  rollback: { at: number; ok: boolean; automatic: boolean; who: string; detail: string } | null;
  error: string | null;
  /** Set when the outcome could not be written to the state dir or the audit log (a full disk). */
  unsaved?: string;
}

export const ATTEMPT_ID_RE = /^a-\d{8}-\d{6}-[0-9a-f]{4}$/;

export function newAttemptId(now: number = Date.now()): string {
  const d = new Date(now);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const date = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`;
  const time = `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return `a-${date}-${time}-${randomBytes(2).toString('hex')}`;
}

/** Where fixes may touch files: addons paths, data dir, the log file's directory and extra roots. */
export function rootsFor(config: Config, odoo: OdooConf): string[] {
  const roots = [...odoo.addonsPath];
  if (odoo.dataDir) roots.push(odoo.dataDir);
  if (odoo.logfile) roots.push(dirname(odoo.logfile));
  roots.push(...config.fixes.extraRoots);
  return roots;
}

export function attemptsDir(stateDir: string): string {
  return join(stateDir, 'attempts');
}

function attemptPath(stateDir: string, id: string): string {
  return join(attemptsDir(stateDir), `${id}.json`);
}

function noSpaceText(err: unknown): string {
  return isNoSpace(err) ? `no space left on the device (${(err as NodeJS.ErrnoException).code})` : errorMessage(err);
}

async function saveAttempt(stateDir: string, rec: AttemptRecord): Promise<void> {
  await ensureDir(attemptsDir(stateDir));
  await writeJsonDurable(attemptPath(stateDir, rec.id), rec, { mode: 0o600 });
}

export async function loadAttempt(stateDir: string, id: string): Promise<AttemptRecord> {
  if (!ATTEMPT_ID_RE.test(id)) throw new UsageError(`${JSON.stringify(id)} is not an attempt id (a-YYYYMMDD-HHMMSS-xxxx; see \`odoo-heal history\`)`);
  const path = attemptPath(stateDir, id);
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`no attempt ${id} (looked for ${path})`);
    throw err;
  }
  try {
    return JSON.parse(text) as AttemptRecord;
  } catch (err) {
    throw new UsageError(`${path}: not valid JSON (${errorMessage(err)})`);
  }
}

/** Every persisted attempt, oldest first. Damaged records are skipped and named in `warnings`. */
export async function listAttempts(stateDir: string): Promise<{ attempts: AttemptRecord[]; warnings: string[] }> {
  const dir = attemptsDir(stateDir);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { attempts: [], warnings: [] };
    throw err;
  }
  const attempts: AttemptRecord[] = [];
  const warnings: string[] = [];
  for (const name of names) {
    if (!name.endsWith('.json') || !ATTEMPT_ID_RE.test(name.slice(0, -5))) continue;
    try {
      attempts.push(JSON.parse(await fsp.readFile(join(dir, name), 'utf8')) as AttemptRecord);
    } catch (err) {
      warnings.push(`${join(dir, name)}: ${errorMessage(err)}`);
    }
  }
  attempts.sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  return { attempts, warnings };
}

export function summarize(rec: AttemptRecord): AttemptSummary {
  const { id, incidentId, fixId, who, startedAt, finishedAt, outcome, message } = rec;
  return { id, incidentId, fixId, who, startedAt, finishedAt, outcome, message };
}

function buildContext(deps: AttemptDeps, fixId: string, incidentId: string, attemptId: string): FixContext {
  const { config, odoo } = deps;
  return {
    config,
    odoo,
    confiner: createConfiner(deps.roots ?? rootsFor(config, odoo)),
    writer: createSafeWriter({ backupDir: config.paths.backupDir, fixId, incidentId, attemptId }),
    runner: createRunner({ allow: config.fixes.allowCommands, timeoutMs: config.fixes.commandTimeoutMs }),
    probe: deps.probe,
    systemd: deps.systemd ?? existsSync('/run/systemd/system'),
    attemptId,
    now: deps.now ?? Date.now,
    progress: deps.progress ?? (() => undefined),
  };
}

function auditCommands(applied: Applied | null): AuditCommand[] {
  return (applied?.commands ?? []).map((c) => ({
    argv: c.argv,
    exitCode: c.exitCode,
    signal: c.signal,
    timedOut: c.timedOut,
    durationMs: c.durationMs,
    stdout: c.stdout,
    stderr: c.stderr,
  }));
}

/** The backups an attempt made: as recorded after apply, else from the manifest (apply died midway). */
async function backupsOf(config: Config, rec: AttemptRecord): Promise<BackupEntry[]> {
  if (rec.applied) return rec.applied.backups;
  return (await readManifest(config.paths.backupDir, rec.id))?.entries ?? [];
}

/**
 * Undo: the fix's own rollback (services, SQL, chmod of directories...), then make sure every backed-up
 * file is byte-identical to its backup again (newest backup first, so a file backed up twice ends as
 * the oldest copy, i.e. the original). Returns every file brought back, by the fix's rollback or by us.
 */
async function undo(fix: Fix | null, plan: FixPlan, applied: Applied, ctx: FixContext): Promise<{ restored: string[]; notes: string[] }> {
  const notes: string[] = [];
  // What differs from its backup now is what this rollback brings back, whoever does the restoring.
  const changed: string[] = [];
  for (const e of applied.backups) if (await differsFromBackup(e)) changed.push(e.path);
  let fixRollbackError: string | null = null;
  if (fix) {
    try {
      await fix.rollback(plan, applied, ctx);
    } catch (err) {
      // Still restore the files below; the attempt is reported as a failed rollback afterwards.
      fixRollbackError = `the fix's own rollback failed: ${errorMessage(err)}`;
    }
  } else {
    notes.push(`fix ${plan.fixId} is not available; restored files from backups only`);
  }
  const restored: string[] = [];
  for (const entry of [...applied.backups].reverse()) {
    if (await differsFromBackup(entry)) {
      await ctx.writer.restore(entry);
      restored.push(entry.path);
    }
  }
  const original = new Map<string, BackupEntry>();
  for (const e of applied.backups) if (!original.has(e.path)) original.set(e.path, e);
  for (const e of original.values()) {
    if (await differsFromBackup(e)) throw new Error(`${e.path} still differs from its backup ${e.copy} after rollback`);
  }
  if (fixRollbackError) {
    throw new Error(`${fixRollbackError}${restored.length ? ` (files restored: ${restored.join(', ')})` : ''}`);
  }
  return { restored: [...new Set([...changed, ...restored])], notes };
}

export interface AttemptOptions {
  dryRun?: boolean;
  who: string;
}

export async function runAttempt(fix: Fix, incident: Incident, deps: AttemptDeps, opts: AttemptOptions): Promise<AttemptRecord> {
  const now = deps.now ?? Date.now;
  const { config } = deps;
  const startedAt = now();
  const id = newAttemptId(startedAt);
  const ctx = buildContext(deps, fix.id, incident.id, id);
  const auditLog = config.paths.auditLog;
  const rec: AttemptRecord = {
    version: 1,
    id,
    incidentId: incident.id,
    fixId: fix.id,
    who: opts.who,
    startedAt,
    finishedAt: null,
    outcome: 'running',
    message: '',
    dryRun: !!opts.dryRun,
    plan: null,
    applied: null,
    postFix: {},
    verification: null,
    rollback: null,
    error: null,
  };
  const finish = async (outcome: AttemptOutcome, message: string, audit: boolean): Promise<AttemptRecord> => {
    rec.outcome = outcome;
    rec.message = message;
    rec.finishedAt = now();
    if (!rec.dryRun) {
      try {
        await writeState(config.paths.stateDir, () => saveAttempt(config.paths.stateDir, rec));
        if (audit) {
          await writeState(config.paths.stateDir, () =>
            appendAudit(auditLog, {
              who: opts.who,
              action: outcome,
              incidentId: incident.id,
              fixId: fix.id,
              attemptId: id,
              summary: rec.plan?.summary ?? fix.title,
              result: message,
              durationMs: (rec.finishedAt ?? now()) - startedAt,
              commands: auditCommands(rec.applied),
            }),
          );
        }
      } catch (err) {
        // Said on the one result line, and the exit code is non-zero (outcomeExit): never silent.
        rec.unsaved = noSpaceText(err);
        rec.message = `${message}; NOT RECORDED in ${config.paths.stateDir} / the audit log: ${rec.unsaved}`;
      }
    }
    return rec;
  };

  // detect
  ctx.progress('detect');
  let detected: ReturnType<typeof fix.detect>;
  try {
    detected = fix.detect(incident, ctx);
  } catch (err) {
    detected = { ok: false, reason: errorMessage(err) };
  }
  if (!detected.ok) return finish('refused', `not applicable: ${detected.reason}`, true);

  // plan (no side effects)
  ctx.progress('plan');
  let plan: FixPlan;
  try {
    plan = await fix.plan(detected.params, incident, ctx);
  } catch (err) {
    rec.error = errorMessage(err);
    return finish('refused', `cannot plan: ${rec.error}`, true);
  }
  rec.plan = plan;
  if (opts.dryRun) return finish('planned', `dry run: ${plan.summary}`, false);
  if (!plan.applicable) {
    const guidance = { who: opts.who, action: 'guidance', incidentId: incident.id, fixId: fix.id, attemptId: id, summary: plan.summary, preview: plan.preview, result: 'guidance only: nothing to apply' } as const;
    await writeState(config.paths.stateDir, () => appendAudit(auditLog, guidance)).catch(() => undefined);
    return finish('planned', 'guidance only: nothing to apply', false);
  }

  await ensureReserve(config.paths.stateDir);
  const planned = { who: opts.who, action: 'planned', incidentId: incident.id, fixId: fix.id, attemptId: id, summary: plan.summary, preview: plan.preview, result: 'about to apply' } as const;
  let plannedLate = false;
  try {
    await writeState(config.paths.stateDir, () => appendAudit(auditLog, planned));
    // Persist before touching anything: a crash mid-apply leaves a 'running' record plus the manifest.
    await writeState(config.paths.stateDir, () => saveAttempt(config.paths.stateDir, rec));
  } catch (err) {
    if (!(fix.freesSpace && isNoSpace(err))) {
      rec.error = noSpaceText(err);
      return finish('refused', `cannot record the attempt before applying: ${rec.error}; nothing was changed`, false);
    }
    // The disk is full and this fix is what frees it: run, and write the audit once there is room.
    plannedLate = true;
  }

  // apply
  ctx.progress('apply');
  let applied: Applied;
  try {
    applied = await fix.apply(plan, ctx);
  } catch (err) {
    rec.error = errorMessage(err);
    const partial: Applied = { backups: (await readManifest(config.paths.backupDir, id))?.entries ?? [], commands: [], undo: null };
    rec.applied = partial;
    return rollBackAutomatically(`apply failed: ${rec.error}`, partial);
  }
  rec.applied = applied;
  for (const b of applied.backups) rec.postFix[b.path] = await sha256File(b.path);
  if (plannedLate) {
    const late = { ...planned, result: 'applied before this entry could be written: the disk was full' };
    await writeState(config.paths.stateDir, () => appendAudit(auditLog, late)).catch(() => undefined);
  }
  await writeState(config.paths.stateDir, () => saveAttempt(config.paths.stateDir, rec)).catch(() => undefined);

  // verify
  ctx.progress('verify');
  let verification: Verification;
  try {
    verification = await fix.verify(plan, applied, ctx);
  } catch (err) {
    verification = { ok: false, detail: `verification error: ${errorMessage(err)}` };
  }
  rec.verification = verification;
  if (verification.ok) return finish('verified', `verified: ${verification.detail}`, true);
  return rollBackAutomatically(`verification failed: ${verification.detail}`, applied);

  async function rollBackAutomatically(why: string, what: Applied): Promise<AttemptRecord> {
    ctx.progress('rollback');
    try {
      const { restored, notes } = await undo(fix, plan, what, ctx);
      const detail = [restored.length ? `restored ${restored.join(', ')}` : 'no file needed restoring', ...notes].join('; ');
      rec.rollback = { at: now(), ok: true, automatic: true, who: opts.who, detail };
      return await finish('rolled_back', `${why}; rolled back automatically (${detail})`, true);
    } catch (err) {
      const detail = errorMessage(err);
      rec.rollback = { at: now(), ok: false, automatic: true, who: opts.who, detail };
      return await finish('failed', `${why}; automatic rollback FAILED: ${detail}; backups in ${join(config.paths.backupDir, id)}`, true);
    }
  }
}

export interface RollbackOptions {
  force?: boolean;
  who: string;
  deps: AttemptDeps;
  /** The fix module, to undo non-file changes; null/undefined: files are restored from backups only. */
  getFix?: (id: string) => Fix | undefined | null;
}

export interface RollbackResult {
  record: AttemptRecord;
  restored: string[];
  notes: string[];
}

/**
 * Rolls back a persisted attempt. Refuses when a file changed since the fix (its sha256 differs from
 * the one recorded after apply), unless `force`; restores byte-identical content checked by sha256.
 */
export async function rollbackAttempt(id: string, opts: RollbackOptions): Promise<RollbackResult> {
  const { config } = opts.deps;
  const now = opts.deps.now ?? Date.now;
  const rec = await loadAttempt(config.paths.stateDir, id);
  if (rec.outcome === 'rolled_back') throw new UsageError(`attempt ${id} was already rolled back (${rec.rollback?.detail ?? ''})`);
  if (!rec.plan || rec.outcome === 'refused' || (rec.outcome === 'planned' && !rec.applied)) {
    throw new UsageError(`attempt ${id} changed nothing (${rec.outcome}): nothing to roll back`);
  }
  const backups = await backupsOf(config, rec);
  const changed: string[] = [];
  for (const b of backups) {
    if (!(b.path in rec.postFix)) continue; // apply died before recording: no post-fix state to compare
    const current = await sha256File(b.path);
    if (current !== rec.postFix[b.path]) {
      changed.push(`${b.path} (sha256 now ${current ?? 'missing'}, after the fix ${rec.postFix[b.path] ?? 'missing'})`);
    }
  }
  if (changed.length && !opts.force) {
    throw new UsageError(`refusing to roll back ${id}: changed since the fix: ${[...new Set(changed)].join('; ')}. Use --force to overwrite.`);
  }
  const started = now();
  const fix = opts.getFix?.(rec.fixId) ?? null;
  const ctx = buildContext(opts.deps, rec.fixId, rec.incidentId, rec.id);
  const applied: Applied = rec.applied ?? { backups, commands: [], undo: null };
  let result: RollbackResult;
  try {
    const { restored, notes } = await undo(fix, rec.plan, { ...applied, backups }, ctx);
    if (changed.length) notes.unshift(`forced over changes: ${changed.join('; ')}`);
    const detail = [restored.length ? `restored ${restored.join(', ')}` : 'no file needed restoring', ...notes].join('; ');
    rec.rollback = { at: now(), ok: true, automatic: false, who: opts.who, detail };
    rec.outcome = 'rolled_back';
    rec.message = `rolled back by ${opts.who}: ${detail}`;
    result = { record: rec, restored, notes };
  } catch (err) {
    const detail = noSpaceText(err);
    rec.rollback = { at: now(), ok: false, automatic: false, who: opts.who, detail };
    // Best effort: on a full disk these may fail too; the error below is what the caller must see.
    await writeState(config.paths.stateDir, () => saveAttempt(config.paths.stateDir, rec)).catch(() => undefined);
    await writeState(config.paths.stateDir, () =>
      appendAudit(config.paths.auditLog, { who: opts.who, action: 'rollback', incidentId: rec.incidentId, fixId: rec.fixId, attemptId: rec.id, summary: `rollback of ${rec.id}`, result: `FAILED: ${detail}`, durationMs: now() - started }),
    ).catch(() => undefined);
    throw new Error(`rollback of ${rec.id} FAILED: ${detail}`);
  }
  await writeState(config.paths.stateDir, () => saveAttempt(config.paths.stateDir, rec));
  await writeState(config.paths.stateDir, () => appendAudit(config.paths.auditLog, { who: opts.who, action: 'rollback', incidentId: rec.incidentId, fixId: rec.fixId, attemptId: rec.id, summary: `rollback of ${rec.id}${opts.force ? ' (forced)' : ''}`, result: rec.message, durationMs: now() - started }));
  return result;
}
