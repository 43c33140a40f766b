// PostgreSQL as Odoo sees it: up/down, latency (with history), connection slots as a bar,
// idle-in-transaction sessions, long queries, waiting locks, size.
import { Text } from 'ink';
import { memo } from 'react';
import { rangeOf, sparkline } from './charts.js';
import { useEngine } from './context.js';
import { cronVerdict, type OdooDbData } from '../engine/probes/odoo-db/probe.js';
import type { ProbeResult } from '../engine/core/types.js';
import { bar, formatBytes, formatMs } from './format.js';
import { Line, PaneFrame } from './pane-frame.js';
import { sanitizeText } from './sanitize.js';
import { STATUS_COLOR, fillColor, useTheme } from './theme.js';
import { databaseView } from './view-models.js';

export const DatabasePane = memo(function DatabasePane({ width, height }: { width: number; height: number }) {
  const theme = useTheme();
  const result = useEngine((s) => s.probes.database);
  const latencyHistory = useEngine((s) => s.history.dbLatencyMs);
  // The scheduled actions' line: overdue / failing / running, from the odoo_db probe (once a minute).
  const cron = useEngine((s) => s.probes.odoo_db);
  const view = databaseView(result);

  if (!result || !view) {
    return (
      <PaneFrame title="Database" width={width} height={height}>
        <Line dim>waiting for the first probe…</Line>
      </PaneFrame>
    );
  }
  const statusColor = theme.color(STATUS_COLOR[result.status]);
  const upText = view.up ? 'UP' : 'DOWN';
  const extra = (
    <Text bold color={view.up ? statusColor : theme.color('red')}>
      ● {upText}
      {view.up && view.latencyMs !== null ? ` ${formatMs(view.latencyMs)}` : ''}
    </Text>
  );
  if (!view.up) {
    return (
      <PaneFrame title="Database" extra={extra} width={width} height={height} titleColor="red">
        <Text wrap="wrap" color={theme.color('red')}>
          {sanitizeText(result.summary)}
          {view.error && !result.summary.includes(view.error) ? ` — ${view.error}` : ''}
        </Text>
      </PaneFrame>
    );
  }
  const used = view.connectionsUsed;
  const max = view.connectionsMax;
  const ratio = view.connectionsRatio;
  const slots = `${used ?? '?'}/${max ?? '?'}`;
  const barWidth = Math.max(3, width - 'conn '.length - slots.length - 1);
  const latencyRange = rangeOf(latencyHistory, 10);
  const num = (v: number | null) => (v === null ? '?' : String(v));
  return (
    <PaneFrame title="Database" extra={extra} width={width} height={height} titleColor={STATUS_COLOR[result.status]}>
      <Line>
        conn <Text color={theme.color(fillColor(ratio))}>{bar(ratio, barWidth)}</Text> {slots}
      </Line>
      <Line>
        idle-tx{' '}
        <Text color={view.idleInTransaction ? theme.color('yellow') : undefined}>{num(view.idleInTransaction)}</Text>
        {'  '}long <Text color={view.longQueries ? theme.color('yellow') : undefined}>{num(view.longQueries)}</Text>
      </Line>
      <Line>
        locks <Text color={view.waitingLocks ? theme.color('yellow') : undefined}>{num(view.waitingLocks)}</Text>
        {'  '}size {formatBytes(view.sizeBytes)}
      </Line>
      <Line>
        lat{' '}
        <Text color={theme.color('cyan')}>{sparkline(latencyHistory, Math.max(0, width - 12), latencyRange)}</Text>{' '}
        {formatMs(latencyRange.max)}
      </Line>
      {cronLine(cron, theme)}
      {result.status !== 'ok' ? (
        <Line color={statusColor}>{sanitizeText(result.summary)}</Line>
      ) : null}
    </PaneFrame>
  );
});

/** `cron late 0 fail 0 run 1`: overdue, failing and running scheduled actions over every database. */
function cronLine(r: ProbeResult | undefined, theme: ReturnType<typeof useTheme>) {
  const data = r?.data as OdooDbData | null | undefined;
  if (!r || !data || !Array.isArray(data.crons)) return null;
  const v = cronVerdict(data.crons);
  const n = (count: number, color: 'red' | 'yellow') => <Text color={count ? theme.color(color) : undefined}>{count}</Text>;
  return (
    <Line>
      cron late {n(v.overdue.length, 'red')} fail {n(v.failing.length, 'yellow')} run {v.running.length}
    </Line>
  );
}
