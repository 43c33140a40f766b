// Disk: one bar per filesystem (data dir, log dir, /), with free space and inode use when high.
import { Text } from 'ink';
import { memo } from 'react';
import { useEngine } from './context.js';
import { bar, formatBytes } from './format.js';
import { Line, PaneFrame } from './pane-frame.js';
import { sanitizeText } from './sanitize.js';
import { STATUS_COLOR, fillColor, useTheme } from './theme.js';
import { diskView } from './view-models.js';

/** Paths keep their end (`…/filestore`), which is the part that tells them apart. */
function mountCell(mount: string, width: number): string {
  return mount.length > width ? `…${mount.slice(mount.length - width + 1)}` : mount.padEnd(width);
}

export const DiskPane = memo(function DiskPane({ width, height }: { width: number; height: number }) {
  const theme = useTheme();
  const result = useEngine((s) => s.probes.disk);
  const rows = diskView(result);
  const titleColor = result ? STATUS_COLOR[result.status] : 'blue';
  if (!result || !rows || rows.length === 0) {
    return (
      <PaneFrame title="Disk" width={width} height={height} titleColor={titleColor}>
        <Text wrap="wrap" dimColor={!result}>
          {result ? sanitizeText(result.summary) : 'waiting for the first probe…'}
        </Text>
      </PaneFrame>
    );
  }
  const mountWidth = Math.min(Math.max(4, Math.floor(width * 0.3)), Math.max(4, ...rows.map((r) => r.mount.length)));
  const room = height - 1;
  const shown = rows.length > room ? rows.slice(0, room - 1) : rows;
  return (
    <PaneFrame title="Disk" width={width} height={height} titleColor={titleColor}>
      {shown.map((r) => {
        const pct = r.usedRatio === null ? '?' : `${Math.round(r.usedRatio * 100)}%`;
        const inode = r.inodeRatio !== null && r.inodeRatio >= 0.8 ? ` i${Math.round(r.inodeRatio * 100)}%` : '';
        const tail = ` ${pct.padStart(4)} ${formatBytes(r.freeBytes).padStart(4)}${inode}`;
        const barWidth = Math.max(3, width - mountWidth - 2 - tail.length);
        return (
          <Line key={r.mount}>
            {mountCell(r.mount, mountWidth)}{' '}
            <Text color={theme.color(fillColor(r.usedRatio))}>{bar(r.usedRatio, barWidth)}</Text>
            {tail}
          </Line>
        );
      })}
      {shown.length < rows.length ? <Line dim>{`+${rows.length - shown.length} more`}</Line> : null}
    </PaneFrame>
  );
});
