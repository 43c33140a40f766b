// A temp "deployment" for the console / --auto / check benches: odoo.conf pointing at a throwaway
// PostgreSQL and a log file, and an odoo-heal YAML config whose state lives in the temp dir.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes `<dir>/odoo.conf` and `<dir>/config.yaml`; returns their paths and the log path.
 * `commands: []` keeps journald out (the bench follows exactly one file); everything else is the
 * built-in default (probes every 5 s, default services and thresholds).
 */
export function writeDeployment(dir, { pg, logfile = join(dir, 'odoo.log'), addonsPath = [] } = {}) {
  mkdirSync(join(dir, 'state'), { recursive: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  const odooConf = join(dir, 'odoo.conf');
  writeFileSync(
    odooConf,
    [
      '[options]',
      `addons_path = ${addonsPath.join(',')}`,
      `data_dir = ${join(dir, 'data')}`,
      `logfile = ${logfile}`,
      ...(pg ? [`db_host = ${pg.host}`, `db_port = ${pg.port}`, 'db_user = postgres', 'db_password = False'] : []),
      // Nothing listens here: the HTTP probe gets a quick "connection refused", not a timeout.
      'http_port = 1',
      '',
    ].join('\n'),
  );
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    ['logs:', '  commands: []', 'paths:', `  stateDir: ${join(dir, 'state')}`, ''].join('\n'),
  );
  return { odooConf, config, logfile };
}
