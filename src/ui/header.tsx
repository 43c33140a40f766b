// Top line: host, Odoo version and mode, uptime, overall status, auto-heal, clock. It owns the
// one-second clock so that ticking re-renders this line only.
import { Box, Text } from 'ink';
import { memo } from 'react';
import { useEngine } from './context.js';
import { clockLocal, formatDuration } from './format.js';
import { useNow } from './hooks.js';
import { sanitizeText } from './sanitize.js';
import { STATUS_COLOR, useTheme } from './theme.js';
import { overallStatus, processView } from './view-models.js';

export const Header = memo(function Header({ width }: { width: number }) {
  const theme = useTheme();
  const now = useNow(1000);
  const hostname = useEngine((s) => s.hostname);
  const version = useEngine((s) => s.odoo.version);
  const mode = useEngine((s) => s.odoo.mode);
  const startedAt = useEngine((s) => s.startedAt);
  const status = useEngine((s) => overallStatus(s));
  const autoHeal = useEngine((s) => s.autoHeal);
  const processResult = useEngine((s) => s.probes.process);
  const clock = clockLocal(now);
  // Odoo's own uptime (its main process) when the process probe knows it, else how long we watch.
  const main = processView(processResult, now)?.rows.find((r) => r.kind === 'main');
  const uptime =
    main?.ageSeconds != null ? `up ${formatDuration(main.ageSeconds)}` : `watching ${formatDuration((now - startedAt) / 1000)}`;
  const sep = ' · ';
  return (
    <Box width={width} height={1}>
      <Box flexGrow={1} overflow="hidden">
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
