// PostgreSQL's server log as a source of its own: real lines (a throwaway PostgreSQL 15 cluster
// provoked into each failure, see test/fixtures/postgres/MANIFEST.md, and public excerpts), its
// own patterns, the stderr format and csvlog alike, and the log found from the server's settings.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseText } from '../src/engine/logs/parser.js';
import { postgresLogs, readPgLogSettings } from '../src/engine/probes/postgres-log-discovery.js';
import { defaultPatternsDir, loadPatterns } from '../src/engine/patterns/load.js';
import { Matcher } from '../src/engine/patterns/matcher.js';
import { scanSources } from '../src/engine/patterns/scan.js';
import type { PostgresRecord } from '../src/engine/core/types.js';
import { testOdoo } from './helpers/config.js';
import { havePostgres, startCluster, type PgCluster } from './helpers/pg-cluster.js';

const PG = join(import.meta.dirname, 'fixtures', 'postgres');
const LOGS = join(import.meta.dirname, 'fixtures', 'logs');
const matcher = new Matcher(loadPatterns(defaultPatternsDir()));

async function incidents(path: string, postgres = true): Promise<Record<string, number>> {
  const r = await scanSources([path], matcher, { postgres: new Set(postgres ? [path] : []), parallelMinBytes: Infinity });
  expect(r.sources[0]!.error).toBeNull();
  return Object.fromEntries(r.book.list().map((i) => [i.fingerprint, i.count]));
}

const PROVOKED = {
  'pg-auth-failed|user=odoo': 1,
  'pg-auth-failed|user=nosuchrole': 1,
  'pg-role-missing|role=nosuchrole': 1,
  'pg-cron-row-locked|relation=ir_cron': 1,
  'pg-deadlock': 1,
  'pg-serialization-failure|cause=concurrent update': 1,
  'pg-too-many-clients': 2,
  'pg-admin-terminated': 1,
  'pg-not-accepting|state=shutting down': 1,
};

describe("PostgreSQL's server log", () => {
  it('reads Debian\'s `%m [%p] %q%u@%d ` prefix: severity, pid, user, database, follow-up lines', () => {
    const records = parseText(readFileSync(join(PG, 'pg15_stderr_debian_prefix.log'), 'utf8'), 'pg') as PostgresRecord[];
    expect(records.every((r) => r.kind === 'postgres')).toBe(true);
    const auth = records.find((r) => r.message.startsWith('password authentication failed for user "odoo"'))!;
    expect(auth).toMatchObject({ severity: 'FATAL', level: 'ERROR', user: 'odoo', db: 'odoo', time: Date.UTC(2026, 11, 2, 9, 10, 24, 878) });
    expect(auth.lines).toHaveLength(2); // + DETAIL: Connection matched pg_hba.conf line ...
    const startup = records.find((r) => r.message.startsWith('starting PostgreSQL'))!;
    expect(startup).toMatchObject({ severity: 'LOG', level: 'INFO', user: null, db: null });
  });

  it('gives each provoked failure its incident (stderr format)', async () => {
    expect(await incidents(join(PG, 'pg15_stderr_debian_prefix.log'))).toEqual(PROVOKED);
  });

  it('gives the same incidents from csvlog (quoted fields over several lines)', async () => {
    expect(await incidents(join(PG, 'pg15_csvlog.csv'))).toEqual(PROVOKED);
    const rows = parseText(readFileSync(join(PG, 'pg15_csvlog.csv'), 'utf8'), 'csv') as PostgresRecord[];
    const deadlock = rows.find((r) => r.message === 'deadlock detected')!;
    expect(deadlock.sqlstate).toBe('40P01');
    expect(deadlock.lines.join('\n')).toMatch(/DETAIL: {2}Process \d+ waits for ShareLock/);
  });

  it('reads public excerpts: the docker image prefix, and an empty prefix when the source is PostgreSQL\'s', async () => {
    expect(await incidents(join(PG, 'docker_pg13_starting_up.log'))).toEqual({ 'pg-not-accepting|state=starting up': 9 });
    const bare = join(PG, 'odoo_docker_346_ir_cron.log');
    expect(await incidents(bare)).toEqual({ 'pg-cron-row-locked|relation=ir_cron': 1 });
    // Without knowing the source, a bare `ERROR:  ...` line is only raw text: no PostgreSQL pattern.
    expect(await incidents(bare, false)).toEqual({});
  });

  it("PostgreSQL's patterns never match Odoo's records, nor Odoo's patterns PostgreSQL's", async () => {
    const odoo = await incidents(join(LOGS, 'too_many_db_connections.log'), false);
    expect(Object.keys(odoo).some((k) => k.startsWith('pg-'))).toBe(false);
    expect(Object.keys(odoo)).toContain('db-too-many-connections');
    const pgOnly = await incidents(join(PG, 'pg15_stderr_debian_prefix.log'));
    expect(Object.keys(pgOnly).every((k) => k.startsWith('pg-'))).toBe(true);
  });
});

describe.skipIf(!havePostgres())('the server log found from a live cluster', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startCluster({
      settings: ["logging_collector = on", "log_directory = 'log'", "log_filename = 'postgresql-%a.log'", "log_line_prefix = '%m [%p] %q%u@%d '"],
    });
  }, 60_000);
  afterAll(() => cluster?.destroy());

  it('finds log_directory under the data directory and reads what the server just logged', async () => {
    const odoo = testOdoo({ dbHost: cluster.host, dbPort: cluster.port, dbUser: 'postgres', dbName: 'postgres' });
    const settings = await readPgLogSettings(odoo, 3000);
    expect(settings).toMatchObject({ loggingCollector: true, logDirectory: 'log', dataDirectory: cluster.dataDir });
    // A client that logs in as a role the server does not know, as a misconfigured Odoo would.
    const ghost = new pg.Client({ host: cluster.host, port: cluster.port, user: 'ghost_role', database: 'postgres' });
    await expect(ghost.connect()).rejects.toThrow(/role "ghost_role" does not exist/);
    const files = await postgresLogs(null, odoo, 3000);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^${cluster.dataDir}/log/postgresql-\\w{3}\\.log$`));
    // The collector writes asynchronously: wait for the line.
    const until = Date.now() + 10_000;
    while (!readFileSync(files[0]!, 'utf8').includes('ghost_role') && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(await incidents(files[0]!)).toMatchObject({ 'pg-role-missing|role=ghost_role': 1 });
  });

  it.skipIf(process.getuid?.() !== 0)("with Odoo's usual non-superuser role (log_directory hidden), finds the file the collector has open", async () => {
    const admin = new pg.Client({ host: cluster.host, port: cluster.port, user: 'postgres', database: 'postgres' });
    await admin.connect();
    await admin.query('CREATE ROLE odoo_like LOGIN');
    await admin.end();
    const odoo = testOdoo({ dbHost: cluster.host, dbPort: cluster.port, dbUser: 'odoo_like', dbName: 'postgres' });
    expect(await readPgLogSettings(odoo, 3000)).toMatchObject({ loggingCollector: true, logDirectory: null, dataDirectory: null });
    const files = await postgresLogs(null, odoo, 3000);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^${cluster.dataDir}/log/postgresql-\\w{3}\\.log$`));
  });

  it('an explicit logs.postgres list is used as given, without asking the server', async () => {
    const unreachable = testOdoo({ dbHost: '127.0.0.1', dbPort: 1, dbUser: 'x' });
    expect(await postgresLogs(['/some/file.log'], unreachable, 500)).toEqual(['/some/file.log']);
    expect(await postgresLogs(null, unreachable, 500)).toEqual([]);
  });
});
