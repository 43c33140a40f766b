// The engine's side of fixing: plans for the console, confirmed attempts, rollback, and the
// unattended policy (--auto or auto-heal toggled on): escalation decides when, policy decides whether.
import { existsSync } from 'node:fs';
import { getFix } from '../../fixes/registry.js';
import { runAttempt, rollbackAttempt, listAttempts, summarize, type AttemptDeps, type AttemptRecord } from '../../fixes/attempts.js';
import type { AlertEvent, AlertSink } from './alert-sink.js';
import { NO_ALERTS } from './alert-sink.js';
import { errorMessage } from '../core/errors.js';
import { loadEscalation, saveEscalation, Escalation } from './escalation.js';
import { acquireLock, LockHeldError } from '../state/lock.js';
import { currentWho } from '../state/audit.js';
import type { AttemptSummary, Incident } from '../core/types.js';
import type { FixDeskHost } from './fix-desk-host.js';
import { pushBounded } from '../state/store.js';
import { probeFingerprint } from '../incidents/incidents.js';
import { ensureReserve } from '../core/space-reserve.js';

const ATTEMPTS_SHOWN = 50;

/** Another fix is running (in this process or another odoo-heal on the host): try again later. */
export class FixBusyError extends Error {
  override name = 'FixBusyError';
}

export class FixDesk {
  private escalation: Escalation;
  private running: Promise<unknown> | null = null;
  private draining = false;
  alerts: AlertSink = NO_ALERTS;
  /**
   * Fingerprint → until when unattended healing leaves it alone after a verified fix: records of the
   * same problem that were already in flight (or replayed by the journal) must not re-run the fix.
   */
  private readonly settledUntil = new Map<string, number>();
  /** Fingerprints a human was already asked about (plan attached) since they last cleared. */
  private readonly askedHuman = new Set<string>();
  /** Background work (needs-human plans) that close() waits for. */
  private readonly pending = new Set<Promise<unknown>>();
  /** The incident id whose plan is on screen (the plan itself is in the store). */
  private planned: string | null = null;

  constructor(
    private readonly engine: FixDeskHost,
    private readonly unattended: boolean,
  ) {
    this.escalation = new Escalation(engine.config.escalation);
  }

  private get state() {
    return this.engine.store;
  }

  private deps(): AttemptDeps {
    return {
      config: this.engine.config,
      odoo: this.engine.odoo,
      probe: (name) => this.engine.runProbe(name),
      systemd: existsSync('/run/systemd/system'),
      progress: (step) => {
        const busy = this.state.getState().busy;
        if (busy) this.state.setState({ busy: { ...busy, step } });
      },
    };
  }

  async load(): Promise<void> {
    const { config } = this.engine;
    // Room for the lock and the records of a fix should the disk fill up (src/engine/core/space-reserve.ts).
    if (this.unattended) await ensureReserve(config.paths.stateDir);
    try {
      const { escalation, warning } = await loadEscalation(config.paths.stateDir, config.escalation);
      this.escalation = escalation;
      if (warning) this.engine.notice(warning, 'warning');
    } catch (err) {
      this.engine.notice(`escalation state not loaded: ${errorMessage(err)}`, 'warning');
    }
    try {
      const { attempts } = await listAttempts(config.paths.stateDir);
      this.state.setState({ attempts: attempts.slice(-ATTEMPTS_SHOWN).map(summarize) });
    } catch {
      /* no history yet */
    }
  }

  /** Every alert about a root carries its symptoms: the channel hears of them through it. */
  private tell(event: AlertEvent): void {
    this.alerts.notify(event.symptoms ? event : { ...event, symptoms: this.engine.book.symptomsOf(event.incident.id) });
  }

  /** Stop taking work and let a running fix finish (or roll back). */
  async close(): Promise<void> {
    this.draining = true;
    if (this.running) await this.running.catch(() => {});
    await Promise.allSettled([...this.pending]);
    await this.alerts.close(5000);
  }

  private autoOn(): boolean {
    return this.unattended || this.state.getState().autoHeal;
  }

  private recordAttempt(rec: AttemptRecord): AttemptSummary {
    const summary = summarize(rec);
    const attempts = this.state.getState().attempts.filter((a) => a.id !== summary.id);
    this.state.setState({ attempts: pushBounded(attempts, [summary], ATTEMPTS_SHOWN) });
    return summary;
  }

