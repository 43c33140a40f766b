// A throwaway PostgreSQL cluster for tests: initdb in a temp dir, a free port, started and stopped
// with pg_ctl as a non-root user (initdb refuses root). Never touches the machine's own clusters.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgCluster {
  host: string;
  port: number;
  user: string;
  database: string;
  dataDir: string;
  /** argv that runs pg_ctl for this cluster (as the cluster's OS user), e.g. for restart fixes. */
  pgCtlArgv(action: 'start' | 'stop' | 'restart' | 'status'): string[];
  start(): void;
  stop(mode?: 'smart' | 'fast' | 'immediate'): void;
  /** SIGKILL the postmaster (crash, not a clean stop). */
  kill(): void;
  isRunning(): boolean;
  /** Stops the cluster and removes its directory. */
  destroy(): void;
}

function findBinDir(): string {
  const fromEnv = process.env.PG_BINDIR;
  if (fromEnv && existsSync(join(fromEnv, 'initdb'))) return fromEnv;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = join(base, v, 'bin');
      if (existsSync(join(dir, 'initdb'))) return dir;
    }
  }
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BINDIR');
}

export function pgBinDir(): string {
  return findBinDir();
}

export function havePostgres(): boolean {
  try {
    findBinDir();
    return true;
  } catch {
    return false;
  }
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

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const OS_USER = process.env.PG_TEST_OS_USER ?? 'postgres';

/** Prefix that runs a command as the cluster's OS user when we are root. */
function asUser(argv: string[]): string[] {
  return isRoot ? ['runuser', '-u', OS_USER, '--', ...argv] : argv;
}

function run(argv: string[]): void {
  const [cmd, ...args] = argv;
  const res = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0) {
    throw new Error(`${argv.join(' ')} failed (${res.status}): ${res.stderr || res.stdout}`);
  }
}

export interface ClusterOptions {
  maxConnections?: number;
  superuserReserved?: number;
  /** Extra postgresql.conf lines. */
  settings?: string[];
}

export async function startCluster(opts: ClusterOptions = {}): Promise<PgCluster> {
  const bin = findBinDir();
  const root = mkdtempSync(join(tmpdir(), 'odoo-heal-pg-'));
  const dataDir = join(root, 'data');
  const sockDir = root;
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', OS_USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', OS_USER], { encoding: 'utf8' }).trim());
    chownSync(root, uid, gid);
  }
  const port = await freePort();
  run(asUser([join(bin, 'initdb'), '-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']));
  const conf = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${sockDir}'`,
    `max_connections = ${opts.maxConnections ?? 20}`,
    `superuser_reserved_connections = ${opts.superuserReserved ?? 1}`,
    `fsync = off`,
    `shared_buffers = 16MB`,
    ...(opts.settings ?? []),
  ];
  const confPath = join(dataDir, 'postgresql.conf');
  writeFileSync(confPath, `${readFileSync(confPath, 'utf8')}\n${conf.join('\n')}\n`);
  const logFile = join(root, 'server.log');
  const pgCtl = (action: string, extra: string[] = []): string[] =>
    asUser([join(bin, 'pg_ctl'), '-D', dataDir, '-l', logFile, '-w', '-t', '30', ...extra, action]);

  const cluster: PgCluster = {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    dataDir,
    pgCtlArgv: (action) => pgCtl(action, action === 'stop' || action === 'restart' ? ['-m', 'fast'] : []),
    start: () => run(pgCtl('start')),
    stop: (mode = 'fast') => run(pgCtl('stop', ['-m', mode])),
    kill: () => {
      const pidFile = join(dataDir, 'postmaster.pid');
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      // Wait for the postmaster to be gone; its children exit when they notice.
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        spawnSync('sleep', ['0.05']);
      }
    },
    isRunning: () => {
      const [cmd, ...args] = asUser([join(bin, 'pg_ctl'), '-D', dataDir, 'status']);
      return spawnSync(cmd!, args).status === 0;
    },
    destroy: () => {
      try {
        if (cluster.isRunning()) run(pgCtl('stop', ['-m', 'immediate']));
      } catch {
        // pg_ctl failed: make sure no postmaster outlives the test run anyway.
        try {
          cluster.kill();
        } catch {
          /* no pid file: not running */
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  cluster.start();
  return cluster;
}
