// `--since`: an ISO date/time or a duration back from now. Times without a zone are read as UTC,
// like Odoo's log timestamps (see parser.ts), so `--since "2026-11-28 19:55"` lines up with the log.
import { UsageError } from './errors.js';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(\d+(?:\.\d+)?)\s*([smhdw])$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,3})\d*)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** Epoch ms for `value` (e.g. `2h`, `30m`, `1d`, `2026-11-28`, `2026-11-28T19:55:00+01:00`). */
export function parseSince(value: string, now: number): number {
  const v = value.trim();
  const d = DURATION.exec(v);
  if (d) return now - Number(d[1]) * UNIT_MS[d[2]!]!;
  const m = ISO.exec(v);
  if (m) {
    const [, y, mo, day, h = '0', mi = '0', s = '0', ms = '0', zone] = m;
    const month = Number(mo);
    const date = Number(day);
    if (month >= 1 && month <= 12 && date >= 1 && date <= 31 && Number(h) < 24 && Number(mi) < 60 && Number(s) < 61) {
      let t = Date.UTC(Number(y), month - 1, date, Number(h), Number(mi), Number(s), Number(ms.padEnd(3, '0')));
      if (zone && zone.toUpperCase() !== 'Z') {
        const sign = zone.startsWith('-') ? -1 : 1;
        const digits = zone.slice(1).replace(':', '');
        t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
      }
      return t;
    }
  }
  throw new UsageError(
    `--since: expected an ISO date/time (2026-11-28, 2026-11-28T19:55, 2026-11-28T19:55:00Z) or a duration (30m, 2h, 1d), got "${value}"`,
  );
}
