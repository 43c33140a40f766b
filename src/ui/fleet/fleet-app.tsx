// `odoo-heal fleet`: every odoo-heal instance Prometheus scrapes, worst first, one line each; Enter
// opens a host's incidents. Reads the fleet store with selectors and calls its intents, like the
// console does with the engine. Labels and titles come from other machines' logs: sanitized.
import { Box, Text, useApp, useInput, useStdin } from 'ink';
import { useEffect, useState } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { FleetHost, HostHealth } from '../../engine/fleet/fleet.js';
import type { FleetIntents, FleetState, HostDetail } from '../../engine/fleet/fleet-store.js';
import { cell, formatDuration } from '../format.js';
import { useTerminalSize } from '../hooks.js';
import { FLEET_KEYMAP, fleetActionFor } from '../keymap.js';
import { sanitizeText } from '../sanitize.js';
import { mountGuarded, type MountedView } from '../mount.js';
import { makeTheme, SEVERITY_COLOR, ThemeContext, useTheme, type BasicColor } from '../theme.js';

const HEALTH_COLOR: Record<HostHealth, BasicColor> = { down: 'red', critical: 'red', warning: 'yellow', unknown: 'gray', ok: 'green' };
const HEALTH_TEXT: Record<HostHealth, string> = { down: 'DOWN', critical: 'CRITICAL', warning: 'WARNING', unknown: 'UNKNOWN', ok: 'OK' };

const COLS = { health: 9, crit: 5, warn: 5, info: 5, scrape: 7 } as const;

function lastFixText(h: FleetHost, now: number): string {
  if (!h.lastFix) return '—';
  return `${h.lastFix.fix} ${h.lastFix.outcome} ${formatDuration(Math.max(0, Math.round((now - h.lastFix.at) / 1000)))} ago`;
}

function HostRow({ host, selected, width, now }: { host: FleetHost; selected: boolean; width: number; now: number }) {
  const theme = useTheme();
  const fixed = 2 + COLS.health + COLS.crit + COLS.warn + COLS.info + COLS.scrape + 6;
  const hostW = Math.max(12, Math.floor((width - fixed) * 0.45));
  const fixW = Math.max(8, width - fixed - hostW);
  return (
    <Text inverse={selected} wrap="truncate-end">
      {selected ? '› ' : '  '}
      {cell(sanitizeText(host.instance), hostW)}{' '}
      <Text color={theme.color(HEALTH_COLOR[host.health])} bold={host.health !== 'ok'}>
        {cell(HEALTH_TEXT[host.health], COLS.health)}
      </Text>{' '}
      <Text color={host.open.critical ? theme.color(SEVERITY_COLOR.critical) : undefined}>{cell(String(host.open.critical), COLS.crit, 'right')}</Text>{' '}
      <Text color={host.open.warning ? theme.color(SEVERITY_COLOR.warning) : undefined}>{cell(String(host.open.warning), COLS.warn, 'right')}</Text>{' '}
      {cell(String(host.open.info), COLS.info, 'right')}{' '}
      {cell(host.scrapeAgeS === null ? '—' : formatDuration(host.scrapeAgeS), COLS.scrape, 'right')}{' '}
      {cell(sanitizeText(lastFixText(host, now)), fixW)}
    </Text>
  );
}

