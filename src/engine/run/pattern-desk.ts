// The console's side of `patterns suggest`: drafts a pattern for an unclassified incident from the
// records the engine kept (the same drafting and proof as the CLI, suggest-run.ts), shows it in
// state.suggestion, and writes it into the local pattern directory only when the user confirms,
// then loads it so the error is named by it from then on.
import { join } from 'node:path';
import { errorMessage } from '../core/errors.js';
import type { Incident, LogRecord, Pattern } from '../core/types.js';
import type { IncidentBook } from '../incidents/incidents.js';
import type { EngineStore } from '../state/store.js';
import { RecentErrors } from '../unclassified/recent-errors.js';
import { patternFileText } from '../unclassified/suggest.js';
import { defaultBaselines, proofLine, suggestFor, writeLocalPattern, type Suggestion } from '../unclassified/suggest-run.js';
import type { EngineEvent } from './fix-desk-host.js';

export interface PatternDeskHost {
  readonly store: EngineStore;
  readonly book: IncidentBook;
  notice(text: string, severity?: 'info' | 'warning' | 'critical'): void;
  /** Loads the pattern layers again; throws (keeping the old set) on a bad file. */
  reloadPatterns(): number;
  /** The id of the loaded pattern that names `record`, or null. */
  patternFor(record: LogRecord): string | null;
  /** Resolves an incident (the engine's dismiss: it re-links roots and symptoms too). */
  dismiss(incidentId: string): void;
  emitEvent(event: EngineEvent): void;
}

/** Notices are one line: an fs error or a refusal may carry newlines of its own. */
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ');

/** Why an incident has no draft to offer: it is explained already, or not a log error. */
function notSuggestable(i: Incident): string | null {
  switch (i.origin.kind) {
    case 'unclassified':
      return null;
    case 'pattern':
      return `“${i.title}” is already named by pattern ${i.origin.patternId}: a pattern is drafted only for an unclassified incident`;
    case 'probe':
      return `“${i.title}” comes from the ${i.origin.probe} probe, not from a log record: there is no pattern to draft`;
    default:
      return `“${i.title}” is raised by odoo-heal itself: there is no pattern to draft`;
  }
}

export class PatternDesk {
  /** What the engine read of its logs that a draft is proved against. */
  readonly recent = new RecentErrors();
  /** The pattern behind state.suggestion (the store holds its text, this the object written). */
  private draft: { incidentId: string; pattern: Pattern } | null = null;

  /**
   * `localDir`: where confirmed drafts go — the last of the engine's pattern layers, so a reload
   * loads them; null when there is none (config `patterns.localDir: null`, or `--patterns`).
   */
  constructor(
    private readonly host: PatternDeskHost,
    private readonly localDir: string | null,
    private readonly baselines: () => string[] = defaultBaselines,
  ) {}

  async suggest(incidentId: string): Promise<void> {
    const incident = this.host.book.get(incidentId);
    if (!incident) {
      this.host.notice(`no incident ${incidentId}`, 'warning');
      return;
    }
    // An incident from before a pattern was loaded for it (this desk's own, or a SIGHUP's).
    const named = incident.origin.kind === 'unclassified' && incident.sample ? this.host.patternFor(incident.sample) : null;
    const not = named ? `“${incident.title}” is named by pattern ${named} now: its next records go to that pattern's incident` : notSuggestable(incident);
    if (not) {
      this.host.notice(not, 'warning');
      return;
    }
    let s: Suggestion;
    try {
      s = suggestFor(incident, this.recent.all(), this.baselines());
    } catch (err) {
      this.host.notice(oneLine(`no pattern drafted for ${incidentId}: ${errorMessage(err)}`), 'warning');
      return;
    }
    const proof = [proofLine(s.proof, 'the followed logs')];
    if (s.proof.baselines.length === 0) proof.push('no baseline log was checked (none ships with this install)');
    for (const why of s.why) proof.push(`NOT proved: ${why}`);
    const refusal = !s.ok
      ? `the draft is not proved (${s.why.join('; ')})`
      : this.localDir === null
        ? 'there is no local pattern directory (config patterns.localDir is null, or --patterns names the only one)'
        : null;
    this.draft = { incidentId, pattern: s.pattern };
    this.host.store.setState({
      suggestion: {
        incidentId,
        patternId: s.pattern.id,
        fileText: patternFileText(s.pattern),
        proof,
        target: this.localDir === null ? null : join(this.localDir, `${s.pattern.id}.json`),
        refusal,
      },
    });
  }

  /**
   * Writes the shown draft into the local directory the way `patterns suggest --write` does (a new
   * file, atomically and durably, never over an existing one, so there is nothing to back up), loads the pattern layers again and resolves the unclassified incident:
   * its next records open an incident of the new pattern.
   */
  async confirm(): Promise<void> {
    const view = this.host.store.getState().suggestion;
    const draft = this.draft;
    if (!view || !draft || draft.incidentId !== view.incidentId) return;
    if (view.refusal !== null || this.localDir === null) {
      this.host.notice(oneLine(`pattern not written: ${view.refusal ?? 'no local pattern directory'}`), 'warning');
      return;
    }
    let path: string;
    try {
      path = await writeLocalPattern(this.localDir, draft.pattern);
    } catch (err) {
      this.host.notice(oneLine(`pattern ${draft.pattern.id} not written to ${this.localDir}: ${errorMessage(err)}`), 'critical');
      return;
    }
    this.draft = null;
    this.host.store.setState({ suggestion: null });
    this.host.emitEvent({ level: 'info', event: 'pattern.written', incident: view.incidentId, pattern: draft.pattern.id, path });
    let loaded: number;
    try {
      loaded = this.host.reloadPatterns();
    } catch (err) {
      // Our file was proved loadable on its own; another file of the layers is bad.
      this.host.notice(oneLine(`pattern ${draft.pattern.id} written to ${path}, but the patterns were not reloaded: ${errorMessage(err)}`), 'critical');
      return;
    }
    const incident = this.host.book.get(view.incidentId);
    if (incident && incident.status !== 'resolved') this.host.dismiss(incident.id);
    this.host.notice(
      oneLine(
        `pattern written and loaded: ${path} (${loaded} patterns); ${view.incidentId} resolved, its next records open an incident of the pattern`,
      ),
      'info',
    );
  }

  dismiss(): void {
    this.draft = null;
    this.host.store.setState({ suggestion: null });
  }
}
