// The engine: owns the store, the probe loop, the log sources and the fixes. Runs the same with
// or without a terminal; a view subscribes to `store` and calls the EngineIntents methods.
import { existsSync, unwatchFile, watchFile } from 'node:fs';
import { readOdooConf, resolveOdooDataDir } from '../config/odoo-conf.js';
import { changedOdooKeys } from '../config/odoo-conf-changes.js';
import { hostname } from 'node:os';
import { checkingProbes, type Deployment } from '../correlation/model.js';
import type { ProcessData } from '../probes/process.js';
import { awaitsProbes, staleReason, verifiedFixes, type StaleContext } from '../correlation/stale.js';
import { CONNECTION_LOST, CRON_FOLLOW_UP_KEY, cronFollowUp, type Outage } from '../correlation/follow-ups.js';
import { loadConfig } from '../config/load.js';
import type { Config, OdooConf } from '../config/types.js';
import { IncidentBook, incidentId, isAlarm } from '../incidents/incidents.js';
import { OwnRequests } from '../logs/own-requests.js';
import { OdooEventTally } from '../logs/odoo-events.js';
import { judgeLogRates, withLogRates } from '../probes/log-rates.js';
import type { EngineIntents } from '../state/intents.js';
import { LogPipeline } from './pipeline.js';
import { UnclassifiedGrouper } from '../unclassified/grouper.js';
import { loadPatternLayers, patternLayers } from '../patterns/load.js';
import { Matcher } from '../patterns/matcher.js';
import { createDatabaseProbe } from '../probes/database.js';
import { createOdooDbProbe } from '../probes/odoo-db/probe.js';
import { createOdooConfProbe } from '../config-audit/probe.js';
import { hostProbes, runProbes } from '../probes/run.js';
import type { Probe, ProbeContext } from '../probes/types.js';
import { createEngineStore, HISTORY_CAPACITY, pushBounded, TAIL_CAPACITY, type EngineState, type EngineStore } from '../state/store.js';
import type { Finding, Incident, Level, LogRecord, Pattern, ProbeName, ProbeResult, TailEntry } from '../core/types.js';
import { LEVELS } from '../core/types.js';
import { postgresLogs } from '../probes/postgres-log-discovery.js';
import { createSources, type LogSources, type ReadPosition, type SourceSpec } from '../logs/sources.js';
import { FixDesk } from './fix-desk.js';
import { PatternDesk } from './pattern-desk.js';
import { deploymentOf } from './deployment.js';
import type { EngineEvent, FixDeskHost } from './fix-desk-host.js';

export type EngineMode = 'console' | 'auto';

export interface EngineDeps {
  config: Config;
  odoo: OdooConf;
  /** Pattern layers (loadPatternLayers): the bundled directory, then the local one; or one directory. */
  patternsDir: string | readonly string[];
  mode: EngineMode;
  /** Where the console writes a confirmed pattern draft: the last of `patternsDir`'s layers, or
   * null (none: the draft is shown, not written). */
  localPatternsDir?: string | null;
  /** Log sources to follow; default: from config. */
  sources?: SourceSpec[];
  now?: () => number;
  /** Called for every engine event in --auto (JSON lines). */
  emit?: (event: EngineEvent) => void;
}

export type { EngineEvent } from './fix-desk-host.js';

/** How often buffered log records are flushed into the store (renders follow the store). */
const FLUSH_MS = 100;
/** How often odoo.conf's mtime is looked at. */
const ODOO_CONF_POLL_MS = 2000;
/** How long a log incident must be quiet before its clearing probe may resolve it. */
const CLEAR_QUIET_MS = 60_000;

export class Engine implements EngineIntents, FixDeskHost {
  readonly store: EngineStore;
  readonly book = new IncidentBook();
  readonly config: Config;
  readonly odoo: OdooConf;
  private matcher!: Matcher;
  /** Pattern id → the probe whose pass ends its incidents (Pattern.clearsWith). */
  private clearsWith = new Map<string, ProbeName>();
  private readonly pipeline: LogPipeline;
  /** Worker recycles and registry reloads read from the log (rates on the process probe's result, /metrics). */
  readonly odooEvents: OdooEventTally;
  private readonly probes: Probe[];
  private readonly now: () => number;
  private readonly emit: (e: EngineEvent) => void;
  private pendingTail: TailEntry[] = [];
  /** Records cut from pendingTail before they reached the store (a flood between two flushes). */
  private pendingDropped = 0;
  private tailSeq = 0;
  private dirtyIncidents = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private stopped = false;
  private sources: LogSources | null = null;
  /** When watching began: incidents whose records are all older were replayed from history. */
  private startedAt: number;
  /** Whether a probe round has completed (until then a replayed incident cannot be judged). */
  private probedOnce = false;
  /** Replayed incidents waiting for the first probe round before they may alert or heal. */
  private readonly awaitingProbes = new Set<string>();
  /** PostgreSQL unreachable since (per the database probe), with Odoo's pid then; null while it answers. */
  private outage: Outage | null = null;
  /** Odoo's main pid at the last process probe: a change is a restart. */
  private odooPid: number | null = null;
  /** True while the sources read what was logged before the start (history), false once live. */
  private replaying = false;
  /** Log-born incidents held until the probes that check what they blame have run (checkNow). */
  private readonly awaitingCheck = new Set<string>();
  /** Incident id → the opening (IncidentBook.openings) a check already decided: repeats go straight on. */
  private readonly checkedOpening = new Map<string, number>();
  /** Probes asked for by records since the running check started. */
  private readonly checkProbes = new Set<ProbeName>();
  private checking: Promise<void> | null = null;
  /** Incidents whose records were all replayed from history without a time (StaleContext.untimed). */
  private readonly untimed = new Set<string>();
  /** Labels of the followed sources (file paths, command names), for reports and /health. */
  sourceNames: string[] = [];
  readonly desk: FixDesk;
  /** Pattern drafts for unclassified incidents (the console's suggest key). */
  private readonly patternDesk: PatternDesk;

