// Odoo's processes by role (master, http, cron, gevent) against what odoo.conf asks for: pid, CPU,
// RSS, VMS against limit_memory_soft (Odoo's limits are on virtual memory), and at wider sizes
// whether each HTTP worker is busy and for how long. With many workers it shows a window
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
import { LOG_RATE_KEYS, recycleLine } from '../engine/probes/log-rates.js';

/** Column sets by pane width: 30 columns (80x24) show pid, role, CPU, RSS and VMS against
 * limit_memory_soft; wider panes add the HTTP workers' busy time and the age. */
interface Cols {
  pid: number;
  kind: number;
  cpu: number;
  rss: number;
  vms: number;
  state: number;
  age: number;
}

function colsFor(width: number): Cols {
  const wide = { pid: 7, kind: 6, cpu: 4, rss: 5, vms: 5, state: 5, age: 5 };
  // Each column but the first costs its width plus one space.
  const need = (c: Cols) => c.pid + c.kind + c.cpu + c.rss + c.vms + 4 + (c.state ? c.state + 1 : 0) + (c.age ? c.age + 1 : 0);
  if (need(wide) <= width) return wide;
  // 80x24 (30 columns): tighter cells; busy HTTP workers are then coloured, and counted below.
  const tight = { pid: 6, kind: 6, cpu: 4, rss: 4, vms: 4, state: 5, age: 0 };
  return need(tight) <= width ? tight : { ...tight, state: 0 };
}

function vmsText(r: ProcRow): string {
  if (r.vmsOfSoft !== null) return `${Math.round(r.vmsOfSoft * 100)}%`;
  return formatBytes(r.vmsBytes);
}

function stateText(r: ProcRow): string {
  if (r.busy === null) return '';
  return r.busy ? formatDuration(r.busySeconds) : 'idle';
}

function rowText(r: ProcRow, c: Cols): string {
  const cpu = r.cpuPercent === null ? '?' : `${Math.round(r.cpuPercent)}%`;
  const cells = [
    cell(String(r.pid), c.pid - 1),
    cell(r.kind, c.kind),
    cell(cpu, c.cpu, 'right'),
    cell(formatBytes(r.rssBytes), c.rss, 'right'),
    cell(vmsText(r), c.vms, 'right'),
  ];
  if (c.state) cells.push(cell(stateText(r), c.state));
  if (c.age) cells.push(cell(formatDuration(r.ageSeconds), c.age, 'right'));
  return cells.join(' ');
}

function headerText(c: Cols, soft: boolean): string {
  const cells = [
    cell('pid', c.pid - 1),
    cell('role', c.kind),
    cell('cpu', c.cpu, 'right'),
    cell('rss', c.rss, 'right'),
    // With limit_memory_soft set, VMS shows as a share of it (what Odoo recycles workers on).
    cell(soft ? 'vms%' : 'vms', c.vms, 'right'),
  ];
  if (c.state) cells.push(cell('busy', c.state));
  if (c.age) cells.push(cell('age', c.age, 'right'));
  return cells.join(' ');
}

/** `2/2h 1/1c` (+ ` 0/1g` when gevent is missing): running against what odoo.conf asks. */
function roleCounts(view: NonNullable<ReturnType<typeof processView>>): string {
  const r = view.roles;
  if (!r) return '';
  const gevent = r.gevent.have < r.gevent.want ? ` ${r.gevent.have}/${r.gevent.want}g` : '';
  return `${r.http.have}/${r.http.want}h ${r.cron.have}/${r.cron.want}c${gevent}`;
}

function rowColor(r: ProcRow): 'red' | 'yellow' | undefined {
  if (r.vmsOfSoft !== null && r.vmsOfSoft >= 1) return 'red';
  if (r.busy || (r.vmsOfSoft !== null && r.vmsOfSoft >= 0.9)) return 'yellow';
  return undefined;
}

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
  // The header line names the mode too: the title keeps it only when the pane has room.
  const modeText = view?.mode && width >= 40 ? `${view.mode} ` : '';
  const threads = view?.mode === 'threaded' ? view.rows.find((r) => r.role === 'main') : undefined;
  const threadCount = threads ? (result?.data as { main?: { threads?: number } } | null)?.main?.threads : undefined;
  const countText = view ? (view.roles ? roleCounts(view) : threadCount !== undefined ? `${threadCount} threads` : '') : '';
  const cols = colsFor(width);
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
    const soft = view.limits.soft;
    const limitLine =
      soft !== null || view.limits.hard !== null || view.httpBusy
        ? [
            view.httpBusy ? `${view.httpBusy.busy}/${view.httpBusy.workers} busy` : '',
            [soft !== null ? `soft ${formatBytes(soft)}` : '', view.limits.hard !== null ? `hard ${formatBytes(view.limits.hard)}` : '']
              .filter((t) => t !== '')
              .join(' '),
          ]
            .filter((t) => t !== '')
            .join(' · ')
        : '';
    // Recycles per hour and registry reloads, from the log (30 columns at 80x24: the short form).
    const rates = view.logRates ? recycleLine(view.logRates, width < 40) : '';
    const ratesAlarm = result.findings.some((f) => LOG_RATE_KEYS.has(f.key));
    const oldRequest = result.findings.some((f) => f.key === 'request-thread-old');
    // The notes (limits, then rates) only while every process row still fits.
    // Threaded: how many requests run and the oldest's age (`~`: websockets may be among them).
    const req = view.requests;
    const requestsLine = req ? `req ${req.exact ? '' : '~'}${req.count}${req.oldestSeconds !== null ? ` oldest ${formatDuration(req.oldestSeconds)}` : ''}` : '';
    const alarmed = (n: string) => (n === rates && ratesAlarm) || (n === requestsLine && oldRequest);
    const notes = [requestsLine, limitLine, rates].filter((t) => t !== '').slice(0, Math.max(0, bodyRows - 1 - view.rows.length));
    const room = bodyRows - 1 - notes.length; // column header (+ notes)
    const overflow = view.rows.length > room;
    const shown = overflow ? room - 1 : room; // last row says how many are hidden
    const start = Math.max(0, Math.min(scroll, view.rows.length - shown));
    const rows = view.rows.slice(start, start + shown);
    const hidden = view.rows.length - rows.length;
    body = (
      <>
        <Line dim>{headerText(cols, soft !== null)}</Line>
        {rows.map((r) => {
          const color = rowColor(r);
          return (
            <Line key={r.pid} bold={r.role === 'main'} color={color ? theme.color(color) : undefined}>
              {rowText(r, cols)}
            </Line>
          );
        })}
        {overflow ? (
          <Line dim>{`+${hidden} more${focused ? ' (↑↓)' : ' (tab to scroll)'}`}</Line>
        ) : null}
        {notes.map((n) => (
          <Line key={n} dim={!alarmed(n)} color={alarmed(n) ? theme.color('yellow') : undefined}>
            {n}
          </Line>
        ))}
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
