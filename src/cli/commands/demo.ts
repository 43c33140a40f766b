// `odoo-heal demo`: a throwaway sandbox (no Odoo needed) where real Odoo 18 records are replayed and
// four incidents are made real, then healed — in the console (f, y) or, with --headless or without a
// terminal, by the engine in auto mode printing JSON lines. Everything is removed on the way out:
// normal end, q, Ctrl-C, SIGTERM, an error. ODOO_HEAL_DEMO_KEEP=1 keeps the sandbox directory.
import type { EngineEvent } from '../../engine/run/engine.js';
import { UsageError } from '../../engine/core/errors.js';
import type { Demo } from '../../demo/demo.js';
import type { GlobalOptions } from '../global-options.js';
import { onTerminal, printErr, printJson } from '../output.js';

export interface DemoCliOptions {
  headless?: boolean;
  minutes?: string;
}

const MAX_MINUTES = 120;

export function parseMinutes(text: string | undefined): number {
  const raw = (text ?? '4').trim();
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n) || n <= 0 || n > MAX_MINUTES) {
    throw new UsageError(`--minutes: expected a number of minutes above 0 and at most ${MAX_MINUTES} (e.g. 4 or 0.5), got ${JSON.stringify(text)}`);
  }
  return n;
}

function ciSet(env: NodeJS.ProcessEnv): boolean {
  const set = (k: string): boolean => k in env && env[k] !== '0' && env[k] !== 'false';
  return set('CI') || set('CONTINUOUS_INTEGRATION');
}

function intro(minutes: number, headless: boolean, keep: boolean): string {
  const span = minutes >= 1 ? `${minutes} minute${minutes === 1 ? '' : 's'}` : `${Math.round(minutes * 60)} seconds`;
  const what =
    `odoo-heal demo: a throwaway sandbox in a temp directory (no Odoo needed) replays real Odoo 18 log records ` +
    `and, over ${span}, makes four incidents real inside it: an addon with deprecated ir.cron fields, a stopped ` +
    `PostgreSQL (the demo's own cluster, if PostgreSQL is installed), a filestore file Odoo can no longer read, ` +
    `and expired sessions filling the disk. There is no Odoo process in the sandbox, so the process and HTTP panes say it is down.`;
  const how = headless
    ? ' Headless: the engine heals what policy allows unattended and prints one JSON line per event; the rest is an alert with its plan. Ctrl-C ends it.'
    : ' In the console: ↑/↓ (or j/k) pick an incident, f shows the fix plan, y applies it for real in the sandbox (n cancels), u undoes the last fix, A toggles auto-heal, ? lists every key, q quits.';
  const end = keep ? ' The sandbox is kept at the end (ODOO_HEAL_DEMO_KEEP=1).' : ' Everything is removed when it ends.';
  return `${what}${how}${end}\n`;
}

export async function run(globals: GlobalOptions, opts: DemoCliOptions = {}): Promise<number> {
  const minutes = parseMinutes(opts.minutes);
  const keep = process.env.ODOO_HEAL_DEMO_KEEP === '1';
  const term = onTerminal();
  const tty = term.stdout && term.stdin;
  let headless = opts.headless === true;
  const info = (line: string): void => void printErr(line.endsWith('\n') ? line : `${line}\n`);
  if (!headless && !tty) {
    info('odoo-heal demo: stdout is not a terminal, running headless (JSON lines on stdout).');
    headless = true;
  } else if (!headless && ciSet(process.env)) {
    info('odoo-heal demo: CI variables are set (CI, CONTINUOUS_INTEGRATION), running headless (JSON lines on stdout).');
    headless = true;
  }
  // Headless keeps stdout for JSON lines; the console's screen takes stdout over, so narrate on stderr both ways.
  info(intro(minutes, headless, keep));
  const shownAt = Date.now();

  const { startDemo } = await import('../../demo/demo.js');
  const jsonLine = (e: EngineEvent): void => {
    const { level, event, ...rest } = e;
    printJson({ time: new Date().toISOString(), level, event, ...rest }, 0);
  };
  let demo: Demo | null = null;
  const onExit = (): void => demo?.cleanupSync();
  process.on('exit', onExit);
  try {
    demo = await startDemo({
      globals,
      minutes,
      mode: headless ? 'auto' : 'console',
      keep,
      ...(headless ? { emit: jsonLine } : {}),
    });
    if (demo.databaseSkipped) info(`odoo-heal demo: database outage skipped: ${demo.databaseSkipped}.`);
    info(`odoo-heal demo: sandbox ${demo.sandbox.root}`);
    return headless ? await runHeadless(demo, jsonLine) : await runConsole(demo, globals, shownAt);
  } finally {
    const where = demo?.sandbox.root;
    await demo?.cleanup().catch((err: unknown) => info(`odoo-heal demo: cleanup: ${err instanceof Error ? err.message : String(err)}`));
    process.off('exit', onExit);
    if (where && keep) info(`odoo-heal demo: sandbox kept at ${where} (its PostgreSQL is stopped); remove it with: rm -rf ${where}`);
  }
}

async function runHeadless(demo: Demo, jsonLine: (e: EngineEvent) => void): Promise<number> {
  let signalled: NodeJS.Signals | null = null;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const onSignal = (sig: NodeJS.Signals): void => {
    signalled = sig;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await Promise.race([demo.finished, stopped]);
    // A fix that is still running finishes (or rolls back) before the engine stops.
    await demo.engine.stop();
    const s = demo.engine.store.getState();
    jsonLine({
      level: 'info',
      event: 'demo.summary',
      ...(signalled ? { signal: signalled } : {}),
      incidents: Object.values(s.incidents).map((i) => ({ id: i.id, title: i.title, status: i.status })),
      attempts: s.attempts.map((a) => ({ id: a.id, fix: a.fixId, outcome: a.outcome, message: a.message })),
      steps: demo.scenario.ran,
    });
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function runConsole(demo: Demo, globals: GlobalOptions, shownAt: number): Promise<number> {
  // Leave the paragraph on screen a moment: the console takes over the whole screen.
  const readFor = 6000 - (Date.now() - shownAt);
  if (readFor > 0) await new Promise((r) => setTimeout(r, readFor));
  const { renderConsole } = await import('../../ui/app.js');
  const { colorWanted } = await import('../../ui/theme.js');
  const ui = renderConsole({ store: demo.engine.store, intents: demo.engine }, { color: colorWanted(process.env, globals.color) });
  // The console ends on q / Ctrl-C / SIGTERM / hang-up (it restores the terminal itself); the
  // scenario ending does not close it: the user may still be fixing things.
  await ui.waitUntilExit();
  return 0;
}