  /** Console or --auto: for /metrics' build info. */
  get mode(): EngineMode {
    return this.deps.mode;
  }

  constructor(private readonly deps: EngineDeps) {
    this.config = deps.config;
    this.odoo = deps.odoo;
    this.now = deps.now ?? Date.now;
    this.emit = deps.emit ?? (() => {});
    this.store = createEngineStore(hostname(), this.now());
    this.odooEvents = new OdooEventTally(this.now);
    this.startedAt = this.now();
    this.store.setState({
      odoo: { version: null, mode: deps.odoo.workers > 0 ? 'prefork' : 'threaded', configPath: deps.odoo.path },
    });
    this.matcher = this.useMatcher(loadPatternLayers(layersOf(deps.patternsDir)));
    this.pipeline = new LogPipeline(
      this.matcher,
      this.book,
      {
        ownRecord: (r) => this.own.claim(r),
        onRecord: (r) => this.onRecord(r),
        onIncident: (i, r) => this.onIncident(i, r),
        onIncidentChanged: () => {
          this.dirtyIncidents = true;
        },
      },
      this.now,
      new UnclassifiedGrouper(this.config.unclassified),
    );
    this.probes = [...hostProbes(), createDatabaseProbe(), createOdooDbProbe({ filestore: 'interval' }), this.confAudit];
    this.desk = new FixDesk(this, deps.mode === 'auto');
    const layers = layersOf(deps.patternsDir);
    // A directory that is not loaded would not name anything: only the last layer takes drafts.
    const localDir = deps.localPatternsDir && layers.length > 1 && layers[layers.length - 1] === deps.localPatternsDir ? deps.localPatternsDir : null;
    this.patternDesk = new PatternDesk(
      {
        store: this.store,
        book: this.book,
        notice: (text, severity) => this.notice(text, severity),
        reloadPatterns: () => this.reloadPatterns(),
        dismiss: (id) => this.dismiss(id),
        patternFor: (r) => this.matcher.match(r)[0]?.pattern.id ?? null,
        emitEvent: (e) => this.emit(e),
      },
      localDir,
    );
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    this.startedAt = this.now();
    // Past fixes first: a replayed record older than a verified fix must not reopen its incident.
    await this.desk.load();
    const specs = [...(this.deps.sources ?? defaultSources(this.config, this.odoo))];
    if (this.config.logs.postgres === null) {
      // Asked of the server once per start; a new log file after PostgreSQL's own rotation is
      // picked up at the next start or reload.
      const start = this.deps.sources ? 'end' : 'tail:65536';
      for (const path of await postgresLogs(null, this.odoo, this.config.probes.timeoutMs)) {
        if (!specs.some((s) => s.kind === 'file' && s.path === path)) specs.push({ kind: 'file', path, start, postgres: true });
      }
    }
    this.pipeline.setPostgresSources(specs.flatMap((s) => (s.kind === 'file' && s.postgres ? [s.path] : [])));
    const sources = this.followSources(specs);
    this.replaying = true;
    try {
      await sources.start(); // the files' tails are read before it resolves
      this.flushNow();
    } finally {
      this.replaying = false;
    }
    if (this.odoo.path) {
      // Polled stat, not inotify: editors replace the file (rename), which an inotify watch loses.
      watchFile(this.odoo.path, { interval: ODOO_CONF_POLL_MS, persistent: false }, () => void this.reloadOdooConf('odoo.conf changed'));
    }
    void this.probeTick();
    this.probeTimer = setInterval(() => void this.probeTick(), this.config.probes.intervalMs);
    this.probeTimer.unref?.();
    this.emit({ level: 'info', event: 'started', sources: this.sourceNames });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.odoo.path) unwatchFile(this.odoo.path);
    if (this.probeTimer) clearInterval(this.probeTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.sources?.stop();
    await this.checking;
    await this.desk.close();
    await Promise.allSettled(this.probes.map((p) => p.close?.()));
    this.flush();
  }

