// `odoo-heal` with no command: the interactive console. It needs a real terminal; anything else
// (a pipe, systemd, cron) is pointed to the headless commands instead of getting garbage.
import { setFlagsFromString } from 'node:v8';
import { UsageError } from '../../engine/errors.js';
import type { GlobalOptions } from '../main.js';

const NOT_A_TERMINAL =
  'the console needs an interactive terminal; use `odoo-heal --auto` (headless), `odoo-heal check` or `odoo-heal detect`';

/** Ink (via is-in-ci, same test) draws only the final frame when it thinks it runs in CI. */
function looksLikeCi(env: NodeJS.ProcessEnv): boolean {
  const set = (key: string) => key in env && env[key] !== '0' && env[key] !== 'false';
  return set('CI') || set('CONTINUOUS_INTEGRATION');
}

/**
 * Keeps V8's young generation at its initial size (1 MB per semi-space) for this process.
 *
 * Why: every Ink frame is a burst of short-lived strings and objects. V8 doubles the young
 * generation each time enough of them survive a scavenge, up to 2 x 16 MB, and hardly ever gives
 * it back: the console sat at ~125 MB RSS idle (target 90), 32 MB of it a mostly empty young
 * generation (93–100 MB with the flag). `--max-semi-space-size` is
 * only read when the heap is created, so setting it would need a second Node process (~40 MB by
 * itself) to re-exec with it, because Node 20 cannot exec in place. The growth factor, in
 * contrast, is read each time V8 considers growing, so setting it to 1 here takes effect at once.
 * The cost is more (small, cheap) scavenges; measured in bench/RESULTS.md. Only the console does
 * this: `detect` and `--auto` keep V8's defaults. If a Node version ignores the flag, nothing
 * breaks: the heap just grows as before.
 */
function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

export async function run(globals: GlobalOptions): Promise<number> {
  if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) throw new UsageError(NOT_A_TERMINAL);
  if (looksLikeCi(process.env)) {
    throw new UsageError('the console cannot draw live while CI variables are set (CI, CONTINUOUS_INTEGRATION); unset them or use `odoo-heal --auto`');
  }
  keepYoungGenerationSmall();
  const { createEngine } = await import('../../engine/engine.js');
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
