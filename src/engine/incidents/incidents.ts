// The incident book: turns pattern matches and probe findings into a small set of incidents.
// Pure data (no I/O, no clock: callers pass `now`), so the engine, `check`, `detect` and the tests
// all share the same grouping rules.
//
// Grouping: a pattern incident is identified by the pattern id plus the captures its pattern lists
// in `fingerprint` (400 identical worker crashes = one incident; permission errors under one
// filestore = one incident). A probe incident is `probe:<probe>:<key>`.
import { createHash } from 'node:crypto';
import type {
  Finding,
  Incident,
  IncidentOrigin,
  IncidentStatus,
  PatternFix,
  LogRecord,
  PatternMatch,
  ProbeName,
  Severity,
} from '../core/types.js';
import type { Signature } from './signature.js';
import { SEVERITY_RANK } from '../core/types.js';
import { correlate } from '../correlation/correlate.js';
import { classify, foldedKey, NO_DEPLOYMENT, type Classification, type Deployment } from '../correlation/model.js';

/** `permission-denied|path=/srv/odoo/filestore/db`: pattern id, then `name=value` per fingerprint capture. */
export function patternFingerprint(m: PatternMatch): string {
  const parts = [m.pattern.id];
  for (const name of m.pattern.fingerprint) parts.push(`${name}=${m.captures[name] ?? ''}`);
  return parts.join('|');
}

export function unclassifiedFingerprint(signature: string): string {
  return `unclassified|${signature}`;
}

/** Occurrences per minute between first and last seen (a burst inside one minute counts as one minute). */
export function incidentRate(i: Pick<Incident, 'count' | 'firstSeen' | 'lastSeen'>): number {
  return i.count / Math.max(1, (i.lastSeen - i.firstSeen) / 60_000);
}

export function probeFingerprint(probe: ProbeName, key: string): string {
  return `probe:${probe}:${key}`;
}

/** The fingerprint of the incident a probe finding lands in (folded findings share one: foldedKey). */
export function findingFingerprint(probe: ProbeName, key: string): string {
  return probeFingerprint(probe, foldedKey(probe, key));
}

// A scan adds thousands of matches of a handful of incidents: hashing each fingerprint again
// showed up in bench/log-scan profiles. Fingerprints are few; the cache is bounded anyway.
const idCache = new Map<string, string>();
const ID_CACHE_MAX = 10_000;

export function incidentId(fingerprint: string): string {
  let id = idCache.get(fingerprint);
  if (id === undefined) {
    id = `i-${createHash('sha1').update(fingerprint).digest('hex').slice(0, 8)}`;
    if (idCache.size >= ID_CACHE_MAX) idCache.clear();
    idCache.set(fingerprint, id);
  }
  return id;
}

/** The pattern's fix with `${capture}` templates filled in (missing captures become ''). */
export function resolveFix(fix: PatternFix | undefined, captures: Record<string, string>): PatternFix | null {
  if (!fix) return null;
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(fix.params)) {
    params[k] = v.replace(/\$\{([^}]*)\}/g, (_, name: string) => captures[name] ?? '');
  }
  return { id: fix.id, params, unattended: fix.unattended };
}

function isActive(i: Incident): boolean {
  return i.status !== 'resolved';
}

export interface BookJSON {
  version: 1;
  incidents: Incident[];
}

export class IncidentBook {
  private readonly byId = new Map<string, Incident>();
  /** An incident's part of the deployment never changes (origin and sample are set once). */
  private readonly classes = new Map<string, Classification | null>();
  /** Bumped when an incident appears or changes status: the links only change then (or with time). */
  private generation = 0;
  private correlatedAt = -1;
  /** Incident id → how many times it was opened (created, or reopened after being resolved). */
  private readonly opened = new Map<string, number>();

  private markOpened(id: string): void {
    this.opened.set(id, (this.opened.get(id) ?? 0) + 1);
  }

  /** How many times the incident was opened: a change means a new episode of the same problem. */
  openings(id: string): number {
    return this.opened.get(id) ?? 0;
  }

  /** A new incident enters the book, opened. */
  private open(incident: Incident): Incident {
    this.byId.set(incident.id, incident);
    this.markOpened(incident.id);
    this.generation++;
    return incident;
  }

