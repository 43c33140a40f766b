// One incident in full: the whole sample record, the matched pattern and captures, the hint, the
// proposed fix and the history of fix attempts on it.
import { Box, Text } from 'ink';
import { memo, type MutableRefObject } from 'react';
import type { AttemptOutcome, AttemptSummary, Incident } from '../engine/core/types.js';
import { useEngine } from './context.js';
import { incidentRate } from '../engine/incidents/incidents.js';
import { formatDuration } from './format.js';
import { keysOf } from './keymap.js';
import { sanitizeText } from './sanitize.js';
import { ScrollText, type StyledLine } from './scroll-text.js';
import { symptomsOf } from './view-models.js';
import { SEVERITY_COLOR, useTheme, type BasicColor } from './theme.js';

export const OUTCOME_COLOR: Record<AttemptOutcome, BasicColor> = {
  planned: 'gray',
  running: 'cyan',
  verified: 'green',
  failed: 'red',
  rolled_back: 'yellow',
  refused: 'yellow',
};

/** Occurrences per minute, in words. */
function formatRate(perMinute: number): string {
  return `${perMinute >= 10 ? Math.round(perMinute) : perMinute.toFixed(1)}/min`;
}

const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/** Lines of text, each sanitised; multi-line values are split first so no newline reaches Ink. */
function split(text: string, prefix = ''): string[] {
  return text.split(/\r?\n/).map((l) => prefix + sanitizeText(l));
}

export function attemptLine(a: AttemptSummary): StyledLine {
  const when = iso(a.startedAt);
  return {
    text: `${when}  ${a.outcome.padEnd(11)} ${a.fixId} by ${sanitizeText(a.who)}${a.message ? ` — ${sanitizeText(a.message)}` : ''}`,
    color: OUTCOME_COLOR[a.outcome],
  };
}

