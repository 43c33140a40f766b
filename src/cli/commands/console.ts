// `odoo-heal` with no command: the interactive console. It needs a real terminal; anything else
// (a pipe, systemd, cron) is pointed to the headless commands instead of getting garbage.
import { setFlagsFromString } from 'node:v8';
import { UsageError } from '../../engine/core/errors.js';
import type { GlobalOptions } from '../global-options.js';
import { onTerminal } from '../output.js';

const NOT_A_TERMINAL =
  'the console needs an interactive terminal; use `odoo-heal --auto` (headless), `odoo-heal check` or `odoo-heal detect`';

/** Ink (via is-in-ci, same test) draws only the final frame when it thinks it runs in CI. */
function looksLikeCi(env: NodeJS.ProcessEnv): boolean {
  const set = (key: string) => key in env && env[key] !== '0' && env[key] !== 'false';
  return set('CI') || set('CONTINUOUS_INTEGRATION');
}

/**
 * Two V8 heap settings for this long-running, allocation-bursty process. Both are flags V8 reads
 * each time it sizes the heap (not only when the heap is created), so setting them once here, before
 * the engine and Ink are loaded, takes effect for the rest of the run.
 *
 * `--semi-space-growth-factor=1` keeps the young generation at its initial 1 MB per semi-space.
 * Every Ink frame is a burst of short-lived strings and objects; V8 doubles the young generation
 * each time enough of them survive a scavenge, up to 2 x 16 MB, and hardly ever gives it back: the
 * console sat at ~125 MB RSS idle (target 90), 32 MB of it a mostly empty young generation.
 * (`--max-semi-space-size` is only read when the heap is created; setting it would need a re-exec,
 * and the parent Node would cost ~40 MB.)
 *
 * `--heap-growing-percent=20` lets the old generation grow by at most 20 % (but always V8's minimum
 * step, 8 MB) past what survived the last full GC before the next one. Under a log storm
 * the engine promotes short-lived records into the old generation (a 1 MB young generation fills
 * every few milliseconds); V8's default factor (up to 4x on a fast mutator) let that garbage pile up
 * to +70 MB RSS before a full GC, against the ring buffers' few MB of live data. With 20 % the
 * console grew ~11 MB under the flood bench and ~4 MB less at idle (bench/RESULTS.md); the price is
 * more full GCs during a storm, each ~10–30 ms on a ~40 MB heap, mostly on V8's concurrent marker.
 *
 * `detect` and `--auto` keep V8's defaults. If a Node version ignores a flag, nothing breaks: the
 * heap just grows as before.
 */
function tuneHeapForConsole(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--heap-growing-percent=20');
}

export async function run(globals: GlobalOptions): Promise<number> {
  if (!onTerminal().stdout || !onTerminal().stdin) throw new UsageError(NOT_A_TERMINAL);
  if (looksLikeCi(process.env)) {
    throw new UsageError('the console cannot draw live while CI variables are set (CI, CONTINUOUS_INTEGRATION); unset them or use `odoo-heal --auto`');
  }
  tuneHeapForConsole();
  const { createEngine } = await import('../../engine/run/engine.js');
  const engine = await createEngine({
    configPath: globals.config,
    odooConfigPath: globals.odooConfig,
    patternsDir: globals.patterns,
    mode: 'console',
  });
  const { renderConsole } = await import('../../ui/app.js');
  const { colorWanted } = await import('../../ui/theme.js');
  // Draw first, then start: the admin sees the console while sources open and probes run.
  const ui = renderConsole({ store: engine.store, intents: engine }, { color: colorWanted(process.env, globals.color) });
  try {
    try {
      await engine.start();
    } catch (err) {
      ui.unmount();
      await ui.waitUntilExit().catch(() => {});
      throw err;
    }
    await ui.waitUntilExit();
  } finally {
    // Close the pg pool, log watchers and command sources whichever way the console ended.
    await engine.stop();
  }
  return 0;
}