  private reloadingConf: Promise<void> = Promise.resolve();
  /** The odoo.conf audit: audited at start, again after each re-read of odoo.conf, never every round. */
  private readonly confAudit = createOdooConfProbe({ when: 'on-change' });

  /**
   * Reads odoo.conf again (it changed, or Odoo's main pid changed) and moves what follows from it:
   * the probes and fixes read `this.odoo` (database target, roots, workers), and the log sources
   * follow a new logfile from its current end. A file that cannot be read keeps the last values.
   */
  reloadOdooConf(reason: string): Promise<void> {
    this.reloadingConf = this.reloadingConf.then(async () => {
      if (!this.odoo.path || this.stopped) return;
      let next: OdooConf;
      try {
        next = readOdooConf(this.odoo.path).conf;
      } catch (err) {
        this.notice(`odoo.conf not re-read (${reason}): ${(err as Error).message}`, 'warning');
        return;
      }
      next.dataDir = resolveOdooDataDir(next, this.config.odoo.user) ?? next.dataDir;
      // The file changed (or Odoo restarted, with new workers to weigh it against): audit it again
      // on the next round, even when no key odoo-heal follows changed (db_maxconn, admin_passwd...).
      this.confAudit.invalidate();
      const changed = changedOdooKeys(this.odoo, next);
      if (changed.length === 0) return;
      const logMoved = next.logfile !== this.odoo.logfile;
      Object.assign(this.odoo, { ...next, path: this.odoo.path });
      this.store.setState({ odoo: { ...this.store.getState().odoo, mode: next.workers > 0 ? 'prefork' : 'threaded' } });
      if (logMoved && !this.deps.sources) await this.restartSources();
      this.emit({ level: 'info', event: 'odoo-conf.reloaded', reason, changed });
      this.notice(`odoo.conf re-read (${reason}): ${changed.join(', ')} changed`, 'info');
    });
    return this.reloadingConf;
  }

  /** Creates (not yet started) the followers of `specs`, feeding their lines into the pipeline. */
  private followSources(specs: SourceSpec[]): LogSources {
    this.sourceNames = specs.map((s) => (s.kind === 'file' ? s.path : s.name));
    this.sources = createSources(
      specs,
      (lines: string[], source: string) => {
        this.pipeline.pushLines(source, lines);
        // A followed source delivers whole lines; the record is complete once the next header
        // arrives or the source goes quiet — flush on the next tick so a lone record still counts.
        this.scheduleFlush(source);
      },
      (err: { message: string }) => this.notice(err.message, 'warning'),
    );
    return this.sources;
  }

  /** Follows the log sources odoo.conf now names; files still followed resume where they were. */
  private async restartSources(): Promise<void> {
    const positions = this.sources?.positions() ?? new Map();
    await this.sources?.stop();
    const specs = defaultSources(this.config, this.odoo, 'end', positions);
    const sources = this.followSources(specs);
    await sources.start();
  }

  /** Per followed file: where reading stands (or stood, once stopped), for a successor to resume. */
  readPositions(): Map<string, ReadPosition> {
    return this.sources?.positions() ?? new Map();
  }

  private useMatcher(patterns: Pattern[]): Matcher {
    this.clearsWith = new Map(patterns.flatMap((p) => (p.clearsWith ? [[p.id, p.clearsWith] as const] : [])));
    this.matcher = new Matcher(patterns);
    return this.matcher;
  }

  /** Replace the pattern set (SIGHUP); throws on a bad file and keeps the old set. */
  reloadPatterns(dir = this.deps.patternsDir): number {
    const patterns = loadPatternLayers(layersOf(dir));
    this.pipeline.setMatcher(this.useMatcher(patterns));
    return patterns.length;
  }

  // ------------------------------------------------------------------ logs

  /** Feed lines directly (tests, demo, stdin). */
  ingest(source: string, lines: readonly string[]): void {
    this.pipeline.pushLines(source, lines);
    this.scheduleFlush(source);
  }

  private flushSources = new Set<string>();