  /**
   * Runs one attempt under the host lock; at most one at a time in this process too. Throws
   * FixBusyError when another fix runs (here or in another odoo-heal on this host).
   */
  async runFix(incident: Incident, who: string): Promise<AttemptRecord> {
    if (this.running || this.draining) throw new FixBusyError('another fix is running; try again when it is done');
    const fix = incident.fix ? getFix(incident.fix.id) : undefined;
    if (!fix) throw new Error(`no automatic fix for ${incident.title}`);
    const work = (async () => {
      const lock = await acquireLock(this.engine.config.paths.stateDir).catch((err: unknown) => {
        throw err instanceof LockHeldError ? new FixBusyError(err.message) : err;
      });
      this.state.setState({ busy: { incidentId: incident.id, fixId: fix.id, step: 'planning' } });
      try {
        return await runAttempt(fix, incident, this.deps(), { who });
      } finally {
        this.state.setState({ busy: null });
        await lock.release();
      }
    })();
    this.running = work;
    try {
      const rec = await work;
      this.recordAttempt(rec);
      const sev = rec.outcome === 'verified' ? 'info' : 'critical';
      this.engine.notice(`${rec.id}: ${fix.id} ${rec.outcome.replace('_', ' ')} — ${rec.message}`, sev);
      if (rec.outcome === 'verified') {
        // A probe round during the verification may have resolved it already (and said so).
        const wasOpen = this.engine.book.get(incident.id)?.status !== 'resolved';
        const resolved = wasOpen ? this.engine.book.resolve(incident.id, Date.now()) : null;
        this.settledUntil.set(incident.fingerprint, Date.now() + this.engine.config.escalation.backoffBaseMs);
        this.engine.markIncidentsDirty();
        // The channel that heard of the problem hears that it is over: the fix verified it.
        if (resolved) {
          this.engine.emitEvent({ level: 'info', event: 'incident.resolved', incident: resolved.id, title: resolved.title, by: `fix ${rec.id}`, rootId: resolved.rootId });
          this.onResolved(resolved);
        }
      }
      return rec;
    } finally {
      this.running = null;
    }
  }

  /** runFix for the console and the unattended path: failures become notices, not exceptions. */
  private async attempt(incident: Incident, who: string): Promise<AttemptRecord | null> {
    try {
      return await this.runFix(incident, who);
    } catch (err) {
      const busy = err instanceof FixBusyError;
      this.engine.notice(busy ? errorMessage(err) : `fix ${incident.fix?.id ?? '?'} could not run: ${errorMessage(err)}`, busy ? 'warning' : 'critical');
      return null;
    }
  }

  // ------------------------------------------------------------------ console intents

  async requestPlan(incidentId: string): Promise<void> {
    const asked = this.engine.book.get(incidentId);
    if (!asked) return this.engine.notice(`no incident ${incidentId}`, 'warning');
    // Fixes follow the dependency graph: a symptom heals with its root, so the root's plan is shown.
    const root = asked.rootId !== null ? this.engine.book.get(asked.rootId) : undefined;
    const incident = root && root.status !== 'resolved' ? root : asked;
    if (incident !== asked) this.engine.notice(`“${asked.title}” is a symptom of “${incident.title}”: its fix comes first`, 'info');
    incidentId = incident.id;
    const fix = incident.fix ? getFix(incident.fix.id) : undefined;
    if (!incident.fix || !fix) return this.engine.notice(`no fix is known for “${incident.title}”; see its hint`, 'warning');
    try {
      const rec = await runAttempt(fix, incident, this.deps(), { who: 'console', dryRun: true });
      if (!rec.plan) return this.engine.notice(rec.message || 'the fix does not apply here', 'warning');
      this.planned = incidentId;
      this.state.setState({
        plan: {
          incidentId,
          fixId: fix.id,
          preview: rec.plan.preview,
          summary: rec.plan.applicable ? rec.plan.summary : `${rec.plan.summary} (guidance only: nothing to apply)`,
        },
      });
    } catch (err) {
      this.engine.notice(`planning ${fix.id} failed: ${errorMessage(err)}`, 'critical');
    }
  }

