// Whether Odoo's scheduled actions are running, asked of the database itself: when Odoo's cron
// threads or workers are dead, active jobs stay due (ir_cron.nextcall in the past) and nothing moves
// them. Odoo's cron loop wakes every 60 s and a long job can hold a thread for minutes, so only jobs
// due for longer than OVERDUE_MINUTES count.
import { dbNames, withPgClient } from '../../engine/probes/pg-connect.js';
import type { FixContext } from '../types.js';
import type { Confirmation } from './confirm.js';

export const OVERDUE_MINUTES = 15;

// nextcall is a UTC timestamp without time zone in every Odoo version that has ir_cron.nextcall.
const OVERDUE_SQL = `SELECT count(*)::int AS overdue,
  coalesce(floor(extract(epoch FROM (now() AT TIME ZONE 'UTC') - min(nextcall)) / 60), 0)::int AS late_minutes
FROM ir_cron WHERE active AND nextcall < (now() AT TIME ZONE 'UTC') - make_interval(mins => $1)`;

export async function cronOverdue(ctx: FixContext): Promise<Confirmation> {
  const checkedAt = Date.now();
  const names = dbNames(ctx.odoo.dbName);
  const check = 'scheduled-actions check (ir_cron.nextcall)';
  if (names.length !== 1) {
    return { confirmed: false, check, observed: 'cannot tell whether scheduled actions run: db_name in odoo.conf is not one database', checkedAt };
  }
  try {
    const row = await withPgClient(ctx.odoo, { budgetMs: 5000, applicationName: 'odoo-heal cron check' }, async (client) => {
      const res = await client.query<{ overdue: number; late_minutes: number }>(OVERDUE_SQL, [OVERDUE_MINUTES]);
      return res.rows[0] ?? { overdue: 0, late_minutes: 0 };
    });
    if (row.overdue > 0) {
      return { confirmed: true, check, observed: `${row.overdue} active scheduled action(s) in ${names[0]} overdue by more than ${OVERDUE_MINUTES} min (oldest ${row.late_minutes} min)`, checkedAt };
    }
    return { confirmed: false, check, observed: `no active scheduled action in ${names[0]} is overdue by more than ${OVERDUE_MINUTES} min: cron runs`, checkedAt };
  } catch (err) {
    return { confirmed: false, check, observed: `cannot read ir_cron in ${names[0]} (${err instanceof Error ? err.message : String(err)})`, checkedAt };
  }
}