function detailLines(inc: Incident, attempts: AttemptSummary[], now: number, incidents: Record<string, Incident> = {}): StyledLine[] {
  const lines: StyledLine[] = [];
  const push = (text: string, style: Omit<StyledLine, 'text'> = {}) => lines.push({ text, ...style });
  push(`${inc.severity.toUpperCase()} · ${inc.category} · ${inc.status} · ×${inc.count}`, {
    color: SEVERITY_COLOR[inc.severity],
    bold: true,
  });
  push(`id ${inc.id} · fingerprint ${sanitizeText(inc.fingerprint)}`, { dim: true });
  push(
    `first seen ${iso(inc.firstSeen)} (${formatDuration((now - inc.firstSeen) / 1000)} ago) · last seen ${iso(inc.lastSeen)}`,
    { dim: true },
  );
  if (inc.snoozedUntil) push(`snoozed until ${iso(inc.snoozedUntil)}`, { color: 'yellow' });
  const root = inc.rootId !== null ? incidents[inc.rootId] : undefined;
  if (root) push(`Symptom of ${root.id}: ${sanitizeText(root.title)}`, { color: 'yellow' });
  const symptoms = symptomsOf(incidents, inc.id);
  if (symptoms.length > 0) {
    push('');
    push(`Symptoms (${symptoms.length}): same cause, healed with this incident`, { bold: true });
    for (const sym of symptoms) {
      const origin = sym.origin.kind === 'pattern' ? `log ${sym.origin.patternId}` : sym.origin.kind === 'probe' ? `probe ${sym.origin.probe}` : sym.origin.kind === 'unclassified' ? 'log, no pattern' : 'odoo-heal';
      push(`  ${sym.severity.toUpperCase().slice(0, 4)} ${sanitizeText(sym.title)} · ${origin} · ×${sym.count}${sym.status === 'resolved' ? ' · resolved' : ''}`, {
        color: SEVERITY_COLOR[sym.severity],
      });
      const first = sym.detail.split(/\r?\n/, 1)[0] ?? '';
      if (first) push(`       ${sanitizeText(first.length > 200 ? `${first.slice(0, 199)}…` : first)}`, { dim: true });
    }
  }
  push('');
  if (inc.origin.kind === 'pattern') {
    push(`Pattern ${sanitizeText(inc.origin.patternId)}`, { bold: true });
    for (const [k, v] of Object.entries(inc.origin.captures)) push(`  ${sanitizeText(k)} = ${sanitizeText(v)}`);
  } else if (inc.origin.kind === 'probe') {
    push(`Probe ${inc.origin.probe} · ${sanitizeText(inc.origin.key)}`, { bold: true });
  } else if (inc.origin.kind === 'unclassified') {
    const o = inc.origin;
    push(`Unclassified (no pattern) · ${formatRate(incidentRate(inc))}`, { bold: true });
    if (o.addon) push(`  addon = ${sanitizeText(o.addon)}${o.frame ? ` · ${sanitizeText(o.frame)}` : ''}`);
    if (o.request) push(`  request = ${sanitizeText(o.request)}`);
    push(`  signature = ${sanitizeText(o.signature)}`, { dim: true });
    push(`  press ${keysOf('suggest')} to draft a pattern that names it (shown first; written only if you confirm)`, { color: 'cyan' });
  } else {
    push(`Raised by odoo-heal · ${sanitizeText(inc.origin.key)}`, { bold: true });
  }
  if (inc.detail) for (const l of split(inc.detail, '  ')) push(l);
  push('');
  push('Hint', { bold: true });
  for (const l of split(inc.hint || '(none)', '  ')) push(l, { color: 'cyan' });
  push('');
  if (inc.fix) {
    const params = Object.entries(inc.fix.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    push(`Proposed fix: ${inc.fix.id}${params ? ` (${sanitizeText(params)})` : ''}${inc.fix.unattended ? ' · pattern allows unattended' : ''}`, {
      bold: true,
      color: 'green',
    });
    push(`  press ${keysOf('plan')} for the plan`, { dim: true });
  } else {
    push('No automatic fix for this incident', { dim: true });
  }
  push('');
  push(`Attempts (${attempts.length})`, { bold: true });
  if (attempts.length === 0) push('  none', { dim: true });
  for (const a of attempts) {
    const l = attemptLine(a);
    lines.push({ ...l, text: `  ${l.text}` });
  }
  if (inc.sample) {
    push('');
    push(`Record (${sanitizeText(inc.sample.source)}:${inc.sample.line})`, { bold: true });
    for (const l of inc.sample.lines) push(`  ${sanitizeText(l)}`);
  }
  return lines;
}

export const IncidentDetail = memo(function IncidentDetail({ incidentId, width, height, scroll, maxScroll }: {
  incidentId: string;
  width: number;
  height: number;
  scroll: number;
  maxScroll: MutableRefObject<number>;
}) {
  const theme = useTheme();
  const incident = useEngine((s) => s.incidents[incidentId]);
  const allAttempts = useEngine((s) => s.attempts);
  const incidents = useEngine((s) => s.incidents);
  if (!incident) {
    return (
      <Box height={height} width={width}>
        <Text dimColor>This incident is gone (resolved and pruned). Esc returns to the queue.</Text>
      </Box>
    );
  }
  const attempts = allAttempts.filter((a) => a.incidentId === incidentId);
  const lines = detailLines(incident, attempts, Date.now(), incidents);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text wrap="truncate-end" bold inverse color={theme.color('cyan')}>
        {` Incident: ${sanitizeText(incident.title)} `}
      </Text>
      <ScrollText lines={lines} width={width} height={height - 2} scroll={scroll} maxScroll={maxScroll} />
      <Text wrap="truncate-end" dimColor>
        {`${keysOf('up')} ${keysOf('down')} scroll · ${keysOf('plan')} fix plan${incident.origin.kind === 'unclassified' ? ` · ${keysOf('suggest')} draft pattern` : ''} · ${keysOf('snooze')} snooze · ${keysOf('dismiss')} dismiss · ${keysOf('back')}/${keysOf('open')} back`}
      </Text>
    </Box>
  );
});
