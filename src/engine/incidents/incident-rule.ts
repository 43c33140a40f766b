// Which rule of odoo-heal raised an incident, as a short, bounded label (a pattern id, a probe,
// the engine's own): what /metrics and Alertmanager group incidents by. Never a signature, a path
// or a capture: those come from log text and would make label values unbounded.
import type { Incident } from '../core/types.js';

export const GAVE_UP_PREFIX = 'escalation:gave-up:';

export function ruleOf(i: Incident): string {
  const o = i.origin;
  switch (o.kind) {
    case 'pattern':
      return o.patternId;
    case 'probe':
      return `probe:${o.probe}`;
    case 'engine':
      return o.key.startsWith(GAVE_UP_PREFIX) ? 'escalation:gave-up' : 'engine';
    default:
      return (o as { kind: string }).kind;
  }
}

/** An open circuit breaker: auto-heal stopped acting on something (the incident it raised is open). */
export function isOpenBreaker(i: Incident): boolean {
  return i.origin.kind === 'engine' && i.origin.key.startsWith(GAVE_UP_PREFIX) && i.status !== 'resolved';
}
