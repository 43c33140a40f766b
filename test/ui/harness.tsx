// Test harness for the console: real Ink rendering into fake terminal streams of a chosen size,
// a real engine store (createEngineStore), and an EngineIntents double that records calls (the
// engine is not the unit under test here; tests play its part by writing the store).
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { render, type Instance } from 'ink';
import stringWidth from 'string-width';
import type { EngineIntents } from '../../src/engine/state/intents.js';
import { parseText } from '../../src/engine/logs/parser.js';
import { createEngineStore, type EngineState, type EngineStore } from '../../src/engine/state/store.js';
import type { DatabaseData } from '../../src/engine/probes/database.js';
import type { DiskData } from '../../src/engine/probes/disk.js';
import type { MemoryData } from '../../src/engine/probes/memory.js';
import type { OdooProcessInfo, ProcessData } from '../../src/engine/probes/process.js';
import type { Incident, LogRecord, ProbeResult, TailEntry } from '../../src/engine/core/types.js';
import { ConsoleApp } from '../../src/ui/app.js';

export class FakeStdout extends EventEmitter {
  frames: string[] = [];
  writes: string[] = [];
  isTTY: boolean;
  destroyed = false;
  writableEnded = false;
  constructor(
    public columns: number,
    public rows: number,
    opts: { isTTY?: boolean } = {},
  ) {
    super();
    this.isTTY = opts.isTTY ?? false;
  }
  write = (chunk: string, cb?: () => void): boolean => {
    this.writes.push(chunk);
    this.frames.push(chunk);
    cb?.();
    return true;
  };
  lastFrame = (): string => this.frames[this.frames.length - 1] ?? '';
  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

export class FakeStdin extends EventEmitter {
  isTTY = true;
  data: string | null = null;
  rawMode = false;
  write = (data: string) => {
    this.data = data;
    this.emit('readable');
    this.emit('data', data);
  };
  setEncoding() {}
  setRawMode(on: boolean) {
    this.rawMode = on;
  }
  resume() {}
  pause() {}
  ref() {}
  unref() {}
  read = () => {
    const { data } = this;
    this.data = null;
    return data;
  };
}

export type Call = { name: keyof EngineIntents; args: unknown[] };

export function intentsDouble(): EngineIntents & { calls: Call[]; names(): string[] } {
  const calls: Call[] = [];
  const record =
    (name: keyof EngineIntents) =>
    (...args: unknown[]): any => {
      calls.push({ name, args });
      return name === 'requestPlan' || name === 'confirmPlan' || name === 'rollbackLast' || name === 'suggestPattern' || name === 'confirmSuggestion'
        ? Promise.resolve()
        : undefined;
    };
  return {
    calls,
    names: () => calls.map((c) => c.name),
    requestPlan: record('requestPlan'),
    confirmPlan: record('confirmPlan'),
    cancelPlan: record('cancelPlan'),
    rollbackLast: record('rollbackLast'),
    suggestPattern: record('suggestPattern'),
    confirmSuggestion: record('confirmSuggestion'),
    dismissSuggestion: record('dismissSuggestion'),
    snooze: record('snooze'),
    dismiss: record('dismiss'),
    setAutoHeal: record('setAutoHeal'),
    setTailFilter: record('setTailFilter'),
    setTailMinLevel: record('setTailMinLevel'),
    setTailPaused: record('setTailPaused'),
  };
}

/** Waits for Ink to flush a frame and for useInput to be (re)subscribed. */
export async function tick(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

export interface Mounted {
  stdout: FakeStdout;
  stdin: FakeStdin;
  instance: Instance;
  frame(): string;
  press(...keys: string[]): Promise<void>;
}

export async function mount(
  store: EngineStore,
  intents: EngineIntents,
  size: { columns: number; rows: number } = { columns: 80, rows: 24 },
  color = false,
): Promise<Mounted> {
  const stdout = new FakeStdout(size.columns, size.rows);
  const stdin = new FakeStdin();
  const stderr = new FakeStdout(size.columns, size.rows);
  const instance = render(<ConsoleApp engine={{ store, intents }} color={color} />, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  await tick();
  return {
    stdout,
    stdin,
    instance,
    frame: () => stdout.lastFrame(),
    async press(...keys: string[]) {
      for (const k of keys) {
        stdin.write(k);
        await tick();
      }
    },
  };
}

export const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  enter: '\r',
  escape: '\u001B',
  tab: '\t',
  backspace: '\u007F',
  ctrlC: '\u0003',
};

/** Rows and the widest row of a frame, as a terminal would measure them. */
export function frameSize(frame: string): { rows: number; width: number } {
  const lines = frame.split('\n');
  return { rows: lines.length, width: Math.max(...lines.map((l) => stringWidth(l))) };
}

// ---------------------------------------------------------------------------------------------
// Store states
// ---------------------------------------------------------------------------------------------

export const NOW = Date.now();

function proc(pid: number, role: OdooProcessInfo['role'], extra: Partial<OdooProcessInfo> = {}): OdooProcessInfo {
  return {
    pid,
    ppid: role === 'main' ? 1 : 4100,
    role,
    cpuPercent: 2.5,
    rssBytes: 180 * 1024 * 1024,
    vsizeBytes: 450 * 1024 * 1024,
    threads: 4,
    startedAt: NOW - 3600_000,
    uptimeSeconds: 3600,
    activity: role === 'http' ? { busy: pid % 2 === 0, since: NOW - 12_000, source: 'syscall' } : null,
    ...extra,
  };
}

export function processData(workers: number): ProcessData {
  const list = Array.from({ length: workers }, (_, i) => proc(4200 + i, i % 5 === 4 ? 'cron' : 'http', { uptimeSeconds: 600 + i }));
  return {
    mode: 'prefork',
    configPath: '/etc/odoo/odoo.conf',
    main: proc(4100, 'main', { uptimeSeconds: 3 * 3600 + 12 * 60 }),
    workers: list,
    expected: { http: workers, cron: 0, gevent: true },
    counts: { http: workers, cron: 0, untitled: 0, gevent: 0 },
    titled: true,
    limits: { soft: 2048 * 1024 * 1024, hard: 2560 * 1024 * 1024 },
    httpLoad: { busy: list.filter((w) => w.activity?.busy).length, workers: list.filter((w) => w.role === 'http').length, allBusySince: null },
    totalRssBytes: 180 * 1024 * 1024 * (workers + 1),
    totalCpuPercent: 10,
    restarts: 0,
    lastRestartAt: null,
    workersRespawned: 0,
    otherInstances: [],
  };
}

export function databaseData(over: Partial<DatabaseData> = {}): DatabaseData {
  return {
    target: '127.0.0.1:5432',
    database: 'healdb',
    user: 'odoo',
    serverVersion: '15.18',
    latencyMs: 1.8,
    connections: { used: 12, max: 100, reserved: 3, percent: 12.4 },
    idleInTransaction: [],
    longQueries: [],
    waitingLocks: 0,
    databaseSizeBytes: 1.2 * 1024 ** 3,
    seesAllSessions: true,
    dataDirectory: null,
    error: null,
    notes: [],
    ...over,
  };
}

export function diskData(usedPercent = 41): DiskData {
  const fs = (mountPoint: string, pct: number) => ({
    mountPoint,
    device: '/dev/sda1',
    fsType: 'ext4',
    paths: [{ role: 'root' as const, path: mountPoint }],
    sizeBytes: 100 * 1024 ** 3,
    freeBytes: (100 - pct) * 1024 ** 3,
    usedPercent: pct,
    inodesTotal: 1000,
    inodesFree: 900,
    inodeUsedPercent: 10,
  });
  return { filesystems: [fs('/', usedPercent), fs('/var/lib/odoo', usedPercent + 10)] };
}

export function memoryData(usedPercent = 38): MemoryData {
  const total = 16 * 1024 ** 3;
  return {
    totalBytes: total,
    availableBytes: total * (1 - usedPercent / 100),
    availablePercent: 100 - usedPercent,
    usedPercent,
    swapTotalBytes: 2 * 1024 ** 3,
    swapUsedBytes: 100 * 1024 ** 2,
    swapUsedPercent: 5,
    odooRssBytes: 2 * 1024 ** 3,
    odooLimitBytes: 8 * 1024 ** 3,
    cpuPercent: 12,
    cpus: 4,
    load: null,
  };
}

export function probe<D>(name: ProbeResult['probe'], status: ProbeResult['status'], summary: string, data: D | null): ProbeResult<D> {
  return { probe: name, status, summary, checkedAt: NOW, durationMs: 3, findings: [], data };
}

/** Real Odoo 18 records from a fixture log, as the engine would put them in the tail. */
export function tailFromFixture(file: string): TailEntry[] {
  const text = readFileSync(new URL(`../fixtures/logs/${file}`, import.meta.url), 'utf8');
  return parseText(text, file).map((record, i) => ({ seq: i + 1, record }));
}

export function rawRecord(message: string, lines: string[] = [message], exception: string | null = null): LogRecord {
  return { kind: 'raw', source: 'stderr', line: 1, lines, exception, time: null, message };
}

export function incident(id: string, over: Partial<Incident> = {}): Incident {
  return {
    id,
    fingerprint: `fp-${id}`,
    origin: { kind: 'pattern', patternId: 'cron-deprecated-field', captures: { module: 'legacy_cron' } },
    title: `Incident ${id}`,
    severity: 'warning',
    category: 'cron',
    hint: 'Remove numbercall/doall from the cron XML.',
    status: 'open',
    count: 1,
    firstSeen: NOW - 5 * 60_000,
    lastSeen: NOW - 60_000,
    sample: null,
    detail: '',
    fix: { id: 'cron-deprecated-fields', params: { module: 'legacy_cron' }, unattended: false },
    resolvedAt: null,
    snoozedUntil: null,
    rootId: null,
    ...over,
  };
}

export function healthyState(store: EngineStore): void {
  store.setState({
    odoo: { version: '18.0', mode: 'prefork', configPath: '/etc/odoo/odoo.conf' },
    probes: {
      process: probe('process', 'ok', 'prefork: 4 workers', processData(4)),
      database: probe('database', 'ok', 'PostgreSQL 15.18 up', databaseData()),
      disk: probe('disk', 'ok', 'disks fine', diskData()),
      memory: probe('memory', 'ok', 'memory fine', memoryData()),
    },
    history: {
      cpu: [5, 10, 20, 40, 80, 100, 50, 10],
      memUsedPercent: [30, 32, 35, 38, 38, 38],
      dbLatencyMs: [1, 2, 1.5, 3, 1.8],
    },
    tail: tailFromFixture('baseline_prefork_server.log'),
  } satisfies Partial<EngineState>);
}

export function newStore(): EngineStore {
  return createEngineStore('odoo-prod-1', NOW - 600_000);
}
