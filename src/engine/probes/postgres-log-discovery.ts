// Where PostgreSQL writes its server log, asked of the server Odoo uses (config `logs.postgres:
// null`): with the logging collector on, the newest file of `log_directory` (relative to the data
// directory); without it, Debian's pg_ctlcluster log named after `cluster_name`
// (/var/log/postgresql/postgresql-15-main.log). Only files that exist on this host and that we can
// read are returned: a database in another container or host gives nothing, silently.
import { constants, type Dirent } from 'node:fs';
import { access, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import pg from 'pg';
import type { OdooConf } from '../config/types.js';
import { pgClientConfig, pgTarget, pgTimeouts } from './pg-connect.js';

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

/**
 * The postmaster listening on `port` on this host: its pid and data directory, from the
 * postmaster.pid (1st line its pid, 4th its port) under each postgres process's working directory.
 * Lets root find what a role that may not read `data_directory` or `log_directory` (Odoo's,
 * usually: both are superuser-only settings) cannot ask.
 */
export async function localPostmaster(port: number, proc = '/proc'): Promise<{ pid: number; dataDir: string } | null> {
  let pids: string[];
  try {
    pids = (await readdir(proc)).filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  for (const pid of pids) {
    try {
      const comm = (await readFile(join(proc, pid, 'comm'), 'utf8')).trim();
      if (comm !== 'postgres' && comm !== 'postmaster') continue;
      const cwd = await readlink(join(proc, pid, 'cwd'));
      const lines = (await readFile(join(cwd, 'postmaster.pid'), 'utf8')).split('\n');
      if (lines[0]?.trim() === pid && Number(lines[3]) === port) return { pid: Number(pid), dataDir: cwd };
    } catch {
      // Not ours to read, or gone: next.
    }
  }
  return null;
}

/** The log files the logging collector of `postmaster` has open right now (the current ones, after any rotation). */
export async function collectorFiles(postmaster: number, proc = '/proc'): Promise<string[]> {
  let pids: string[];
  try {
    pids = (await readdir(proc)).filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  for (const pid of pids) {
    try {
      const stat = await readFile(join(proc, pid, 'stat'), 'utf8');
      // `pid (comm) state ppid ...`: comm may hold spaces, so read after its closing parenthesis.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== postmaster) continue;
      if (!(await readFile(join(proc, pid, 'cmdline'), 'utf8')).includes('logger')) continue;
      const out: string[] = [];
      // 0-2 are the stdio it inherited (pg_ctl's -l file): not what it writes the log to.
      for (const fd of (await readdir(join(proc, pid, 'fd'))).filter((f) => Number(f) > 2)) {
        const target = await readlink(join(proc, pid, 'fd', fd)).catch(() => '');
        if (/\.(?:log|csv)$/.test(target) && (await readable(target))) out.push(target);
      }
      return [...new Set(out)].sort((a, b) => Number(b.endsWith('.log')) - Number(a.endsWith('.log')));
    } catch {
      // Gone or not readable: next.
    }
  }
  return [];
}

/** The log files these settings point at, that this host can read (newest first; at most one). */
export async function pgLogFiles(s: PgLogSettings, debianLogDir = '/var/log/postgresql', port: number | null = null): Promise<string[]> {
  if (s.loggingCollector && (s.logDirectory === null || (!isAbsolute(s.logDirectory) && s.dataDirectory === null)) && port !== null) {
    // Settings this role may not read: ask the collector process itself, when it runs here.
    const pm = await localPostmaster(port);
    const open = pm ? await collectorFiles(pm.pid) : [];
    if (open.length > 0) return [open[0]!];
  }
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
  if (!settings) return [];
  const target = pgTarget(odoo);
  const local = target.host.startsWith('/') || target.host === '127.0.0.1' || target.host === 'localhost' || target.host === '::1';
  return pgLogFiles(settings, undefined, local ? target.port : null);
}