  private scheduleFlush(source: string): void {
    this.flushSources.add(source);
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => this.flushNow(), FLUSH_MS);
    this.flushTimer.unref?.();
  }

  /** Completes the records pending in the sources fed since the last flush and updates the store. */
  flushNow(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const s of this.flushSources) this.pipeline.flush(s);
    this.flushSources.clear();
    this.flush();
  }

  private onRecord(record: LogRecord): void {
    this.patternDesk.recent.note(record);
    this.odooEvents.add(record);
    this.pendingTail.push({ seq: ++this.tailSeq, record });
    // Trim in batches (not one splice per record in a flood); what is cut counts as dropped.
    if (this.pendingTail.length >= 2 * TAIL_CAPACITY) {
      this.pendingDropped += this.pendingTail.length - TAIL_CAPACITY;
      this.pendingTail = this.pendingTail.slice(-TAIL_CAPACITY);
    }
  }

  /** What the dependency model needs to know about this host: its file systems and Odoo's writes. */
  deployment(): Deployment {
    return deploymentOf(this.store.getState().probes, this.odoo);
  }

  /** Re-links symptoms to their roots; `force` also after time alone changed (a root left its settle window). */
  private correlate(force = false): void {
    const now = this.now();
    const changed = force
      ? this.book.correlate(now, this.deployment(), CLEAR_QUIET_MS)
      : this.book.correlateIfChanged(now, this.deployment(), CLEAR_QUIET_MS);
    if (changed.length === 0) return;
    this.dirtyIncidents = true;
    // An incident still held for its check is announced by the check (checkNow), once.
    for (const i of changed) if (i.rootId === null && !this.awaitingCheck.has(i.id)) this.desk.onBecameRoot(i);
  }

  private staleContext(): StaleContext {
    const s = this.store.getState();
    const proc = s.probes.process;
    const main = (proc?.data as ProcessData | null | undefined)?.main;
    const fixes = verifiedFixes(s.attempts);
    return {
      startedAt: this.startedAt,
      now: this.now(),
      probes: s.probes,
      clearsWith: this.clearsWith,
      verifiedFixAt: fixes,
      odooStartedAt: main && proc ? proc.checkedAt - main.uptimeSeconds * 1000 : null,
      untimed: this.untimed,
      cronRestartedAt: fixes.get(incidentId(`engine:${CRON_FOLLOW_UP_KEY}`)) ?? null,
    };
  }

  /** Resolves an incident rebuilt from history that is already over; true when it was. */
  private resolveIfStale(incident: Incident): boolean {
    const stale = staleReason(incident, this.staleContext());
    if (!stale) return false;
    this.book.resolve(incident.id, stale.at);
    this.emit({ level: 'info', event: 'incident.stale', incident: incident.id, title: incident.title, why: stale.why });
    return true;
  }

  /**
   * While the sources replay history at start, an incident that is already over is resolved instead
   * of alarming, and one only the probes can judge waits for their first round. A record that
   * arrives later is live: its incident goes through at once. True when it must not go further now.
   */
  private settleReplayed(incident: Incident): boolean {
    if (!this.replaying) {
      this.awaitingProbes.delete(incident.id);
      return false;
    }
    if (incident.status === 'resolved') return false;
    if (this.resolveIfStale(incident)) return true;
    if (!this.probedOnce && awaitsProbes(incident, { startedAt: this.startedAt, clearsWith: this.clearsWith, untimed: this.untimed })) {
      this.awaitingProbes.add(incident.id);
      return true;
    }
    return false;
  }

  private onIncident(incident: Incident, record: LogRecord): void {
    this.dirtyIncidents = true;
    // History without a time of its own (stderr) is older than the start, by how much unknown.
    if (this.replaying && record.time === null) {
      if (incident.count === 1) this.untimed.add(incident.id);
    } else this.untimed.delete(incident.id);
    const held = this.settleReplayed(incident);
    this.correlate();
    if (held || this.heldForCheck(incident)) return;
    if (incident.count === 1) {
      this.emit({ level: 'warning', event: 'incident.opened', incident: incident.id, title: incident.title, severity: incident.severity, rootId: incident.rootId });
    }
    this.desk.onIncidentActivity(incident);
  }

  /**
   * A log record that blames a part a probe can check (PostgreSQL unreachable, a full disk) is a
   * reason to look, at once: Odoo logs "failed to connect" a moment before the database probe's
   * next round would see PostgreSQL down, and acting on the record first made two roots for one
   * outage. The incident waits for those probes (checkNow) and goes on only then: a symptom under
   * the probe's root, or a root of its own when the probes found the part working. True while held.
   */
  private heldForCheck(incident: Incident): boolean {
    if (this.awaitingCheck.has(incident.id)) return true;
    if (this.replaying || this.stopped || incident.status !== 'open' || incident.rootId !== null) return false;
    if (incident.origin.kind !== 'pattern' && incident.origin.kind !== 'unclassified') return false;
    if (this.checkedOpening.get(incident.id) === this.book.openings(incident.id)) return false;
    const c = this.book.classOf(incident);
    const probes = c ? checkingProbes(c, this.deployment()) : [];
    if (probes.length === 0) return false;
    this.awaitingCheck.add(incident.id);
    for (const p of probes) this.checkProbes.add(p);
    this.checking ??= this.checkNow().finally(() => {
      this.checking = null;
    });
    return true;
  }

  /** Runs the probes the held incidents asked for, applies them, then lets each incident go on. */
  private async checkNow(): Promise<void> {
    while (this.checkProbes.size > 0 && !this.stopped) {
      const probes = this.probes.filter((p) => this.checkProbes.has(p.name));
      this.checkProbes.clear();
      // Records that arrive while these probes run ask again: their check must start after them.
      const decided = [...this.awaitingCheck];
      try {
        const results = await runProbes(probes, this.probeContext(true), this.config.probes.timeoutMs);
        if (!this.stopped) this.applyProbeResults(results);
      } catch (err) {
        this.notice(`probe check failed: ${(err as Error).message}`, 'warning');
      }
      for (const id of decided) this.releaseChecked(id);
      this.markIncidentsDirty();
    }
    for (const id of this.awaitingCheck) this.releaseChecked(id);
  }

  private releaseChecked(id: string): void {
    this.awaitingCheck.delete(id);
    const i = this.book.get(id);
    if (!i) return;
    this.checkedOpening.set(id, this.book.openings(id));
    if (this.stopped || i.status === 'resolved' || i.status === 'snoozed') return;
    this.emit({ level: 'warning', event: 'incident.opened', incident: i.id, title: i.title, severity: i.severity, rootId: i.rootId });
    // A root alerts and may be healed; a symptom goes with its root.
    if (i.rootId === null) this.desk.onBecameRoot(i);
  }

  /** One store update for everything buffered since the last flush. */
  flush(): void {
    const s = this.store.getState();
    const patch: Partial<ReturnType<EngineStore['getState']>> = {};
    if (this.pendingTail.length > 0) {
      const total = s.tail.length + this.pendingTail.length;
      patch.tail = pushBounded(s.tail, this.pendingTail, TAIL_CAPACITY);
      patch.tailDropped = s.tailDropped + this.pendingDropped + Math.max(0, total - TAIL_CAPACITY);
      this.pendingTail = [];
      this.pendingDropped = 0;
    }
    if (this.dirtyIncidents) {
      const incidents = this.incidentMap();
      if (incidents !== s.incidents) patch.incidents = incidents;
      this.dirtyIncidents = false;
    }
    const counters = {
      linesRead: this.pipeline.lines,
      records: this.pipeline.records,
      matches: this.pipeline.matches,
      unclassified: this.pipeline.unclassified,
    };
    if (
      counters.linesRead !== s.counters.linesRead ||
      counters.records !== s.counters.records ||
      counters.matches !== s.counters.matches ||
      counters.unclassified !== s.counters.unclassified
    ) {
      patch.counters = counters;
    }
    if (patch.tail || patch.incidents || patch.counters) this.store.setState(patch);
  }

  /**
   * The store's view of the book. The book mutates its incidents in place, so the store gets copies;
   * a copy is reused while its incident is unchanged, and the whole map is reused when nothing
   * changed, so selectors (and the panes behind them) see the same references and skip rendering.
   */
  private incidentMap(): Record<string, Incident> {
    const previous = this.store.getState().incidents;
    const list = this.book.list();
    let changed = list.length !== Object.keys(previous).length;
    const out: Record<string, Incident> = {};
    for (const i of list) {
      const shown = previous[i.id];
      if (shown && sameIncident(shown, i)) {
        out[i.id] = shown;
      } else {
        out[i.id] = { ...i };
        changed = true;
      }
    }
    return changed ? out : previous;
  }

  markIncidentsDirty(): void {
    this.dirtyIncidents = true;
    this.flush();
  }

  // ------------------------------------------------------------------ probes

  /** The requests we send to Odoo, whose access lines in its log are ours, not the admin's traffic. */
  private readonly own = new OwnRequests();
  /** When the last probe round started: evidence newer than it may call for a probe out of turn. */
  private lastRoundAt = 0;

  probeContext(urgent = false): ProbeContext {
    return {
      config: this.config,
      odoo: this.odoo,
      now: this.now,
      odooPid: this.odooPid,
      urgent,
      noteRequest: (method, path) => this.own.note(method, path, this.now()),
    };
  }

  /** Another signal suggests trouble: a critical probe, or a root incident with news since the last round. */
  private trouble(): boolean {
    const s = this.store.getState();
    // odoo.conf's audit is not an outage: an error there is a setting to change, not a reason to look sooner.
    if (Object.values(s.probes).some((r) => r && r.probe !== 'odoo_http' && r.probe !== 'odoo_conf' && r.status === 'critical')) return true;
    return this.book.list().some((i) => isAlarm(i) && i.lastSeen > this.lastRoundAt);
  }

  async runProbe(name: ProbeName): Promise<ProbeResult> {
    const probe = this.probes.find((p) => p.name === name);
    if (!probe) throw new Error(`no probe named ${name}`);
    // Asked for by a fix's verification: it must look now, whatever the probe's own interval.
    const [result] = await runProbes([probe], this.probeContext(true), this.config.probes.timeoutMs);
    return result!;
  }

  async probeTick(): Promise<void> {
    if (this.probing || this.stopped) return;
    this.probing = true;
    try {
      const urgent = this.trouble();
      this.lastRoundAt = this.now();
      const results = await runProbes(this.probes, this.probeContext(urgent), this.config.probes.timeoutMs);
      this.applyProbeResults(results);
    } finally {
      this.probing = false;
    }
  }

  /**
   * Log incidents whose pattern names this probe end when it passes and their records have stopped
   * for a minute: the log says what happened, the probe says it is over.
   */
  private clearLogIncidents(probe: ProbeName): void {
    const now = this.now();
    for (const i of this.book.list()) {
      if (i.status !== 'open' || i.origin.kind !== 'pattern') continue;
      if (this.clearsWith.get(i.origin.patternId) !== probe || now - i.lastSeen < CLEAR_QUIET_MS) continue;
      const resolved = this.book.resolve(i.id, now);
      if (!resolved) continue;
      this.emit({ level: 'info', event: 'incident.resolved', incident: i.id, title: i.title, by: probe, rootId: i.rootId });
      this.desk.onResolved(resolved);
    }
  }

  applyProbeResults(probed: ProbeResult[]): void {
    const s = this.store.getState();
    // A check runs probes beside the rounds: a result that started before the one in the store is
    // older news and must not undo it (an "ok" from before the outage resolving its root).
    const results = probed
      .filter((r) => !(s.probes[r.probe] && r.checkedAt < s.probes[r.probe]!.checkedAt))
      .map((r) => (r.probe === 'process' ? withLogRates(r, judgeLogRates(this.odooEvents, this.now(), this.config.thresholds)) : r));
    const probes = { ...s.probes };
    // Every result is in the book before any is acted on: whether the services probe's "postgresql
    // is failing" is a root or a symptom depends on what the database probe found in the same round.
    const pendingActivity: Incident[] = [];
    const rounds = results.map((r) => {
      probes[r.probe] = r;
      return { r, ...this.book.applyFindings(r.probe, r.findings, this.now()) };
    });
    if (!this.probedOnce && results.length > 0) {
      this.probedOnce = true;
      // The store has this round's results before they judge the replayed incidents.
      this.store.setState({ probes });
      for (const id of this.awaitingProbes) {
        const i = this.book.get(id);
        if (i && i.status !== 'resolved' && !this.resolveIfStale(i)) pendingActivity.push(i);
      }
      this.awaitingProbes.clear();
    }
    const followUp = this.followOdooProcess(probes);
    this.correlate(true);
    if (followUp) this.desk.onIncidentActivity(followUp);
    for (const i of pendingActivity) {
      this.emit({ level: 'warning', event: 'incident.opened', incident: i.id, title: i.title, severity: i.severity, rootId: i.rootId });
      this.desk.onBecameRoot(i);
    }
    for (const { r, opened, resolved } of rounds) {
      for (const i of opened) this.emit({ level: 'warning', event: 'incident.opened', incident: i.id, title: i.title, rootId: i.rootId });
      for (const i of resolved) {
        this.emit({ level: 'info', event: 'incident.resolved', incident: i.id, title: i.title });
        this.desk.onResolved(i);
      }
      for (const f of r.findings) {
        const incident = this.book.forFinding(r.probe, f.key);
        if (incident) this.desk.onIncidentActivity(incident);
      }
      if (r.status === 'ok' || r.status === 'warning') this.clearLogIncidents(r.probe);
    }
    this.correlate();
    const mem = probes.memory?.data as { usedPercent?: number } | null | undefined;
    const db = probes.database?.data as { latencyMs?: number | null } | null | undefined;
    const proc = probes.process?.data as { totalCpuPercent?: number } | null | undefined;
    const history = { ...s.history };
    let historyChanged = false;
    const sample = (key: keyof EngineState['history'], value: number | null | undefined) => {
      if (typeof value !== 'number') return;
      history[key] = pushBounded(history[key], [value], HISTORY_CAPACITY);
      historyChanged = true;
    };
    sample('memUsedPercent', mem?.usedPercent);
    sample('dbLatencyMs', db?.latencyMs);
    sample('cpu', proc?.totalCpuPercent);
    const http = probes.odoo_http?.data as { version?: string | null } | null | undefined;
    const procMode = (probes.process?.data as { mode?: string } | null | undefined)?.mode;
    const version = http?.version ? http.version : s.odoo.version;
    const mode = procMode === 'threaded' || procMode === 'prefork' || procMode === 'stopped' ? procMode : s.odoo.mode;
    // One store update per round, carrying only the parts that changed: an unchanged slice keeps
    // its reference, so the panes that show it are not rendered again.
    const patch: Partial<EngineState> = {};
    if (results.length > 0) patch.probes = probes;
    if (historyChanged) patch.history = history;
    if (version !== s.odoo.version || mode !== s.odoo.mode) patch.odoo = { ...s.odoo, version, mode };
    const incidents = this.incidentMap();
    if (incidents !== s.incidents) patch.incidents = incidents;
    this.dirtyIncidents = false;
    if (Object.keys(patch).length > 0) this.store.setState(patch);
  }

  /**
   * Follow-ups the dependency graph implies across probe rounds: an Odoo restart (its main pid
   * changed) ends the incidents about the old process's cron threads; PostgreSQL coming back to a
   * threaded Odoo that lived through the outage raises the cron-threads follow-up (a restart).
   */
  private followOdooProcess(probes: EngineState['probes']): Incident | null {
    const now = this.now();
    const proc = probes.process;
    const data = proc?.data as ProcessData | null | undefined;
    const pid = data?.main?.pid ?? null;
    if (pid !== null && this.odooPid !== null && pid !== this.odooPid) {
      const startedAt = proc && data?.main ? proc.checkedAt - data.main.uptimeSeconds * 1000 : now;
      for (const i of this.book.list()) {
        if (i.status === 'resolved') continue;
        const deadCron =
          (i.origin.kind === 'engine' && i.origin.key === CRON_FOLLOW_UP_KEY) ||
          (i.origin.kind === 'pattern' && i.origin.patternId === 'cron-thread-crashed' && i.lastSeen <= startedAt);
        if (!deadCron) continue;
        this.book.resolve(i.id, now);
        this.emit({ level: 'info', event: 'incident.resolved', incident: i.id, title: i.title, by: 'odoo restarted', rootId: i.rootId });
        this.desk.onResolved(i);
      }
    }
    if (pid !== null && this.odooPid !== null && pid !== this.odooPid) void this.reloadOdooConf('Odoo restarted');
    if (pid !== null) this.odooPid = pid;

    const db = probes.database;
    if (!db) return null;
    const lost = db.findings.some((f) => CONNECTION_LOST.has(f.key));
    if (lost && !this.outage) this.outage = { since: now, odooPid: this.odooPid };
    // An outage a log record's check saw before the first process round (odoo-heal just started)
    // learns Odoo's pid from the first round that still sees PostgreSQL down: that process lives
    // through the outage too.
    if (lost && this.outage && this.outage.odooPid === null) this.outage.odooPid = this.odooPid;
    if (lost || !this.outage || db.status === 'unknown') return null;
    const outage = this.outage;
    this.outage = null;
    const mode = data?.mode ?? (this.odoo.workers > 0 ? 'prefork' : 'threaded');
    const finding = cronFollowUp(outage, now, { mode, maxCronThreads: this.odoo.maxCronThreads, pid });
    if (!finding) return null;
    const incident = this.book.raise(finding, now);
    this.dirtyIncidents = true;
    this.emit({ level: 'warning', event: 'incident.opened', incident: incident.id, title: incident.title, severity: incident.severity, rootId: incident.rootId });
    return incident;
  }

  /** An engine-made incident (e.g. "auto-heal gave up on X"), kept until dismissed or it resets. */
  raiseFinding(finding: Finding): Incident {
    const incident = this.book.raise(finding, this.now());
    this.markIncidentsDirty();
    return incident;
  }

  emitEvent(event: EngineEvent): void {
    this.emit(event);
  }

  // ------------------------------------------------------------------ intents

  notice(text: string, severity: 'info' | 'warning' | 'critical' = 'info'): void {
    this.store.setState({ notice: { text, severity, at: this.now() } });
    this.emit({ level: severity === 'info' ? 'info' : severity === 'warning' ? 'warning' : 'error', event: 'notice', text });
  }

  requestPlan(incidentId: string): Promise<void> {
    return this.desk.requestPlan(incidentId);
  }
  confirmPlan(): Promise<void> {
    return this.desk.confirmPlan();
  }
  cancelPlan(): void {
    this.store.setState({ plan: null });
  }
  rollbackLast(): Promise<void> {
    return this.desk.rollbackLast();
  }
  suggestPattern(incidentId: string): Promise<void> {
    return this.patternDesk.suggest(incidentId);
  }
  confirmSuggestion(): Promise<void> {
    return this.patternDesk.confirm();
  }
  dismissSuggestion(): void {
    this.patternDesk.dismiss();
  }
  snooze(incidentId: string, ms = 60 * 60 * 1000): void {
    this.book.snooze(incidentId, this.now() + ms);
    this.correlate();
    this.markIncidentsDirty();
  }
  dismiss(incidentId: string): void {
    this.book.resolve(incidentId, this.now());
    this.correlate();
    this.markIncidentsDirty();
  }
  setAutoHeal(on: boolean): void {
    this.store.setState({ autoHeal: on });
    this.emit({ level: 'info', event: 'autoheal', on });
  }
  setTailFilter(text: string): void {
    const f = this.store.getState().filters;
    this.store.setState({ filters: { ...f, tailText: text } });
  }
  setTailMinLevel(level: Level): void {
    if (!LEVELS.includes(level)) return;
    const f = this.store.getState().filters;
    this.store.setState({ filters: { ...f, tailMinLevel: level } });
  }
  setTailPaused(paused: boolean): void {
    const f = this.store.getState().filters;
    this.store.setState({ filters: { ...f, tailPaused: paused } });
  }
}