  async confirmPlan(): Promise<void> {
    const plan = this.state.getState().plan;
    const incident = this.planned ? this.engine.book.get(this.planned) : undefined;
    this.state.setState({ plan: null });
    this.planned = null;
    if (!plan || !incident) return;
    await this.attempt(incident, currentWho());
  }

  async rollbackLast(): Promise<void> {
    const last = [...this.state.getState().attempts].reverse().find((a) => a.outcome === 'verified');
    if (!last) return this.engine.notice('no verified fix to roll back', 'warning');
    try {
      const { record, restored } = await rollbackAttempt(last.id, { who: currentWho(), deps: this.deps(), getFix });
      this.recordAttempt(record);
      this.engine.notice(`${last.id} rolled back${restored.length ? `: restored ${restored.join(', ')}` : ''}`, 'info');
    } catch (err) {
      this.engine.notice(`rollback of ${last.id} refused: ${errorMessage(err)}`, 'critical');
    }
  }

  // ------------------------------------------------------------------ unattended policy

  /** Whether policy lets this incident's fix run with nobody at the keyboard. */
  allowedUnattended(incident: Incident, fixId: string): boolean {
    const patternAllows = incident.fix?.id === fixId ? incident.fix.unattended : true;
    return patternAllows && this.engine.config.fixes.unattended.includes(fixId);
  }

  onIncidentActivity(incident: Incident): void {
    if (incident.status === 'snoozed' || incident.status === 'resolved') return;
    // A symptom is alerted and healed through its root (the dependency model): nothing of its own.
    if (incident.rootId !== null) return;
    if (incident.count === 1) this.tell({ kind: 'opened', incident, at: Date.now(), symptoms: this.engine.book.symptomsOf(incident.id) });
    this.escalate(incident);
  }

  /** The unattended policy for one sighting of a root incident: wait, fix, alert or give up. */
  private escalate(incident: Incident): void {
    if (!this.autoOn() || this.draining) return;
    if (Date.now() < (this.settledUntil.get(incident.fingerprint) ?? 0)) return;
    // A probe incident climbs the ladder of what its probe reports now (a folded outage that is
    // "starting up" has no restart ladder; once it "refuses connections" it has).
    const { origin } = incident;
    const ladderKey = origin.kind === 'pattern' ? origin.patternId : origin.kind === 'probe' ? probeFingerprint(origin.probe, origin.key) : incident.fingerprint;
    const decision = this.escalation.observe(incident.fingerprint, {
      title: incident.title,
      ladderKey,
      fix: incident.fix ? { id: incident.fix.id, params: incident.fix.params } : null,
    });
    void this.persist();
    switch (decision.action) {
      case 'fix': {
        const target: Incident =
          incident.fix?.id === decision.fixId
            ? incident
            : { ...incident, fix: { id: decision.fixId, params: decision.params, unattended: true } };
        if (!this.allowedUnattended(target, decision.fixId)) {
          // Once per problem: a failing probe comes back every round and must not re-plan each time.
          if (this.askedHuman.has(incident.fingerprint)) return;
          this.askedHuman.add(incident.fingerprint);
          const work = this.needsHuman(target);
          this.pending.add(work);
          void work.finally(() => this.pending.delete(work));
          return;
        }
        void this.autoAttempt(target);
        return;
      }
      case 'alert':
        this.tell({ kind: 'needs-human', incident, at: Date.now() });
        return;
      case 'gave-up': {
        const gaveUp = this.engine.raiseFinding(decision.event.finding);
        this.engine.notice(decision.event.message, 'critical');
        this.tell({ kind: 'gave-up', incident: gaveUp ?? incident, at: Date.now() });
        this.engine.markIncidentsDirty();
        return;
      }
      default:
        return;
    }
  }

  /**
   * A symptom whose root went away stands alone now (the cron threads that died while PostgreSQL
   * was down): it gets the attention a new incident gets, its own alert and its own fix.
   */
  onBecameRoot(incident: Incident): void {
    if (incident.status === 'snoozed' || incident.status === 'resolved' || incident.rootId !== null) return;
    this.tell({ kind: 'opened', incident, at: Date.now(), symptoms: this.engine.book.symptomsOf(incident.id) });
    this.escalate(incident);
  }