  /** One more record of a known incident at `t`. */
  private repeat(existing: Incident, t: number, now: number): Incident {
    existing.count++;
    if (t < existing.firstSeen) existing.firstSeen = t;
    if (t > existing.lastSeen) existing.lastSeen = t;
    // A repeat after the incident was resolved reopens it; an old record read late does not.
    if (existing.status === 'resolved' && existing.resolvedAt !== null && t > existing.resolvedAt) {
      existing.status = 'open';
      existing.resolvedAt = null;
      this.markOpened(existing.id);
      this.generation++;
    }
    this.wake(existing, now);
    return existing;
  }

  /** Records one pattern match; returns the (new or updated) incident. */
  addMatch(m: PatternMatch, now: number): Incident {
    const fingerprint = patternFingerprint(m);
    const id = incidentId(fingerprint);
    const t = m.record.time ?? now;
    const existing = this.byId.get(id);
    if (existing) {
      return this.repeat(existing, t, now);
    }
    const p = m.pattern;
    const incident: Incident = {
      id,
      fingerprint,
      origin: { kind: 'pattern', patternId: p.id, captures: { ...m.captures } },
      title: p.title,
      severity: p.severity,
      category: p.category,
      hint: p.hint,
      status: 'open',
      count: 1,
      firstSeen: t,
      lastSeen: t,
      sample: m.record,
      detail: m.record.exception ?? m.record.message,
      fix: resolveFix(p.fix, m.captures),
      resolvedAt: null,
      snoozedUntil: null,
      rootId: null,
    };
    return this.open(incident);
  }

  /**
   * Records one record no pattern explains, grouped by its signature. `severity` is this record's
   * (the incident keeps the worst seen); `request` is the failing request, when known.
   */
  addUnclassified(sig: Signature, record: LogRecord, severity: Severity, now: number): Incident {
    const fingerprint = unclassifiedFingerprint(sig.key);
    const id = incidentId(fingerprint);
    const t = record.time ?? now;
    const existing = this.byId.get(id);
    if (existing) {
      if (SEVERITY_RANK[severity] > SEVERITY_RANK[existing.severity]) existing.severity = severity;
      return this.repeat(existing, t, now);
    }
    const where = sig.frame ? ` in ${sig.frame}` : sig.logger ? ` (logger ${sig.logger})` : '';
    const incident: Incident = {
      id,
      fingerprint,
      origin: {
        kind: 'unclassified',
        signature: sig.key,
        exceptionClass: sig.exceptionClass,
        addon: sig.addon,
        frame: sig.frame,
        logger: sig.logger,
        request: null,
      },
      title: sig.title,
      severity,
      category: sig.addon ? 'code' : 'other',
      hint:
        `No pattern explains this error: it was raised${where}. Read the sample's traceback; ` +
        `\`odoo-heal patterns suggest ${id}\` drafts a pattern that names it (local patterns go in /etc/odoo-heal/patterns.d).`,
      status: 'open',
      count: 1,
      firstSeen: t,
      lastSeen: t,
      sample: record,
      detail: record.exception ?? record.message,
      fix: null,
      resolvedAt: null,
      snoozedUntil: null,
      rootId: null,
    };
    return this.open(incident);
  }

  /**
   * Adds the incidents another book built from the matches that come after all of this book's
   * matches (the second half of a log scanned in a worker thread): the same result as adding those
   * matches here one by one, for books that only ever received matches (no resolve, no snooze).
   */
  absorbLater(later: Incident[]): void {
    for (const i of later) {
      const existing = this.byId.get(i.id);
      if (!existing) {
        this.byId.set(i.id, i);
        this.generation++;
        continue;
      }
      existing.count += i.count;
      if (i.firstSeen < existing.firstSeen) existing.firstSeen = i.firstSeen;
      if (i.lastSeen > existing.lastSeen) existing.lastSeen = i.lastSeen;
      if (SEVERITY_RANK[i.severity] > SEVERITY_RANK[existing.severity]) existing.severity = i.severity;
      if (existing.origin.kind === 'unclassified' && i.origin.kind === 'unclassified' && existing.origin.request === null) {
        existing.origin.request = i.origin.request;
      }
    }
  }

