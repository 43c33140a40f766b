// Top line: host, Odoo version and mode, uptime, overall status, auto-heal, clock. It owns the
// clock, at minute resolution: ticking re-renders this line once a minute (Ink redraws the whole
// frame on any render, so a seconds clock would cost a full frame every second).
import { Box, Text } from 'ink';
import { memo } from 'react';
import type { ProbeResult } from '../engine/core/types.js';
import { useEngine } from './context.js';
import { clockLocal, formatMinutes } from './format.js';
import { useClock } from './hooks.js';
import { sanitizeText } from './sanitize.js';
import { STATUS_COLOR, useTheme } from './theme.js';
import { overallStatus, processView } from './view-models.js';

/** Odoo's own uptime (its main process), when the process probe knows it. */
function odooUptime(result: ProbeResult | undefined): string | null {
  const main = processView(result, result?.checkedAt ?? 0)?.rows.find((r) => r.role === 'main');
  return main?.ageSeconds != null ? formatMinutes(main.ageSeconds) : null;
}

export const Header = memo(function Header({ width }: { width: number }) {
  const theme = useTheme();
  const hostname = useEngine((s) => s.hostname);
  const version = useEngine((s) => s.odoo.version);
  const mode = useEngine((s) => s.odoo.mode);
  const startedAt = useEngine((s) => s.startedAt);
  const status = useEngine((s) => overallStatus(s));
  const autoHeal = useEngine((s) => s.autoHeal);
  // A string, so a probe round that leaves the shown uptime as it was does not re-render the line.
  const odooUp = useEngine((s) => odooUptime(s.probes.process));
  const watching = (now: number) => `watching ${formatMinutes((now - startedAt) / 1000)}`;
  const shown = (now: number) => `${clockLocal(now)} ${odooUp === null ? watching(now) : ''}`;
  const now = useClock(shown, 1000);
  const clock = clockLocal(now);
  // Odoo's own uptime when the process probe knows it, else how long we have been watching.
  const uptime = odooUp !== null ? `up ${odooUp}` : watching(now);
  const sep = ' · ';
  return (
    <Box width={width} height={1}>
      <Box flexGrow={1} overflowY="hidden">
        <Text wrap="truncate-end">
          {width >= 100 ? <Text bold>odoo-heal{sep}</Text> : null}
          <Text bold>{sanitizeText(hostname)}</Text>
          {sep}Odoo {version ? sanitizeText(version) : '?'} {mode}
          {sep}
          <Text bold color={theme.color(status ? STATUS_COLOR[status] : 'gray')}>
            ● {status ? status.toUpperCase() : 'STARTING'}
          </Text>
          {sep}auto-heal{' '}
          <Text bold color={theme.color(autoHeal ? 'yellow' : 'gray')}>
            {autoHeal ? 'ON' : 'off'}
          </Text>
          {sep}
          {uptime}
        </Text>
      </Box>
      <Text> {clock}</Text>
    </Box>
  );
});