function Detail({ detail, width }: { detail: HostDetail; width: number }) {
  const theme = useTheme();
  const title = <Text bold>{`Incidents on ${sanitizeText(detail.instance)}`}</Text>;
  if (detail.state === 'loading') return <Box flexDirection="column">{title}<Text dimColor>reading…</Text></Box>;
  if (detail.state === 'error') return <Box flexDirection="column">{title}<Text color={theme.color('red')}>{sanitizeText(detail.error)}</Text></Box>;
  return (
    <Box flexDirection="column">
      {title}
      {detail.full ? (
        detail.full.length === 0 ? (
          <Text dimColor>no open incident (from the host's /incidents)</Text>
        ) : (
          detail.full.map((i) => (
            <Text key={i.id} wrap="truncate-end">
              <Text color={theme.color(SEVERITY_COLOR[i.severity])}>{cell(i.severity.toUpperCase(), 9)}</Text>
              {cell(`${i.count}×`, 6, 'right')} {sanitizeText(i.title).slice(0, width)}
              {i.rootId ? <Text dimColor>{` (symptom of ${sanitizeText(i.rootId)})`}</Text> : null}
            </Text>
          ))
        )
      ) : detail.rows.length === 0 ? (
        <Text dimColor>no open incident (from Prometheus)</Text>
      ) : (
        detail.rows.map((r) => (
          <Text key={`${r.rule}|${r.kind}|${r.severity}`} wrap="truncate-end">
            <Text color={theme.color(SEVERITY_COLOR[r.severity] ?? 'gray')}>{cell(r.severity.toUpperCase(), 9)}</Text>
            {cell(`${r.count}`, 4, 'right')} {sanitizeText(r.rule)} <Text dimColor>{`(${sanitizeText(r.kind)})`}</Text>
          </Text>
        ))
      )}
      {detail.full === null ? (
        <Text dimColor>{detail.fullError ? `full incidents unavailable: ${sanitizeText(detail.fullError)}` : 'counts from Prometheus; set --host-token for titles from each host'}</Text>
      ) : null}
    </Box>
  );
}

function Help() {
  return (
    <Box flexDirection="column" borderStyle="single" paddingX={1}>
      <Text bold>Keys</Text>
      {FLEET_KEYMAP.map((b) => (
        <Text key={b.action}>
          {cell(b.keys, 12)} {b.description}
        </Text>
      ))}
    </Box>
  );
}

export function FleetApp({ store, intents }: { store: StoreApi<FleetState>; intents: FleetIntents }) {
  const theme = useTheme();
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const { columns, rows } = useTerminalSize();
  const snapshot = useStore(store, (s) => s.snapshot);
  const error = useStore(store, (s) => s.error);
  const detail = useStore(store, (s) => s.detail);
  const [selected, setSelected] = useState(0);
  const [help, setHelp] = useState(false);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const hosts = snapshot?.hosts ?? [];
  const sel = Math.min(selected, Math.max(0, hosts.length - 1));
  const listRows = Math.max(3, rows - 6 - (detail ? Math.min(12, rows >> 1) : 0));

  useInput(
    (input, key) => {
      const action = fleetActionFor(input, key);
      if (help && action !== 'quit') return setHelp(false);
      switch (action) {
        case 'up':
          return setSelected(Math.max(0, sel - 1));
        case 'down':
          return setSelected(Math.min(hosts.length - 1, sel + 1));
        case 'pageUp':
          return setSelected(Math.max(0, sel - listRows));
        case 'pageDown':
          return setSelected(Math.min(hosts.length - 1, sel + listRows));
        case 'open': {
          const h = hosts[sel];
          if (detail && detail.instance === h?.instance) return intents.closeHost();
          if (h) intents.openHost(h.instance);
          return;
        }
        case 'back':
          return detail ? intents.closeHost() : undefined;
        case 'refresh':
          return intents.refresh();
        case 'help':
          return setHelp(true);
        case 'quit':
          return exit();
        default:
          return;
      }
    },
    { isActive: isRawModeSupported === true },
  );

  const counts = hosts.reduce((a, h) => ({ ...a, [h.health]: (a[h.health] ?? 0) + 1 }), {} as Partial<Record<HostHealth, number>>);
  const summary = (['down', 'critical', 'warning', 'unknown', 'ok'] as const)
    .filter((k) => counts[k])
    .map((k) => `${counts[k]} ${HEALTH_TEXT[k].toLowerCase()}`)
    .join(', ');
  // Keep the selection on screen: scroll only once it would leave the last row.
  const start = Math.max(0, sel - listRows + 1);
  const shown = hosts.slice(start, start + listRows);
  const fixed = 2 + COLS.health + COLS.crit + COLS.warn + COLS.info + COLS.scrape + 6;
  const hostW = Math.max(12, Math.floor((columns - fixed) * 0.45));

  return (
    <Box flexDirection="column" width={columns} height={rows - 1}>
      <Text wrap="truncate-end">
        <Text bold>odoo-heal fleet</Text>
        {` — ${sanitizeText(snapshot?.prometheus ?? '')} job ${sanitizeText(snapshot?.job ?? '')} — ${hosts.length} host(s)${summary ? `: ${summary}` : ''}`}
        {snapshot ? <Text dimColor>{` — read ${formatDuration(Math.max(0, Math.round((now - snapshot.readAt) / 1000)))} ago`}</Text> : null}
      </Text>
      {error ? <Text color={theme.color('red')} wrap="truncate-end">{sanitizeText(error)}</Text> : null}
      <Text bold wrap="truncate-end">
        {'  '}
        {cell('HOST', hostW)} {cell('HEALTH', COLS.health)} {cell('CRIT', COLS.crit, 'right')} {cell('WARN', COLS.warn, 'right')} {cell('INFO', COLS.info, 'right')} {cell('SCRAPE', COLS.scrape, 'right')} LAST FIX
      </Text>
      {snapshot === null && !error ? <Text dimColor>reading Prometheus…</Text> : null}
      {snapshot !== null && hosts.length === 0 ? <Text dimColor>Prometheus knows no instance of this job</Text> : null}
      {shown.map((h, i) => (
        <HostRow key={`${h.job}|${h.instance}`} host={h} selected={start + i === sel} width={columns} now={now} />
      ))}
      <Box flexGrow={1} />
      {help ? <Help /> : detail ? <Detail detail={detail} width={columns} /> : null}
      <Text dimColor wrap="truncate-end">
        {FLEET_KEYMAP.flatMap((b) => (b.footer ? [b.footer.label] : [])).join(' · ')}
      </Text>
    </Box>
  );
}

export type FleetHandle = MountedView;

export function renderFleet(fleet: { store: StoreApi<FleetState>; intents: FleetIntents }, opts: { color: boolean }): FleetHandle {
  return mountGuarded(
    <ThemeContext.Provider value={makeTheme(opts.color)}>
      <FleetApp store={fleet.store} intents={fleet.intents} />
    </ThemeContext.Provider>,
    { maxFps: 10 },
  );
}
