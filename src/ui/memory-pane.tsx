// Memory: RAM and swap bars, Odoo's total RSS against its limits, and the memory history as a
// sparkline in the title, plus an asciichart line chart when the layout allows charts (a tall
// terminal) and the pane has rows to spare.
import { Text } from 'ink';
import { memo } from 'react';
import { lineChart, sparkline } from './charts.js';
import { useEngine } from './context.js';
import { bar, formatBytes, formatPercent } from './format.js';
import { Line, PaneFrame } from './pane-frame.js';
import { sanitizeText } from './sanitize.js';
import { STATUS_COLOR, fillColor, useTheme } from './theme.js';
import { memoryView } from './view-models.js';

const LABEL = 5; // "ram  ", "swap ", "odoo "

export const MemoryPane = memo(function MemoryPane({ width, height, chart: chartAllowed = true }: { width: number; height: number; chart?: boolean }) {
  const theme = useTheme();
  const result = useEngine((s) => s.probes.memory);
  const history = useEngine((s) => s.history.memUsedPercent);
  const view = memoryView(result);
  const lastPercent = history.length > 0 ? (history[history.length - 1] ?? null) : null;
  const percent = view?.usedRatio != null ? view.usedRatio * 100 : lastPercent;
  const title = 'Memory';
  const percentText = formatPercent(percent);
  const sparkWidth = Math.max(0, Math.min(24, width - title.length - percentText.length - 4));
  const extra = (
    <Text>
      {percentText} <Text color={theme.color('magenta')}>{sparkline(history, sparkWidth, { min: 0, max: 100 })}</Text>
    </Text>
  );
  const titleColor = result ? STATUS_COLOR[result.status] : 'blue';
  if (!result || !view) {
    return (
      <PaneFrame title={title} extra={extra} width={width} height={height} titleColor={titleColor}>
        <Text wrap="wrap" dimColor>
          {result ? sanitizeText(result.summary) : 'waiting for the first probe…'}
        </Text>
      </PaneFrame>
    );
  }
  const rows: { label: string; ratio: number | null; value: string }[] = [
    { label: 'ram', ratio: view.usedRatio, value: `${formatBytes(view.availableBytes)} free` },
  ];
  if (view.swapTotalBytes) {
    rows.push({
      label: 'swap',
      ratio: view.swapUsedBytes !== null ? view.swapUsedBytes / view.swapTotalBytes : null,
      value: formatBytes(view.swapUsedBytes),
    });
  }
  if (view.odooRssBytes !== null) {
    rows.push({
      label: 'odoo',
      ratio: view.odooRssLimitBytes ? view.odooRssBytes / view.odooRssLimitBytes : null,
      value: formatBytes(view.odooRssBytes),
    });
  }
  const chartHeight = height - 1 - rows.length;
  const chart =
    chartAllowed && chartHeight >= 4
      ? lineChart(history, { width, height: chartHeight, range: { min: 0, max: 100 }, format: (v) => `${v.toFixed(0)}%` })
      : [];
  return (
    <PaneFrame title={title} extra={extra} width={width} height={height} titleColor={titleColor}>
      {rows.map((r) => {
        const barWidth = Math.max(3, width - LABEL - r.value.length - 1);
        return (
          <Line key={r.label}>
            {r.label.padEnd(LABEL)}
            <Text color={theme.color(fillColor(r.ratio))}>{bar(r.ratio, barWidth)}</Text> {r.value}
          </Line>
        );
      })}
      {chart.map((line, i) => (
        <Line key={i} color={theme.color('magenta')}>
          {line}
        </Line>
      ))}
    </PaneFrame>
  );
});
