// `odoo-heal rollback <attempt-id>`: undo a fix attempt later, from another process. Refuses when a
// file changed since the fix (unless --force); restores byte-identical content checked by sha256.
import { currentWho } from '../../engine/state/audit.js';
import { loadConfig } from '../../engine/config/load.js';
import { acquireLock } from '../../engine/state/lock.js';
import { rollbackAttempt } from '../../fixes/attempts.js';
import { probeOnce } from '../../fixes/probe-once.js';
import type { GlobalOptions } from '../global-options.js';
import { print, printErr, printJson } from '../output.js';

export async function run(globals: GlobalOptions, id: string, opts: { force?: boolean; json?: boolean }): Promise<number> {
  const { config, odoo, warnings } = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig });
  for (const w of warnings) printErr(`odoo-heal: ${w}\n`);
  const { getFix } = await import('../../fixes/registry.js');
  // Only one odoo-heal acts at a time: a rollback racing an unattended fix would be a mess.
  const lock = await acquireLock(config.paths.stateDir);
  try {
    if (lock.tookOver) printErr(`odoo-heal: took over a stale lock (${lock.tookOver.reason})\n`);
    const res = await rollbackAttempt(id, {
      force: !!opts.force,
      who: currentWho(),
      deps: { config, odoo, probe: probeOnce(config, odoo) },
      getFix: (fixId) => getFix(fixId) ?? null,
    });
    if (opts.json) {
      printJson({ id, outcome: res.record.outcome, restored: res.restored, notes: res.notes, message: res.record.message });
    } else {
      print(`${id}: rolled back\n`);
      for (const p of res.restored) print(`  restored ${p} (sha256 checked)\n`);
      for (const n of res.notes) print(`  note: ${n}\n`);
    }
    return 0;
  } finally {
    await lock.release();
  }
}