/**
 * Whether the store's copy still shows the incident as the book has it. The book changes scalars in
 * place and replaces `fix` on every probe round (same content, new object), so `fix` is compared
 * by content; `origin` and `sample` are set once per incident.
 */
function sameIncident(shown: Incident, live: Incident): boolean {
  return (
    shown.status === live.status &&
    shown.count === live.count &&
    shown.firstSeen === live.firstSeen &&
    shown.lastSeen === live.lastSeen &&
    shown.resolvedAt === live.resolvedAt &&
    shown.snoozedUntil === live.snoozedUntil &&
    shown.severity === live.severity &&
    shown.title === live.title &&
    shown.category === live.category &&
    shown.hint === live.hint &&
    shown.detail === live.detail &&
    shown.fingerprint === live.fingerprint &&
    shown.origin === live.origin &&
    shown.sample === live.sample &&
    shown.rootId === live.rootId &&
    sameFix(shown.fix, live.fix)
  );
}

function sameFix(a: Incident['fix'], b: Incident['fix']): boolean {
  if (a === b) return true;
  if (!a || !b || a.id !== b.id || a.unattended !== b.unattended) return false;
  const keys = Object.keys(a.params);
  return keys.length === Object.keys(b.params).length && keys.every((k) => a.params[k] === b.params[k]);
}

