import type { Level, LogRecord } from '../core/types.js';

/** The level a record states: Odoo's header, PostgreSQL's severity on Odoo's scale, or a raw
 * text's own (a pasted traceback is an ERROR); null for raw text that says nothing. */
export function statedLevel(record: LogRecord): Level | null {
  return record.kind === 'raw' ? (record.level ?? null) : record.level;
}