  /**
   * One probe's latest findings. A finding opens (or reopens) its incident; an active incident of
   * this probe whose key is absent from `findings` is resolved.
   */
  applyFindings(probe: ProbeName, findings: Finding[], now: number): { opened: Incident[]; resolved: Incident[] } {
    const opened: Incident[] = [];
    const resolved: Incident[] = [];
    const present = new Set<string>();
    for (const f of findings) {
      const { incident, opened: isNew } = this.upsertFinding(findingFingerprint(probe, f.key), { kind: 'probe', probe, key: f.key }, f, now);
      present.add(incident.id);
      if (isNew) opened.push(incident);
    }
    for (const i of this.byId.values()) {
      if (i.origin.kind === 'probe' && i.origin.probe === probe && isActive(i) && !present.has(i.id)) {
        i.status = 'resolved';
        i.resolvedAt = now;
        i.snoozedUntil = null;
        resolved.push(i);
        this.generation++;
      }
    }
    return { opened, resolved };
  }

  /**
   * An incident raised by the engine itself (e.g. "auto-heal gave up on X"): fingerprint
   * `engine:<key>`. Unlike probe findings it is not resolved by a later probe result, only by
   * `resolve()`. Raising it again counts it again and reopens it if it was resolved.
   */
  raise(f: Finding, now: number): Incident {
    return this.upsertFinding(`engine:${f.key}`, { kind: 'engine', key: f.key }, f, now).incident;
  }

  /** Creates or refreshes the incident of a finding; `opened` when it is new or came back. */
  private upsertFinding(fingerprint: string, origin: IncidentOrigin, f: Finding, now: number): { incident: Incident; opened: boolean } {
    const id = incidentId(fingerprint);
    const existing = this.byId.get(id);
    if (existing) {
      existing.count++;
      existing.lastSeen = now;
      Object.assign(existing, { severity: f.severity, title: f.title, detail: f.detail, hint: f.hint, category: f.category, fix: f.fix ?? null });
      if (origin.kind === 'probe' && existing.origin.kind === 'probe' && origin.key !== existing.origin.key) {
        // A folded finding in other words (PostgreSQL shutting down, now refusing connections): the
        // incident says what holds now, and its part is judged again.
        existing.origin = origin;
        this.classes.delete(id);
        this.generation++;
      }
      const reopened = existing.status === 'resolved';
      if (reopened) {
        existing.status = 'open';
        existing.resolvedAt = null;
        this.markOpened(id);
        this.generation++;
      }
      this.wake(existing, now);
      return { incident: existing, opened: reopened };
    }
    const incident: Incident = {
      id,
      fingerprint,
      origin,
      title: f.title,
      severity: f.severity,
      category: f.category,
      hint: f.hint,
      status: 'open',
      count: 1,
      firstSeen: now,
      lastSeen: now,
      sample: null,
      detail: f.detail,
      fix: f.fix ?? null,
      resolvedAt: null,
      snoozedUntil: null,
      rootId: null,
    };
    this.byId.set(id, incident);
    this.markOpened(id);
    this.generation++;
    return { incident, opened: true };
  }

  /**
   * Links every active incident to its root cause (Incident.rootId) from the deployment's dependency
   * model. Returns the incidents whose link changed.
   */
  correlate(now: number, deployment: Deployment = NO_DEPLOYMENT, settleMs = 60_000): Incident[] {
    this.correlatedAt = this.generation;
    const links = correlate([...this.byId.values()], { now, deployment, settleMs, classify: (i) => this.classOf(i) });
    const changed: Incident[] = [];
    for (const [id, rootId] of links) {
      const i = this.byId.get(id)!;
      if (i.rootId !== rootId) {
        i.rootId = rootId;
        changed.push(i);
      }
    }
    return changed;
  }

  /** The part of the deployment an incident is about (cached: origin and sample never change). */
  classOf(i: Incident): Classification | null {
    let c = this.classes.get(i.id);
    if (c === undefined) this.classes.set(i.id, (c = classify(i)));
    return c;
  }

  /** correlate() when an incident appeared or changed status since the last call (cheap per log match). */
  correlateIfChanged(now: number, deployment: Deployment = NO_DEPLOYMENT, settleMs = 60_000): Incident[] {
    return this.generation === this.correlatedAt ? [] : this.correlate(now, deployment, settleMs);
  }

