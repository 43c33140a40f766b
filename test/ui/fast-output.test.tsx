// The fast Output.get (src/ui/fast-output.ts) must give the same bytes as Ink 6.8.0's own on every
// frame. Each test puts a checker on Ink's Output: it runs Ink's original get() (from a second,
// unpatched instance of build/output.js) and a fast get() that remembers the frames before it, and
// records any difference; the frame Ink then draws is the original's.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Chalk } from 'chalk';
import { render } from 'ink-testing-library';
import { Box, Text } from 'ink';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Incident, TailEntry } from '../../src/engine/core/types.js';
import {
  createFastGet,
  fastOutputStats,
  inkOutput,
  installFastOutput,
  loadInkOutput,
  PINNED_INK_VERSION,
  type InkOutputInternals,
  type OutputGet,
} from '../../src/ui/fast-output.js';
import {
  databaseData,
  diskData,
  healthyState,
  incident,
  intentsDouble,
  KEY,
  memoryData,
  mount,
  newStore,
  NOW,
  probe,
  processData,
  rawRecord,
  tick,
  type Mounted,
} from './harness.js';

const inkEntry = createRequire(import.meta.url).resolve('ink');
let ink: InkOutputInternals;
let inkGet: OutputGet;

beforeAll(async () => {
  expect(inkOutput, `ink ${PINNED_INK_VERSION} is installed, so its internals load`).not.toBeNull();
  ink = inkOutput!;
  const url = pathToFileURL(join(dirname(inkEntry), 'output.js')).href;
  inkGet = ((await import(/* @vite-ignore */ `${url}?unpatched`)) as { default: { prototype: { get: OutputGet } } }).default
    .prototype.get;
  expect(String(inkGet)).toContain('Initialize output array with a specific set of rows');
});

interface Check {
  frames: number;
  mismatches: string[];
}

const restores: (() => void)[] = [];
const mounted: Mounted[] = [];
afterEach(() => {
  for (const m of mounted.splice(0)) m.instance.unmount();
  for (const r of restores.splice(0)) r();
});

/** Routes every Output.get through the comparison until the test ends. */
function checkFrames(): Check {
  const check: Check = { frames: 0, mismatches: [] };
  const fast = createFastGet(ink);
  const proto = ink.Output.prototype;
  const before = proto.get;
  proto.get = function compared() {
    const want = inkGet.call(this);
    const got = fast.call(this);
    check.frames++;
    if (got.output !== want.output || got.height !== want.height) {
      const a = want.output.split('\n');
      const b = got.output.split('\n');
      const row = a.findIndex((line, i) => line !== b[i]);
      check.mismatches.push(`frame ${check.frames}, row ${row}: ${JSON.stringify(a[row])} != ${JSON.stringify(b[row])}`);
    }
    return want;
  };
  restores.push(() => (proto.get = before));
  return check;
}

async function open(...args: Parameters<typeof mount>): Promise<Mounted> {
  const m = await mount(...args);
  mounted.push(m);
  return m;
}

const WIDE = ['漢字テスト', '👍🏽 ok', '👨‍👩‍👧 family', 'e\u0301 combining', 'ｆｕｌｌ ｗｉｄｔｈ', '한국어 로그'];

function withWideChars(store: ReturnType<typeof newStore>): void {
  store.setState((s) => ({
    hostname: `服务器-${WIDE[1]}`,
    tail: [
      ...s.tail,
      ...WIDE.map((w, i) => ({ seq: 3000 + i, record: rawRecord(`${w} ${'漢'.repeat(i * 20)} end`) })),
    ] satisfies TailEntry[],
    incidents: {
      w: incident('w', { title: `${WIDE[0]} ${WIDE[2]} 停止`, severity: 'critical' }),
      x: incident('x', { title: `${'宽'.repeat(70)}`, severity: 'info', fix: null }),
    },
  }));
}

/** What the engine does every probe round: new chart points, probe data, counters. */
function probeRound(store: ReturnType<typeof newStore>, round: number): void {
  store.setState((s) => ({
    probes: {
      ...s.probes,
      process: probe('process', 'ok', `prefork: ${4 + (round % 3)} workers`, processData(4 + (round % 3))),
      memory: probe('memory', 'ok', 'memory fine', memoryData(30 + ((round * 7) % 50))),
      database: probe('database', round % 5 === 4 ? 'warning' : 'ok', 'PostgreSQL 15.18 up', databaseData({ latencyMs: 1 + (round % 9) / 4 })),
    },
    history: {
      cpu: [...s.history.cpu, (round * 37) % 100].slice(-120),
      memUsedPercent: [...s.history.memUsedPercent, 30 + ((round * 7) % 50)].slice(-120),
      dbLatencyMs: [...s.history.dbLatencyMs, 1 + (round % 9) / 4].slice(-120),
    },
    counters: { linesRead: s.counters.linesRead + round, records: s.counters.records + 1, matches: 0, unclassified: 0 },
  }));
}

