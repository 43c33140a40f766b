import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startCluster, type PgCluster } from './helpers/pg-cluster.js';

describe('throwaway PostgreSQL cluster helper', () => {
  let cluster: PgCluster;
  afterAll(() => cluster?.destroy());

  it('starts on a free port, stops and restarts', async () => {
    cluster = await startCluster({ maxConnections: 5 });
    const client = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, database: 'postgres' });
    await client.connect();
    const res = await client.query<{ v: string }>('select current_setting($$max_connections$$) as v');
    expect(res.rows[0]?.v).toBe('5');
    await client.end();
    cluster.stop();
    expect(cluster.isRunning()).toBe(false);
    cluster.start();
    expect(cluster.isRunning()).toBe(true);
  });
});
