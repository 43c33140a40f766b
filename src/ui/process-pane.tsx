// Odoo's main process and workers: pid, kind, CPU, RSS, age. With many workers it shows a window
// (scrollable when focused) and how many rows are hidden.
import { Text } from 'ink';
import { memo } from 'react';
import { sparkline } from './charts.js';
import { useEngine } from './context.js';
import { cell, formatBytes, formatDuration } from './format.js';
import { Line, PaneFrame } from './pane-frame.js';
import { sanitizeText } from './sanitize.js';
import { STATUS_COLOR, useTheme } from './theme.js';
import { processView, type ProcRow } from './view-models.js';

const COLS = { pid: 7, kind: 6, cpu: 4, rss: 5, age: 5 } as const;

function rowText(r: ProcRow): string {
  const cpu = r.cpuPercent === null ? '?' : `${Math.round(r.cpuPercent)}%`;
  return [
    cell(String(r.pid), COLS.pid - 1),
    cell(r.kind, COLS.kind - 1),
    cell(cpu, COLS.cpu, 'right'),
    cell(formatBytes(r.rssBytes), COLS.rss, 'right'),
    cell(formatDuration(r.ageSeconds), COLS.age, 'right'),
  ].join(' ');
}

const HEADER = [
  cell('pid', COLS.pid - 1),
  cell('kind', COLS.kind - 1),
  cell('cpu', COLS.cpu, 'right'),
  cell('rss', COLS.rss, 'right'),
  cell('age', COLS.age, 'right'),
].join(' ');

export interface ProcessPaneProps {
  width: number;
  height: number;
  focused: boolean;
  /** First row shown (the app scrolls it while the pane is focused). */
  scroll: number;
}

export const ProcessPane = memo(function ProcessPane({ width, height, focused, scroll }: ProcessPaneProps) {
  const theme = useTheme();
  const result = useEngine((s) => s.probes.process);
  const cpuHistory = useEngine((s) => s.history.cpu);
  // Ages come from the probe's own figures; `checkedAt` keeps them stable between probe runs.
  const view = processView(result, result?.checkedAt ?? 0);
  const workers = view ? view.rows.filter((r) => r.kind !== 'main').length : 0;
  const modeText = view?.mode ? `${view.mode} ` : '';
  const countText = view ? `${workers}${view.expectedWorkers !== null ? `/${view.expectedWorkers}` : ''}w` : '';
  const title = 'Process';
  const fixed = `${title} ${modeText}${countText} cpu `.length + 2;
  const spark = sparkline(cpuHistory, Math.min(20, Math.max(0, width - fixed)), { min: 0, max: 100 });
  const extra = (
    <Text>
      {modeText}
      {countText} <Text color={theme.color('green')}>cpu {spark}</Text>
    </Text>
  );
  const bodyRows = height - 1;
  let body;
  if (!result) {
    body = <Line dim>waiting for the first probe…</Line>;
  } else if (!view || view.rows.length === 0) {
    body = (
      <Text wrap="wrap" color={theme.color(STATUS_COLOR[result.status])}>
        {sanitizeText(result.summary)}
      </Text>
    );
  } else {
    const room = bodyRows - 1; // column header
    const overflow = view.rows.length > room;
    const shown = overflow ? room - 1 : room; // last row says how many are hidden
    const start = Math.max(0, Math.min(scroll, view.rows.length - shown));
    const rows = view.rows.slice(start, start + shown);
    const hidden = view.rows.length - rows.length;
    body = (
      <>
        <Line dim>{HEADER}</Line>
        {rows.map((r) => (
          <Line key={r.pid} bold={r.kind === 'main'}>
            {rowText(r)}
          </Line>
        ))}
        {overflow ? (
          <Line dim>{`+${hidden} more${focused ? ' (↑↓)' : ' (tab to scroll)'}`}</Line>
        ) : null}
      </>
    );
  }
  return (
    <PaneFrame
      title={title}
      extra={extra}
      width={width}
      height={height}
      focused={focused}
      titleColor={result ? STATUS_COLOR[result.status] : 'blue'}
    >
      {body}
    </PaneFrame>
  );
});