const SIZES = [
  { columns: 80, rows: 24 },
  { columns: 120, rows: 40 },
  { columns: 160, rows: 50 },
];

describe('fast Output.get gives the bytes of Ink 6.8.0 for the console', () => {
  for (const color of [true, false]) {
    for (const size of SIZES) {
      it(`healthy → probe rounds → degraded → DB down → many workers, ${size.columns}x${size.rows}, colour ${color ? 'on' : 'off'}`, async () => {
        const check = checkFrames();
        const store = newStore();
        const m = await open(store, intentsDouble(), size, color);
        healthyState(store);
        await tick();
        for (let round = 0; round < 12; round++) {
          probeRound(store, round);
          await tick(1);
        }
        store.setState((s) => ({
          probes: { ...s.probes, disk: probe('disk', 'warning', '/var/lib/odoo 92% full', diskData(82)) },
          incidents: {
            'i-1': incident('i-1', { title: 'Cron uses removed numbercall field', count: 12, firstSeen: NOW - 3 * 3600_000 }),
            'i-2': incident('i-2', { title: 'Old snoozed thing', status: 'snoozed', severity: 'info', fix: null }),
          },
        }));
        await tick();
        store.setState((s) => ({
          probes: {
            ...s.probes,
            database: probe('database', 'critical', 'PostgreSQL refuses connections on 127.0.0.1:5432', databaseData({
              latencyMs: null,
              connections: null,
              error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
            })),
          },
        }));
        await tick();
        store.setState((s) => ({ probes: { ...s.probes, process: probe('process', 'ok', '40 workers', processData(40)) } }));
        await tick();
        await m.press(KEY.tab, KEY.tab, ...Array<string>(20).fill('j')); // scroll the process pane
        for (let round = 12; round < 20; round++) {
          probeRound(store, round);
          await tick(1);
        }
        expect(check.mismatches).toEqual([]);
        expect(check.frames).toBeGreaterThan(30);
      });
    }
  }

  it('long lines, escape sequences, bidi overrides and wide characters (CJK, emoji, combining)', async () => {
    const check = checkFrames();
    const chalk = (await import('chalk')).default;
    const level = chalk.level;
    chalk.level = 3;
    try {
      const store = newStore();
      healthyState(store);
      const m = await open(store, intentsDouble(), { columns: 120, rows: 40 }, true);
      store.setState((s) => ({
        hostname: `host-${'h'.repeat(200)}`,
        tail: [
          ...s.tail,
          { seq: 999, record: rawRecord(`START ${'x'.repeat(600)} END`) },
          { seq: 1000, record: rawRecord('login failed for \u001B[2J\u001B[31muser\u001B[0m') },
          { seq: 1001, record: rawRecord('title \u001B]0;owned\u0007 and link \u001B]8;;http://evil\u001B\\click\u001B]8;;\u001B\\') },
          { seq: 1002, record: rawRecord('bidi \u202Eevil\u202C iso \u2066x\u2069 alt \u001B[?1049l tab\there') },
        ],
        incidents: { a: incident('a', { title: `T ${'t'.repeat(300)}` }), b: incident('b', { title: 'bad \u001B[31mtitle\u202E' }) },
      }));
      await tick();
      withWideChars(store);
      await tick();
      for (let round = 0; round < 6; round++) {
        probeRound(store, round);
        await tick(1);
      }
      await m.press('e'); // tracebacks expanded
      await m.press(KEY.tab, 'k', 'k', 'k'); // log scrolled
      for (const size of [{ columns: 80, rows: 24 }, { columns: 133, rows: 41 }, { columns: 200, rows: 60 }]) {
        m.stdout.resize(size.columns, size.rows);
        await tick();
        probeRound(store, size.columns);
        await tick();
      }
      expect(check.mismatches).toEqual([]);
      expect(check.frames).toBeGreaterThan(15);
    } finally {
      chalk.level = level;
    }
  });

  it('overlays (help, incident detail scrolled, plan, prompts, filter) and resizes between frames', async () => {
    const check = checkFrames();
    const store = newStore();
    healthyState(store);
    withWideChars(store);
    const sample = { ...rawRecord('boom'), lines: ['Traceback (most recent call last):', `  File "${'深'.repeat(90)}.py"`, 'ValueError: 👍 wide'] };
    store.setState((s) => ({
      incidents: { ...s.incidents, 'i-2': incident('i-2', { title: 'Cron uses removed fields', sample: sample as Incident['sample'] }) },
    }));
    const m = await open(store, intentsDouble(), { columns: 120, rows: 40 }, true);
    await m.press('?');
    probeRound(store, 1);
    await tick();
    await m.press('?', 'j', 'j', KEY.enter, 'j', 'j', 'j');
    m.stdout.resize(80, 24);
    await tick();
    await m.press('j', 'j', 'j', 'j', 'j', KEY.escape);
    store.setState({
      plan: {
        incidentId: 'i-2',
        fixId: 'cron-deprecated-fields',
        preview: ['--- a/x.xml', '+++ b/x.xml', '@@ -1,2 +1,1 @@', `-  <field name="numbercall">${'漢'.repeat(80)}</field>`, '+  ok'].join('\n'),
        summary: 'Remove numbercall/doall from 1 file',
      },
    });
    await tick();
    m.stdout.resize(70, 20); // too small: the notice
    await tick();
    m.stdout.resize(160, 50);
    await tick();
    await m.press('j', 'n');
    store.setState({ plan: null });
    await tick();
    await m.press('u', 'n', 'A', KEY.escape, '/', 'w', 'o', 'r', 'k', KEY.enter, 'L', ' ');
    for (let round = 0; round < 5; round++) {
      probeRound(store, round);
      await tick(1);
    }
    expect(check.mismatches).toEqual([]);
    expect(check.frames).toBeGreaterThan(20);
  });

  it('at idle only the rows that changed are built again', async () => {
    checkFrames();
    const store = newStore();
    healthyState(store);
    await open(store, intentsDouble(), { columns: 120, rows: 40 }, true);
    const built = fastOutputStats.rowsBuilt;
    const reused = fastOutputStats.rowsReused;
    // a log counter moves: the status line's count, nothing else
    store.setState((s) => ({ counters: { ...s.counters, linesRead: s.counters.linesRead + 5 } }));
    await tick();
    store.setState((s) => ({ notice: { text: 'hello', severity: 'info', at: Date.now() } }));
    await tick();
    expect(fastOutputStats.rowsReused - reused).toBeGreaterThanOrEqual(2 * 36);
    expect(fastOutputStats.rowsBuilt - built).toBeLessThanOrEqual(2 * 3);
  });
});

