// The incident queue: severity, title, count, age, status and proposed fix, most urgent first.
import { Text } from 'ink';
import { memo, useMemo } from 'react';
import type { Incident } from '../engine/core/types.js';
import { useEngine } from './context.js';
import { cell, formatMinutes } from './format.js';
import { useClock } from './hooks.js';
import { Line, PaneFrame } from './pane-frame.js';
import { sanitizeText } from './sanitize.js';
import { SEVERITY_COLOR, useTheme } from './theme.js';
import { sortIncidents, symptomsOf } from './view-models.js';

const SEVERITY_LABEL = { critical: 'CRIT', warning: 'WARN', info: 'INFO' } as const;

export interface IncidentPaneProps {
  width: number;
  height: number;
  focused: boolean;
  selectedId: string | null;
}

function columns(width: number) {
  const fix = width >= 100 ? 24 : 14;
  // sev 4, count 6, age 5, status 8, fix, 5 separating spaces, 2 for the selection marker
  const title = Math.max(10, width - 2 - 4 - 6 - 5 - 8 - fix - 5);
  return { title, fix };
}

export const IncidentPane = memo(function IncidentPane({ width, height, focused, selectedId }: IncidentPaneProps) {
  const theme = useTheme();
  const incidents = useEngine((s) => s.incidents);
  const sorted = useMemo(() => sortIncidents(incidents), [incidents]);
  const open = sorted.filter((i) => i.status === 'open' || i.status === 'fixing').length;
  const snoozed = sorted.filter((i) => i.status === 'snoozed').length;
  const cols = columns(width);
  const room = Math.max(1, height - 2); // title + column header
  const selectedIndex = Math.max(0, sorted.findIndex((i) => i.id === selectedId));
  // Keep the selection in view: scroll so it is the last visible row when it is below the window.
  const start = Math.max(0, Math.min(selectedIndex - room + 1, sorted.length - room));
  const visible = sorted.slice(Math.max(0, start), Math.max(0, start) + room);
  // Ages have minute resolution ("<1m", "12m", "3h00m") and are re-checked every 5 s; the pane
  // redraws only when a shown age changes, i.e. at most once a minute.
  const now = useClock((t) => visible.map((i) => ageText(i, t)).join(' '), 5000);
  const extra = (
    <Text>
      <Text color={open ? theme.color('red') : theme.color('green')}>{open} open</Text>
      {snoozed ? ` · ${snoozed} snoozed` : ''}
      {sorted.length > room ? ` · ${selectedIndex + 1}/${sorted.length}` : ''}
    </Text>
  );
  const header = `  ${cell('sev', 4)} ${cell('title', cols.title)} ${cell('count', 6, 'right')} ${cell('age', 5, 'right')} ${cell('status', 8)} fix`;
  return (
    <PaneFrame title="Incidents" extra={extra} width={width} height={height} focused={focused}>
      {sorted.length === 0 ? (
        <Line dim>no incidents — Odoo looks healthy</Line>
      ) : (
        <>
          <Line dim>{header}</Line>
          {visible.map((inc) => (
            <IncidentRow
              key={inc.id}
              incident={inc}
              symptoms={symptomCount(incidents, inc.id)}
              selected={inc.id === (selectedId ?? sorted[0]?.id)}
              focused={focused}
              now={now}
              titleWidth={cols.title}
              fixWidth={cols.fix}
            />
          ))}
        </>
      )}
    </PaneFrame>
  );
});

function ageText(incident: Incident, now: number): string {
  return formatMinutes((now - incident.firstSeen) / 1000);
}

/** Active symptoms of a root (all of them once the root itself is resolved). */
function symptomCount(incidents: Record<string, Incident>, rootId: string): number {
  const linked = symptomsOf(incidents, rootId);
  const live = linked.filter((i) => i.status !== 'resolved').length;
  return incidents[rootId]?.status === 'resolved' ? linked.length : live;
}

function IncidentRow({ incident, symptoms, selected, focused, now, titleWidth, fixWidth }: {
  incident: Incident;
  symptoms: number;
  selected: boolean;
  focused: boolean;
  now: number;
  titleWidth: number;
  fixWidth: number;
}) {
  const theme = useTheme();
  const dim = incident.status === 'resolved' || incident.status === 'snoozed';
  const statusColor = incident.status === 'fixing' ? theme.color('cyan') : undefined;
  return (
    <Text wrap="truncate-end" inverse={selected && focused} dimColor={dim && !(selected && focused)}>
      {selected ? '› ' : '  '}
      <Text color={theme.color(SEVERITY_COLOR[incident.severity])} bold={incident.severity === 'critical'}>
        {SEVERITY_LABEL[incident.severity]}
      </Text>{' '}
      {titleCell(sanitizeText(incident.title), symptoms, titleWidth)} {cell(`×${incident.count}`, 6, 'right')}{' '}
      {cell(ageText(incident, now), 5, 'right')}{' '}
      <Text color={statusColor}>{cell(incident.status, 8)}</Text> {incident.fix ? cell(incident.fix.id, fixWidth) : '—'}
    </Text>
  );
}

/** The title, cut so that "+N symptoms" stays readable at the end of the cell. */
function titleCell(title: string, symptoms: number, width: number): string {
  if (symptoms === 0) return cell(title, width);
  const tag = ` +${symptoms} symptom${symptoms === 1 ? '' : 's'}`;
  if (tag.length >= width) return cell(`${title}${tag}`, width);
  return cell(`${cell(title, width - tag.length).trimEnd()}${tag}`, width);
}
