// An in-process Engine for benches: the real Engine class from dist/, following the given sources,
// with probes pointed away from the machine's own services (a closed port for PostgreSQL, no
// services, no endpoints) and its state in a temp dir.
import { join } from 'node:path';
import { distImport, patternsDir } from './dist.mjs';
import { freePort } from './pg.mjs';

export async function benchEngine({ dir, sources, pg = null }) {
  const { Engine } = await distImport('engine/run/engine.js');
  const { defaultConfig, defaultOdooConf, derivePaths } = await distImport('engine/config/defaults.js');
  const config = defaultConfig({ env: {}, isRoot: false, home: dir });
  config.services = [];
  config.endpoints = [];
  config.logs.commands = [];
  config.paths = derivePaths(join(dir, 'state'));
  const odoo = { ...defaultOdooConf(), dbHost: pg?.host ?? '127.0.0.1', dbPort: pg?.port ?? (await freePort()), httpPort: 1 };
  return new Engine({ config, odoo, patternsDir, mode: 'console', sources });
}

/** Sum of `count` over pattern incidents (what `detect` reports as matches). */
export function patternMatches(state) {
  let n = 0;
  for (const i of Object.values(state.incidents)) if (i.origin.kind === 'pattern') n += i.count;
  return n;
}