  onResolved(incident: Incident): void {
    this.escalation.healthy(incident.fingerprint);
    this.askedHuman.delete(incident.fingerprint);
    // A symptom's end is told by its root's resolve: the channel never heard of it on its own.
    if (incident.rootId !== null) return void this.persist();
    this.tell({ kind: 'resolved', incident, at: Date.now(), symptoms: this.engine.book.symptomsOf(incident.id) });
    void this.persist();
  }

  private async needsHuman(incident: Incident): Promise<void> {
    let plan: { summary: string; preview: string } | null = null;
    const fix = incident.fix ? getFix(incident.fix.id) : undefined;
    if (fix) {
      try {
        const rec = await runAttempt(fix, incident, this.deps(), { who: 'auto', dryRun: true });
        if (rec.plan) plan = { summary: rec.plan.summary, preview: rec.plan.preview };
      } catch {
        /* the alert goes out without a plan */
      }
    }
    this.engine.emitEvent({ level: 'warning', event: 'fix.needs-human', incident: incident.id, fix: incident.fix?.id ?? null });
    this.tell({ kind: 'needs-human', incident, at: Date.now(), plan });
  }

  private async autoAttempt(incident: Incident): Promise<void> {
    // A fix of this process still running (another root's) is waited for once: the decision was
    // made for this sighting, and the records behind it may not come again.
    const inFlight = this.running;
    if (inFlight && !this.draining) await inFlight.catch(() => {});
    const rec = await this.attempt(incident, 'auto');
    if (!rec) return;
    const ok = rec.outcome === 'verified';
    // Counted as a failed step either way: a ladder moves on, and the breaker stops endless retries.
    const gaveUp = this.escalation.recordAttempt(incident.fingerprint, ok);
    if (rec.outcome === 'planned' || rec.outcome === 'refused') {
      // Nothing was changed (guidance only, or the fix does not apply here): a human must act.
      this.engine.emitEvent({ level: 'warning', event: 'fix.not-applied', incident: incident.id, fix: rec.fixId, message: rec.message });
      if (!this.askedHuman.has(incident.fingerprint)) {
        this.askedHuman.add(incident.fingerprint);
        const plan = rec.plan ? { summary: rec.plan.summary, preview: rec.plan.preview } : null;
        this.tell({ kind: 'needs-human', incident, at: Date.now(), plan });
      }
    } else {
      this.engine.emitEvent({
        level: ok ? 'info' : 'error',
        event: 'fix.result',
        incident: incident.id,
        attempt: rec.id,
        fix: rec.fixId,
        outcome: rec.outcome,
        message: rec.message,
      });
      this.tell({ kind: 'fix-result', incident, at: Date.now(), attempt: summarize(rec) });
    }
    if (gaveUp) {
      const gi = this.engine.raiseFinding(gaveUp.finding);
      this.engine.notice(gaveUp.message, 'critical');
      this.tell({ kind: 'gave-up', incident: gi, at: Date.now() });
    }
    await this.persist();
  }

  /** durableSignature() of the state last handed to saveEscalation; null: write on the next persist. */
  private persistedSignature: string | null = null;
  /** The last save: saves run one after another, so an older state never lands after a newer one. */
  private saving: Promise<void> = Promise.resolve();

  /**
   * Saves the escalation state when it changed in a way that matters after a restart
   * (Escalation.durableSignature). A failing probe is observed every round; rewriting the file
   * durably (fsync of the file and its directory) each time would change nothing.
   */
  private async persist(): Promise<void> {
    const signature = this.escalation.durableSignature();
    if (signature === this.persistedSignature) return;
    this.persistedSignature = signature;
    const save = this.saving.then(() => saveEscalation(this.engine.config.paths.stateDir, this.escalation));
    this.saving = save.catch(() => undefined);
    // close() waits for `pending`: a stop must not leave a half-done write behind (a temp file in the
    // state dir, the last state unsaved).
    const saved = this.saving;
    this.pending.add(saved);
    void saved.finally(() => this.pending.delete(saved));
    try {
      await save;
    } catch (err) {
      this.persistedSignature = null; // written again on the next persist
      this.engine.emitEvent({ level: 'warning', event: 'escalation.save-failed', error: errorMessage(err) });
    }
  }
}

