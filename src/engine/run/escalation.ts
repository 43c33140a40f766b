// When unattended healing may act on an incident, and when it must stop. Per incident key:
//  - act only after `threshold` consecutive matches / failed probes;
//  - exponential backoff between attempts (base * 2^(failures-1), capped at max);
//  - circuit breaker: after `maxAttempts` attempts within `windowMs` it opens and emits ONE critical
//    "auto-heal gave up on <title>" event (the engine turns it into an incident); it stays open until
//    the incident has been quiet for `resetAfterMs`;
//  - ladders (e.g. DB unreachable: wait, restart PostgreSQL, restart Odoo, alert): the next step after
//    each failed attempt; a ladder that runs out gives up like the breaker.
// Pure logic with an injected clock; state round-trips through JSON (escalation.json in the state dir).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Config, LadderStep } from '../config/types.js';
import { ensureDir, writeJsonDurable } from '../core/durable.js';
import type { Finding } from '../core/types.js';

export type EscalationPolicy = Config['escalation'];

/** What the incident offers: its title (for the gave-up event), ladder key and default fix. */
export interface EscalationSubject {
  title: string;
  /** Key into policy.ladders (pattern id or probe key such as `probe:database:down`). */
  ladderKey?: string | null;
  /** The fix to run when there is no ladder. */
  fix?: { id: string; params: Record<string, string> } | null;
}

export interface GaveUpEvent {
  key: string;
  title: string;
  message: string;
  severity: 'critical';
  attempts: number;
  at: number;
  /** Ready to become the CRITICAL incident `escalation:gave-up:<key>`. */
  finding: Finding;
}

export type Decision =
  | { action: 'wait'; reason: string; until: number | null }
  | { action: 'fix'; fixId: string; params: Record<string, string>; ladderStep: number | null }
  | { action: 'alert'; reason: string; ladderStep: number }
  | { action: 'none'; reason: string }
  | { action: 'hold'; reason: string }
  | { action: 'gave-up'; event: GaveUpEvent };

interface KeyState {
  title: string;
  /** Consecutive observations (matches / failing probes) since the last success. */
  consecutive: number;
  /** Last time the problem was seen or an attempt failed: the start of the stable period. */
  lastBadAt: number;
  /** Times of attempts (for the breaker window). */
  attempts: number[];
  /** Failed attempts in a row (drives the backoff). */
  failures: number;
  nextAttemptAt: number;
  ladderStep: number;
  openSince: number | null;
}

export interface EscalationJson {
  version: 1;
  keys: Record<string, KeyState>;
}

export const ESCALATION_FILE = 'escalation.json';

export class Escalation {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly policy: EscalationPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  private fresh(title: string): KeyState {
    return { title, consecutive: 0, lastBadAt: this.now(), attempts: [], failures: 0, nextAttemptAt: 0, ladderStep: 0, openSince: null };
  }

  /** Drops a key's state once it has been stable (no match, no failure) for resetAfterMs. */
  private current(key: string, title: string): KeyState {
    let s = this.keys.get(key);
    if (s && this.now() - s.lastBadAt >= this.policy.resetAfterMs) s = undefined;
    if (!s) {
      s = this.fresh(title);
      this.keys.set(key, s);
    }
    s.title = title;
    return s;
  }

  private attemptsInWindow(s: KeyState): number {
    const since = this.now() - this.policy.windowMs;
    s.attempts = s.attempts.filter((t) => t > since);
    return s.attempts.length;
  }

  private giveUp(key: string, s: KeyState, why: string): GaveUpEvent {
    s.openSince = this.now();
    const message = `auto-heal gave up on ${s.title}`;
    return {
      key,
      title: s.title,
      message,
      severity: 'critical',
      attempts: s.attempts.length,
      at: s.openSince,
      finding: {
        key: `escalation:gave-up:${key}`,
        severity: 'critical',
        title: message,
        detail: why,
        hint: `Automatic healing stopped for "${s.title}". Look at \`odoo-heal history\` and fix it by hand; auto-heal resumes after ${Math.round(this.policy.resetAfterMs / 60000)} min without the problem.`,
        category: 'other',
      },
    };
  }

