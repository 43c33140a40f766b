// odoo.conf is followed while odoo-heal runs: an admin adds an addons path, moves the log or the
// database and restarts Odoo; the console must not keep refusing fixes "outside the allowed roots"
// or probing the old database until it is restarted itself.
import type { OdooConf } from './types.js';

/** The keys whose change moves what odoo-heal watches (sources, roots, probes). */
const FOLLOWED: readonly (keyof OdooConf)[] = [
  'addonsPath',
  'dataDir',
  'logfile',
  'workers',
  'maxCronThreads',
  'dbHost',
  'dbPort',
  'dbUser',
  'dbPassword',
  'dbName',
  'dbMaxconn',
  'httpPort',
  'geventPort',
  'limitMemorySoft',
  'limitMemoryHard',
  'limitTimeCpu',
  'limitTimeReal',
];

/** odoo.conf keys that differ between two readings (values compared as JSON). */
export function changedOdooKeys(before: OdooConf, after: OdooConf): (keyof OdooConf)[] {
  return FOLLOWED.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}