/**
 * Log sources from config: odoo.conf logfile + extra files + command sources (journald by default
 * under systemd). `resume`: where a previous engine's file sources stopped, by path (a reload).
 */
export function defaultSources(
  config: Config,
  odoo: OdooConf,
  start: 'end' | 'start' | `tail:${number}` = 'tail:65536',
  resume: ReadonlyMap<string, ReadPosition> = new Map(),
): SourceSpec[] {
  const files = new Set<string>();
  if (odoo.logfile) files.add(odoo.logfile);
  for (const f of config.logs.files) files.add(f);
  const postgres = new Set((config.logs.postgres ?? []).filter((f) => !files.has(f)));
  const specs: SourceSpec[] = [...files, ...postgres].map((path) => {
    const at = resume.get(path);
    const spec: SourceSpec = at ? { kind: 'file', path, start, resume: at } : { kind: 'file', path, start };
    return postgres.has(path) ? { ...spec, postgres: true } : spec;
  });
  // null = the default: under systemd, Odoo's unit journal, where the stderr-only failures are
  // (dead cron threads, port in use, a log file it could not open).
  const commands = config.logs.commands ?? (systemdRuns() ? [journaldSource(config.odoo.unit)] : []);
  for (const c of commands) specs.push({ kind: 'command', name: c.name, argv: c.argv });
  return specs;
}