// ---------------------------------------------------------------------------------------------
// Output itself: random writes, clips and frames, including what the console never does.
// ---------------------------------------------------------------------------------------------

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}

const c = new Chalk({ level: 3 });
const PIECES = [
  'hello',
  'a b  c   ',
  ' '.repeat(7),
  c.red('red'),
  c.bold.dim('bold+dim'),
  c.bgBlue.white('on blue'),
  c.ansi256(208)('256'),
  c.rgb(10, 200, 30).underline('rgb'),
  '\u001B[31mopen red, never closed',
  '\u001B[1mbold\u001B[22m \u001B[2mdim\u001B[0m',
  '\u001B]8;;https://example.com\u0007link\u001B]8;;\u0007',
  ...WIDE,
  '漢',
  c.inverse('日本語'),
  'tab\there',
];

type Write = { x: number; y: number; text: string; transformers: ((line: string, index: number) => string)[] };
type Op = { kind: 'write'; write: Write } | { kind: 'clip'; clip: { x1?: number; x2?: number; y1?: number; y2?: number } } | { kind: 'unclip' };

function randomText(r: ReturnType<typeof prng>): string {
  const lines = 1 + r.int(4);
  return Array.from({ length: lines }, () => Array.from({ length: 1 + r.int(4) }, () => r.pick(PIECES)).join(r.pick(['', ' ', '│']))).join('\n');
}

const TRANSFORMERS = [
  (line: string) => c.green(line),
  (line: string, index: number) => (index % 2 ? c.bold(line) : line),
  (line: string) => `${line}`,
  (line: string) => c.bgRed.dim(line),
];

function randomOps(r: ReturnType<typeof prng>, width: number, height: number): Op[] {
  const ops: Op[] = [];
  let depth = 0;
  for (let i = 0, n = 5 + r.int(30); i < n; i++) {
    const roll = r.next();
    if (roll < 0.12) {
      const x1 = r.int(width + 4) - 2;
      const y1 = r.int(height + 4) - 2;
      const clip = r.pick([
        { x1, x2: x1 + r.int(width), y1, y2: y1 + r.int(height) },
        { x1, x2: x1 + r.int(width) },
        { y1, y2: y1 + r.int(height) },
      ]);
      ops.push({ kind: 'clip', clip });
      depth++;
    } else if (roll < 0.2 && depth > 0) {
      ops.push({ kind: 'unclip' });
      depth--;
    } else {
      const transformers = r.next() < 0.5 ? [] : Array.from({ length: 1 + r.int(2) }, () => r.pick(TRANSFORMERS));
      ops.push({ kind: 'write', write: { x: r.int(width + 10) - 3, y: r.int(height + 4) - 2, text: randomText(r), transformers } });
    }
  }
  return ops;
}

