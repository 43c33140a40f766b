// A throwaway PostgreSQL cluster for the benches: the same runtime module the demo and the tests use
// (dist/demo/pg.js), in a temp dir on a free port, as the `postgres` OS user when we run as root.
// BENCH_PG=host:port reuses a cluster someone else started (bench/run.mjs shares one across benches).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distImport } from './dist.mjs';

const pgModule = () => distImport('demo/pg.js');

export async function havePostgres() {
  return (await pgModule()).findPgBinDir() !== null;
}

export async function freePort() {
  return (await pgModule()).freePort();
}

/** Starts a cluster; `{host, port, destroy()}`. With BENCH_PG set, returns that one (destroy is a no-op). */
export async function startCluster({ maxConnections = 20 } = {}) {
  const shared = process.env.BENCH_PG;
  if (shared) {
    const [host, port] = shared.split(':');
    return { host, port: Number(port), shared: true, destroy() {} };
  }
  const { findPgBinDir, startThrowawayCluster } = await pgModule();
  const bin = findPgBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BINDIR');
  const root = mkdtempSync(join(tmpdir(), 'odoo-heal-bench-pg-'));
  chmodSync(root, 0o711);
  const cluster = await startThrowawayCluster(join(root, 'pg'), bin, { maxConnections });
  return {
    host: cluster.host,
    port: cluster.port,
    shared: false,
    destroy() {
      cluster.shutdown();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
