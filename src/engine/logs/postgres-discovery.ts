// Where PostgreSQL writes its server log, asked of the server Odoo uses (config `logs.postgres:
// null`): with the logging collector on, the newest file of `log_directory` (relative to the data
// directory); without it, Debian's pg_ctlcluster log named after `cluster_name`
// (/var/log/postgresql/postgresql-15-main.log). Only files that exist on this host and that we can
// read are returned: a database in another container or host gives nothing, silently.
import { constants, type Dirent } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import pg from 'pg';
import type { OdooConf } from '../config/types.js';
import { pgClientConfig, pgTarget, pgTimeouts } from '../probes/pg-connect.js';

export interface PgLogSettings {
  loggingCollector: boolean;
  logDirectory: string | null;
  dataDirectory: string | null;
  logDestination: string | null;
  clusterName: string | null;
}

const SETTINGS = ['logging_collector', 'log_directory', 'data_directory', 'log_destination', 'cluster_name'];

/** The log settings of Odoo's server; null when it cannot be reached within `budgetMs`. */
export async function readPgLogSettings(odoo: OdooConf, budgetMs: number): Promise<PgLogSettings | null> {
  const client = new pg.Client(pgClientConfig(pgTarget(odoo), pgTimeouts(budgetMs)));
  client.on('error', () => {});
  try {
    await client.connect();
    // data_directory is visible to superusers and pg_read_all_settings only: missing otherwise.
    const res = await client.query<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings WHERE name = ANY($1)', [SETTINGS]);
    const get = (name: string): string | null => res.rows.find((r) => r.name === name)?.setting || null;
    return {
      loggingCollector: get('logging_collector') === 'on',
      logDirectory: get('log_directory'),
      dataDirectory: get('data_directory'),
      logDestination: get('log_destination'),
      clusterName: get('cluster_name'),
    };
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

async function readable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The log files these settings point at, that this host can read (newest first; at most one). */
export async function pgLogFiles(s: PgLogSettings, debianLogDir = '/var/log/postgresql'): Promise<string[]> {
  if (s.loggingCollector && s.logDirectory) {
    const dir = isAbsolute(s.logDirectory) ? s.logDirectory : s.dataDirectory ? join(s.dataDirectory, s.logDirectory) : null;
    if (dir) {
      let entries: Dirent[] = [];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return [];
      }
      const csvOnly = (s.logDestination ?? '').split(',').every((d) => d.trim() === 'csvlog');
      const wanted = entries.filter((e) => e.isFile() && (csvOnly ? e.name.endsWith('.csv') : e.name.endsWith('.log')));
      const dated = await Promise.all(
        wanted.map(async (e) => {
          const path = join(dir, e.name);
          return (await readable(path)) ? { path, mtime: (await stat(path)).mtimeMs } : null;
        }),
      );
      const newest = dated.filter((d): d is { path: string; mtime: number } => d !== null).sort((a, b) => b.mtime - a.mtime)[0];
      return newest ? [newest.path] : [];
    }
  }
  // Debian's pg_ctlcluster sends stderr to /var/log/postgresql/postgresql-<version>-<cluster>.log.
  const m = /^(\d+(?:\.\d+)?)\/([\w.-]+)$/.exec(s.clusterName ?? '');
  if (m) {
    const path = join(debianLogDir, `postgresql-${m[1]}-${m[2]}.log`);
    if (await readable(path)) return [path];
  }
  return [];
}

/** `logs.postgres` as configured, or discovered when it is null. */
export async function postgresLogs(configured: string[] | null, odoo: OdooConf, budgetMs: number): Promise<string[]> {
  if (configured) return configured;
  const settings = await readPgLogSettings(odoo, budgetMs);
  return settings ? pgLogFiles(settings) : [];
}
