// What the engine tells the alerting side (outputs/alerts implements it). Delivery runs off the
// engine's path: notify() must return at once (queue), so a dead or slow endpoint never delays
// detection or healing.
import type { AttemptSummary, Incident } from '../core/types.js';

export type AlertKind =
  /** A new incident (or one that came back). */
  | 'opened'
  /** The incident cleared. */
  | 'resolved'
  /** Policy does not allow an unattended fix: a human must act; the plan is attached. */
  | 'needs-human'
  /** An unattended fix ran; the attempt carries its outcome. */
  | 'fix-result'
  /** The circuit breaker opened: auto-heal stopped acting on this incident. */
  | 'gave-up';

export interface AlertEvent {
  kind: AlertKind;
  incident: Incident;
  at: number;
  plan?: { summary: string; preview: string } | null;
  attempt?: AttemptSummary | null;
  /**
   * Incidents caused by this one (their rootId), when it is a root: one message speaks for all of
   * them, and what the channel was told about one of them counts as told about the root.
   */
  symptoms?: Incident[];
}

export interface AlertSink {
  notify(event: AlertEvent): void;
  /** Waits (bounded) for queued deliveries, e.g. on SIGTERM. */
  close(timeoutMs?: number): Promise<void>;
}

export const NO_ALERTS: AlertSink = { notify() {}, async close() {} };
