// Throwaway PostgreSQL clusters (the demo's own, and the tests' and benches'): initdb in a directory
// of ours, a free port on 127.0.0.1, trust auth; the demo adds database `healdb` owned by role `odoo`
// (the names of the recorded logs). Never touches the machine's clusters. As root, every PostgreSQL command runs as the `postgres` OS user through
// runuser (initdb and postgres refuse to run as root).
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import pg from 'pg';

export const DEMO_DB = 'healdb';
export const DEMO_DB_USER = 'odoo';

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Directory holding initdb and pg_ctl: $PG_BINDIR, Debian's /usr/lib/postgresql/<newest>/bin, then PATH. */
export function findPgBinDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates: string[] = [];
  if (env.PG_BINDIR) candidates.push(env.PG_BINDIR);
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    for (const v of readdirSync(base).sort((a, b) => Number(b) - Number(a))) candidates.push(join(base, v, 'bin'));
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !existsSync(join(dir, 'initdb'))) continue;
    try {
      candidates.push(dirname(realpathSync(join(dir, 'initdb'))));
    } catch {
      /* dangling link */
    }
  }
  return candidates.find((d) => executable(join(d, 'initdb')) && executable(join(d, 'pg_ctl')) && executable(join(d, 'postgres'))) ?? null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = (): boolean => process.getuid?.() === 0;
const PG_OS_USER = 'postgres';

export interface ClusterOptions {
  maxConnections?: number;
  superuserReserved?: number;
  /** Extra postgresql.conf lines. */
  settings?: string[];
}

/** A throwaway cluster on 127.0.0.1 with trust auth, superuser `postgres`. */
export interface ThrowawayCluster {
  host: string;
  port: number;
  user: string;
  database: string;
  dataDir: string;
  /** argv that starts the cluster (as the postgres OS user when we are root): the restart fix's command. */
  startArgv: string[];
  /** Executables startArgv needs in fixes.allowCommands. */
  allowCommands: string[];
  /** argv that runs pg_ctl for this cluster (waits; stop/restart are fast shutdowns). */
  pgCtlArgv(action: 'start' | 'stop' | 'restart' | 'status'): string[];
  start(): void;
  /** A clean stop (`-m fast` by default), like the outage in the recorded log. */
  stop(mode?: 'smart' | 'fast' | 'immediate'): void;
  /** SIGKILL the postmaster (a crash, not a clean stop); returns once it is gone. */
  kill(): void;
  isRunning(): boolean;
  /** Immediate stop, synchronous, never throws: used by cleanup and exit handlers. */
  shutdown(): void;
}

/** The demo's cluster: a throwaway cluster plus role `odoo` owning database `healdb`. */
export type DemoCluster = ThrowawayCluster;

function run(argv: string[]): void {
  const [cmd, ...args] = argv;
  const res = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0) {
    const why = (res.stderr || res.stdout || res.error?.message || '').trim().split('\n').slice(-2).join(' | ');
    throw new Error(`${argv.join(' ')} failed (exit ${res.status ?? res.signal}): ${why}`);
  }
}

function postmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * initdb + start in `<dir>` (which must not exist yet; its parent must be traversable by the
 * postgres OS user when we are root).
 */
export async function startThrowawayCluster(dir: string, binDir: string, opts: ClusterOptions = {}): Promise<ThrowawayCluster> {
  const asPg = (argv: string[]): string[] => (isRoot() ? ['runuser', '-u', PG_OS_USER, '--', ...argv] : argv);
  mkdirSync(dir, { mode: 0o700 });
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', PG_OS_USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', PG_OS_USER], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgresql.log');
  const port = await freePort();
  run(asPg([join(binDir, 'initdb'), '-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']));
  const confPath = join(dataDir, 'postgresql.conf');
  const extra = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${dir}'`,
    `max_connections = ${opts.maxConnections ?? 20}`,
    `superuser_reserved_connections = ${opts.superuserReserved ?? 1}`,
    'fsync = off',
    'shared_buffers = 16MB',
    ...(opts.settings ?? []),
  ];
  writeFileSync(confPath, `${readFileSync(confPath, 'utf8')}\n# odoo-heal throwaway cluster\n${extra.join('\n')}\n`);
  const pgCtl = (...args: string[]): string[] => asPg([join(binDir, 'pg_ctl'), '-D', dataDir, '-l', logFile, ...args]);
  const startArgv = pgCtl('-w', '-t', '30', 'start');
  const cluster: ThrowawayCluster = {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    dataDir,
    startArgv,
    allowCommands: isRoot() ? ['runuser'] : [join(binDir, 'pg_ctl')],
    pgCtlArgv: (action) =>
      action === 'start' ? startArgv : action === 'status' ? pgCtl('status') : pgCtl('-w', '-t', '30', '-m', 'fast', action),
    start: () => run(startArgv),
    stop: (mode = 'fast') => run(pgCtl('-w', '-t', '30', '-m', mode, 'stop')),
    kill: () => {
      const pid = postmasterPid(dataDir);
      if (pid === null) return;
      process.kill(pid, 'SIGKILL');
      const until = Date.now() + 10_000;
      while (alive(pid) && Date.now() < until) spawnSync('sleep', ['0.05']);
    },
    isRunning: () => {
      const [cmd, ...args] = pgCtl('status');
      return spawnSync(cmd!, args).status === 0;
    },
    shutdown: () => {
      try {
        if (cluster.isRunning()) run(pgCtl('-w', '-t', '20', '-m', 'immediate', 'stop'));
      } catch {
        // pg_ctl could not stop it: no postmaster may outlive its owner.
        const pid = postmasterPid(dataDir);
        if (pid !== null) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
    },
  };
  cluster.start();
  return cluster;
}

/** initdb + start + role/database in `<dir>` (which must not exist yet; its parent must be traversable). */
export async function startDemoCluster(dir: string, binDir: string): Promise<DemoCluster> {
  const cluster = await startThrowawayCluster(dir, binDir);
  try {
    const client = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      await client.query(`create role ${DEMO_DB_USER} login createdb`);
      await client.query(`create database ${DEMO_DB} owner ${DEMO_DB_USER}`);
    } finally {
      await client.end();
    }
  } catch (err) {
    cluster.shutdown();
    throw err;
  }
  return cluster;
}