  private ladder(subject: EscalationSubject): LadderStep[] | null {
    const l = subject.ladderKey ? this.policy.ladders[subject.ladderKey] : undefined;
    return l && l.length > 0 ? l : null;
  }

  /** The problem was seen (a matching record, a failing probe): what to do now. */
  observe(key: string, subject: EscalationSubject): Decision {
    const now = this.now();
    const s = this.current(key, subject.title);
    s.consecutive += 1;
    s.lastBadAt = now;
    if (s.openSince !== null) return { action: 'hold', reason: `circuit open since ${new Date(s.openSince).toISOString()} (gave up)` };
    if (s.consecutive < this.policy.threshold) {
      return { action: 'wait', reason: `seen ${s.consecutive}/${this.policy.threshold} times in a row`, until: null };
    }
    const ladder = this.ladder(subject);
    if (!ladder && !subject.fix) return { action: 'none', reason: 'no fix or ladder for this incident' };
    if (now < s.nextAttemptAt) return { action: 'wait', reason: `backing off until ${new Date(s.nextAttemptAt).toISOString()}`, until: s.nextAttemptAt };
    if (this.attemptsInWindow(s) >= this.policy.maxAttempts) {
      return { action: 'gave-up', event: this.giveUp(key, s, `${s.attempts.length} attempts within ${Math.round(this.policy.windowMs / 1000)} s did not fix it`) };
    }
    if (!ladder) return { action: 'fix', fixId: subject.fix!.id, params: subject.fix!.params, ladderStep: null };
    const stepIndex = s.ladderStep;
    const step = ladder[stepIndex];
    if (!step) {
      return { action: 'gave-up', event: this.giveUp(key, s, `every step of the ladder (${ladder.map((x) => x.fix ?? x.action).join(' → ')}) was tried`) };
    }
    switch (step.action) {
      case 'wait':
        // A wait step uses up this round; the next observation moves to the next step.
        s.ladderStep += 1;
        return { action: 'wait', reason: `ladder step ${stepIndex + 1}/${ladder.length}: wait`, until: null };
      case 'alert':
        s.ladderStep += 1;
        return { action: 'alert', reason: `ladder step ${stepIndex + 1}/${ladder.length}: alert`, ladderStep: stepIndex };
      case 'fix': {
        const fixId = step.fix ?? subject.fix?.id;
        if (!fixId) {
          s.ladderStep += 1;
          return { action: 'none', reason: `ladder step ${stepIndex + 1} names no fix` };
        }
        return { action: 'fix', fixId, params: step.params ?? subject.fix?.params ?? {}, ladderStep: stepIndex };
      }
    }
  }

  /** Records the outcome of a fix the last decision asked for. A failure may open the breaker. */
  recordAttempt(key: string, ok: boolean): GaveUpEvent | null {
    const now = this.now();
    const s = this.keys.get(key) ?? this.current(key, key);
    s.attempts.push(now);
    if (ok) {
      // Fixed: need `threshold` fresh sightings before acting again; keep the breaker's window.
      s.consecutive = 0;
      s.failures = 0;
      s.nextAttemptAt = 0;
      s.ladderStep = 0;
      return null;
    }
    s.lastBadAt = now;
    s.failures += 1;
    s.ladderStep += 1;
    s.nextAttemptAt = now + Math.min(this.policy.backoffMaxMs, this.policy.backoffBaseMs * 2 ** (s.failures - 1));
    if (s.openSince === null && this.attemptsInWindow(s) >= this.policy.maxAttempts) {
      return this.giveUp(key, s, `${s.attempts.length} attempts within ${Math.round(this.policy.windowMs / 1000)} s did not fix it`);
    }
    return null;
  }

  /** The problem is currently not present (probe OK): consecutive sightings start over. */
  healthy(key: string): void {
    const s = this.keys.get(key);
    if (s) s.consecutive = 0;
  }

  /** Forget keys that have been stable for resetAfterMs (closes their breakers). */
  sweep(): string[] {
    const reset: string[] = [];
    for (const [key, s] of this.keys) {
      if (this.now() - s.lastBadAt >= this.policy.resetAfterMs) {
        this.keys.delete(key);
        reset.push(key);
      }
    }
    return reset;
  }

