// Which databases Odoo serves: odoo.conf's db_name (one or several), else what Odoo's own
// database list would show (odoo/service/db.py list_dbs: owned by db_user, not templates, not
// `postgres`), capped so a server hosting hundreds of databases still gets a bounded round.
import type pg from 'pg';
import type { OdooConf } from '../../config/types.js';
import { dbNames } from '../pg-connect.js';

export const MAX_DATABASES = 20;

const LIST_SQL = `
select datname from pg_database
 where datdba = (select oid from pg_roles where rolname = current_user)
   and not datistemplate and datallowconn and datname <> 'postgres'
 order by datname
 limit ${MAX_DATABASES + 1}`;

export interface ServedDatabases {
  names: string[];
  /** More databases than MAX_DATABASES: only the first ones are looked at. */
  truncated: boolean;
  source: 'db_name' | 'list';
}

/** `client` is connected to any database of the server (the probe's maintenance connection). */
export async function servedDatabases(odoo: OdooConf, client: pg.ClientBase): Promise<ServedDatabases> {
  const named = dbNames(odoo.dbName);
  if (named.length > 0) return { names: named.slice(0, MAX_DATABASES), truncated: named.length > MAX_DATABASES, source: 'db_name' };
  const res = await client.query<{ datname: string }>(LIST_SQL);
  const names = res.rows.map((r) => r.datname);
  return { names: names.slice(0, MAX_DATABASES), truncated: names.length > MAX_DATABASES, source: 'list' };
}