  /** Active incidents linked to `rootId`. */
  symptomsOf(rootId: string): Incident[] {
    return [...this.byId.values()].filter((i) => i.rootId === rootId && isActive(i));
  }

  /** Hides an incident until `until` (epoch ms); it stays counted. */
  snooze(id: string, until: number): Incident | null {
    const i = this.byId.get(id);
    if (!i || i.status === 'resolved') return i ?? null;
    i.status = 'snoozed';
    i.snoozedUntil = until;
    this.generation++;
    return i;
  }

  resolve(id: string, now: number): Incident | null {
    const i = this.byId.get(id);
    if (!i) return null;
    i.status = 'resolved';
    i.resolvedAt = now;
    i.snoozedUntil = null;
    this.generation++;
    return i;
  }

  /** Marks an incident as being fixed (or back to open when the attempt ended without resolving it). */
  setFixing(id: string, fixing: boolean): Incident | null {
    const i = this.byId.get(id);
    if (!i || i.status === 'resolved') return i ?? null;
    i.status = fixing ? 'fixing' : 'open';
    return i;
  }

  get(id: string): Incident | undefined {
    return this.byId.get(id);
  }

  /** The incident a probe's finding landed in. */
  forFinding(probe: ProbeName, key: string): Incident | undefined {
    return this.byId.get(incidentId(findingFingerprint(probe, key)));
  }

  /** By id, then fingerprint, then pattern id (the most relevant incident of that pattern). */
  find(ref: string): Incident | undefined {
    const direct = this.byId.get(ref);
    if (direct) return direct;
    const all = this.list();
    return (
      all.find((i) => i.fingerprint === ref) ??
      all.find((i) => i.origin.kind === 'unclassified' && i.origin.signature === ref) ??
      all.find((i) => i.origin.kind === 'pattern' && i.origin.patternId === ref)
    );
  }

  /** Active incidents first, then by severity (critical first), then most recent first. */
  list(now?: number): Incident[] {
    if (now !== undefined) for (const i of this.byId.values()) this.wake(i, now);
    return [...this.byId.values()].sort(
      (a, b) =>
        Number(isActive(b)) - Number(isActive(a)) ||
        SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
        b.lastSeen - a.lastSeen ||
        a.id.localeCompare(b.id),
    );
  }

  get size(): number {
    return this.byId.size;
  }

  toJSON(): BookJSON {
    return { version: 1, incidents: this.list() };
  }

  static fromJSON(data: unknown): IncidentBook {
    const book = new IncidentBook();
    const d = data as Partial<BookJSON> | null;
    if (!d || d.version !== 1 || !Array.isArray(d.incidents)) {
      throw new Error('incident book: expected {"version": 1, "incidents": [...]}');
    }
    for (const i of d.incidents) {
      if (!i || typeof i.id !== 'string' || typeof i.fingerprint !== 'string' || !STATUSES.has(i.status)) {
        throw new Error('incident book: malformed incident entry');
      }
      book.byId.set(i.id, { ...i, rootId: typeof i.rootId === 'string' ? i.rootId : null });
    }
    return book;
  }

  /** A snoozed incident whose time is up becomes open again. */
  private wake(i: Incident, now: number): void {
    if (i.status === 'snoozed' && i.snoozedUntil !== null && now >= i.snoozedUntil) {
      i.status = 'open';
      i.snoozedUntil = null;
      this.generation++;
    }
  }
}

const STATUSES = new Set<IncidentStatus>(['open', 'snoozed', 'fixing', 'resolved']);

/** Whether an incident stands for itself: active and not the symptom of another incident. */
export function isAlarm(i: Incident): boolean {
  return isActive(i) && i.rootId === null;
}

/** The worst severity among active root incidents (a symptom counts through its root), or null. */
export function worstSeverity(incidents: Incident[]): Severity | null {
  let worst: Severity | null = null;
  for (const i of incidents) {
    if (!isAlarm(i)) continue;
    if (worst === null || SEVERITY_RANK[i.severity] > SEVERITY_RANK[worst]) worst = i.severity;
  }
  return worst;
}