  isOpen(key: string): boolean {
    const s = this.keys.get(key);
    return !!s && s.openSince !== null && this.now() - s.lastBadAt < this.policy.resetAfterMs;
  }

  /** Read-only view of one key's counters (UI, report). */
  inspect(key: string): Readonly<KeyState> | null {
    const s = this.keys.get(key);
    return s ? structuredClone(s) : null;
  }

  /**
   * What escalation.json has to hold for the same decisions after a restart, as a string: while it
   * is unchanged, rewriting the file (fsync and all) would save nothing that matters. A persistent
   * problem is observed every probe round, so two fields are coarsened:
   * - `consecutive` counts only up to the threshold: past it, every count decides the same;
   * - `lastBadAt` moves in steps of 1/30 of resetAfterMs (at most a minute): after a crash a key may
   *   reset that much early, a small part of the quiet period it requires.
   * Everything else (attempts, backoff, ladder step, open breaker, the keys themselves) is exact.
   */
  durableSignature(): string {
    const step = Math.max(1, Math.min(60_000, Math.floor(this.policy.resetAfterMs / 30)));
    const parts: unknown[] = [];
    for (const [key, s] of this.keys) {
      parts.push([
        key,
        s.title,
        Math.min(s.consecutive, this.policy.threshold),
        Math.floor(s.lastBadAt / step),
        s.attempts,
        s.failures,
        s.nextAttemptAt,
        s.ladderStep,
        s.openSince,
      ]);
    }
    return JSON.stringify(parts);
  }

  toJSON(): EscalationJson {
    return { version: 1, keys: Object.fromEntries([...this.keys].map(([k, v]) => [k, structuredClone(v)])) };
  }

  static fromJSON(json: unknown, policy: EscalationPolicy, now: () => number = Date.now): Escalation {
    const e = new Escalation(policy, now);
    if (!json || typeof json !== 'object' || (json as EscalationJson).version !== 1 || typeof (json as EscalationJson).keys !== 'object') {
      throw new Error('not an escalation state (version 1)');
    }
    for (const [k, v] of Object.entries((json as EscalationJson).keys)) {
      if (!v || typeof v !== 'object' || !Array.isArray(v.attempts) || typeof v.lastBadAt !== 'number') throw new Error(`bad state for key ${k}`);
      e.keys.set(k, {
        title: String(v.title ?? k),
        consecutive: Number(v.consecutive) || 0,
        lastBadAt: v.lastBadAt,
        attempts: v.attempts.filter((t): t is number => typeof t === 'number'),
        failures: Number(v.failures) || 0,
        nextAttemptAt: Number(v.nextAttemptAt) || 0,
        ladderStep: Number(v.ladderStep) || 0,
        openSince: typeof v.openSince === 'number' ? v.openSince : null,
      });
    }
    return e;
  }
}

export function escalationPath(stateDir: string): string {
  return join(stateDir, ESCALATION_FILE);
}

/**
 * Loads the persisted state. A damaged file is moved aside (never deleted) and a fresh state starts,
 * with a warning that names both files.
 */
export async function loadEscalation(
  stateDir: string,
  policy: EscalationPolicy,
  now: () => number = Date.now,
): Promise<{ escalation: Escalation; warning: string | null }> {
  const path = escalationPath(stateDir);
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { escalation: new Escalation(policy, now), warning: null };
    throw err;
  }
  try {
    return { escalation: Escalation.fromJSON(JSON.parse(text), policy, now), warning: null };
  } catch (err) {
    const aside = `${path}.damaged-${now()}`;
    await fsp.rename(path, aside);
    return { escalation: new Escalation(policy, now), warning: `${path}: ${(err as Error).message}; moved to ${aside}, starting with fresh escalation state` };
  }
}

export async function saveEscalation(stateDir: string, escalation: Escalation): Promise<void> {
  await ensureDir(stateDir);
  await writeJsonDurable(escalationPath(stateDir), escalation.toJSON(), { mode: 0o600 });
}