type OutputInstance = {
  write(x: number, y: number, text: string, options: { transformers: Write['transformers'] }): void;
  clip(clip: object): void;
  unclip(): void;
};

function outputFrom(width: number, height: number, ops: Op[]): OutputInstance {
  const Output = ink.Output as unknown as new (options: { width: number; height: number }) => OutputInstance;
  const out = new Output({ width, height });
  for (const op of ops) {
    if (op.kind === 'write') out.write(op.write.x, op.write.y, op.write.text, { transformers: op.write.transformers });
    else if (op.kind === 'clip') out.clip({ x1: undefined, x2: undefined, y1: undefined, y2: undefined, ...op.clip });
    else out.unclip();
  }
  return out;
}

describe('fast Output.get on random frames', () => {
  const cases = [1, 2, 3, 4, 5, 6].map((seed) => ({ seed, tokenizer: 'this one' }));
  // With another tokenizer version, rows are joined by its own styledCharsToString.
  cases.push({ seed: 7, tokenizer: 'another 0.2.x' });
  for (const { seed, tokenizer } of cases) {
    it(`seed ${seed}, ${tokenizer}: frames that change a little, a lot, or resize`, () => {
      const r = prng(seed);
      const fast = createFastGet(tokenizer === 'this one' ? ink : { ...ink, tokenizerVersion: '0.2.99' });
      let width = 20 + r.int(60);
      let height = 5 + r.int(20);
      let ops = randomOps(r, width, height);
      const reusedBefore = fastOutputStats.rowsReused;
      for (let frame = 0; frame < 150; frame++) {
        const roll = r.next();
        if (roll < 0.1) {
          width = Math.max(1, width + r.int(21) - 10);
          height = Math.max(0, height + r.int(7) - 3);
        } else if (roll < 0.2) {
          ops = randomOps(r, width, height);
        } else if (roll < 0.8) {
          // change one write's text, or move it
          const writes = ops.filter((o): o is Extract<Op, { kind: 'write' }> => o.kind === 'write');
          const target = writes.length > 0 ? r.pick(writes) : undefined;
          if (target) {
            const moved = r.next() < 0.3;
            ops = ops.map((o) =>
              o === target
                ? { kind: 'write', write: moved ? { ...target.write, x: target.write.x + r.int(5) - 2 } : { ...target.write, text: randomText(r) } }
                : o,
            );
          }
        }
        const out = outputFrom(width, height, ops) as unknown as ThisParameterType<OutputGet>;
        const want = inkGet.call(out);
        const got = fast.call(out);
        expect(got, `seed ${seed}, frame ${frame}, ${width}x${height}`).toEqual(want);
      }
      // unchanged frames happen (20% of them): their rows come from the last frame
      expect(fastOutputStats.rowsReused).toBeGreaterThan(reusedBefore);
    });
  }
});

describe('installing', () => {
  it('leaves another Ink version untouched: nothing of it is even imported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-fake-ink-'));
    try {
      for (const version of ['6.9.0', '7.0.0', '6.7.1']) {
        const pkg = join(dir, version, 'node_modules', 'ink');
        mkdirSync(join(pkg, 'build'), { recursive: true });
        writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'ink', version, type: 'module', exports: './build/index.js' }));
        writeFileSync(join(pkg, 'build', 'index.js'), 'export {};\n');
        writeFileSync(join(pkg, 'build', 'output.js'), 'globalThis.__fakeInkOutputLoaded = true;\nexport default class Output { get() {} }\n');
        expect(await loadInkOutput(join(pkg, 'build', 'index.js'))).toBeNull();
      }
      expect((globalThis as { __fakeInkOutputLoaded?: boolean }).__fakeInkOutputLoaded).toBeUndefined();
      expect(installFastOutput(null)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('patches the Output that Ink renders with, once', async () => {
    const proto = ink.Output.prototype;
    const before = proto.get;
    restores.push(() => (proto.get = before));
    expect(installFastOutput()).toBe(true);
    const patched = proto.get;
    expect(patched).not.toBe(before);
    expect(installFastOutput()).toBe(true);
    expect(proto.get).toBe(patched);
    const frames = fastOutputStats.frames;
    const { lastFrame, unmount } = render(
      <Box borderStyle="round" width={20}>
        <Text color="red">漢字 ok</Text>
      </Box>,
    );
    expect(lastFrame()).toContain('漢字 ok');
    expect(fastOutputStats.frames).toBeGreaterThan(frames);
    unmount();
  });
});