function systemdRuns(): boolean {
  return existsSync('/run/systemd/system');
}

function layersOf(dir: string | readonly string[]): readonly string[] {
  return typeof dir === 'string' ? [dir] : dir;
}

/** Follows the unit's journal from now on (`-n 0`: the file sources already cover the past). */
export function journaldSource(unit: string): { name: string; argv: string[] } {
  return { name: 'journald', argv: ['journalctl', '-u', unit, '-f', '-o', 'short-iso', '-n', '0', '-q'] };
}

export interface CreateEngineOptions {
  /** odoo-heal's YAML config (default: discovered by loadConfig). */
  configPath?: string | undefined;
  /** odoo.conf (default: discovered). */
  odooConfigPath?: string | undefined;
  /** Pattern directory (default: the bundled patterns/). */
  patternsDir?: string | undefined;
  mode: EngineMode;
  emit?: (event: EngineEvent) => void;
  /** Environment for config loading (default process.env); the demo drops ODOO_HEAL_STATE_DIR. */
  env?: NodeJS.ProcessEnv;
}

export async function createEngine(opts: CreateEngineOptions): Promise<Engine> {
  const { config, odoo } = await loadConfig({
    configPath: opts.configPath,
    odooConfigPath: opts.odooConfigPath,
    ...(opts.env ? { env: opts.env } : {}),
  });
  return new Engine({
    config,
    odoo,
    patternsDir: patternLayers(opts.patternsDir, config.patterns.localDir),
    localPatternsDir: opts.patternsDir ? null : config.patterns.localDir,
    mode: opts.mode,
    emit: opts.emit,
  });
}
