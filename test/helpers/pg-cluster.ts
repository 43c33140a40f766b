// A throwaway PostgreSQL cluster for tests, on top of the runtime helper the demo uses: initdb in a
// temp dir, a free port, run as the `postgres` OS user when we are root (initdb refuses root).
// Never touches the machine's own clusters.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPgBinDir, startThrowawayCluster, type ClusterOptions, type ThrowawayCluster } from '../../src/demo/pg.js';

export { freePort } from '../../src/demo/pg.js';
export type { ClusterOptions };

export interface PgCluster extends ThrowawayCluster {
  /** Stops the cluster (however it is) and removes its directory. */
  destroy(): void;
}

export function pgBinDir(): string {
  const dir = findPgBinDir();
  if (!dir) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BINDIR');
  return dir;
}

export function havePostgres(): boolean {
  return findPgBinDir() !== null;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<PgCluster> {
  const root = mkdtempSync(join(tmpdir(), 'odoo-heal-pg-'));
  // The postgres OS user must reach the cluster directory inside it.
  chmodSync(root, 0o711);
  try {
    const cluster = await startThrowawayCluster(join(root, 'pg'), pgBinDir(), opts);
    return {
      ...cluster,
      destroy: () => {
        cluster.shutdown();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}
