// `odoo-heal` with no command: the interactive console. It needs a real terminal; anything else
// (a pipe, systemd, cron) is pointed to the headless commands instead of getting garbage.
import { UsageError } from '../../engine/errors.js';
import type { GlobalOptions } from '../main.js';

const NOT_A_TERMINAL =
  'the console needs an interactive terminal; use `odoo-heal --auto` (headless), `odoo-heal check` or `odoo-heal detect`';

/** Ink (via is-in-ci, same test) draws only the final frame when it thinks it runs in CI. */
function looksLikeCi(env: NodeJS.ProcessEnv): boolean {
  const set = (key: string) => key in env && env[key] !== '0' && env[key] !== 'false';
  return set('CI') || set('CONTINUOUS_INTEGRATION');
}

export async function run(globals: GlobalOptions): Promise<number> {
  if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) throw new UsageError(NOT_A_TERMINAL);
  if (looksLikeCi(process.env)) {
    throw new UsageError('the console cannot draw live while CI variables are set (CI, CONTINUOUS_INTEGRATION); unset them or use `odoo-heal --auto`');
  }
  const { createEngine } = await import('../../engine/engine.js');
  const engine = await createEngine({ globals, mode: 'console' });
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
