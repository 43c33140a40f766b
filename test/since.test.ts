import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/engine/core/errors.js';
import { parseSince } from '../src/engine/core/since.js';

const NOW = Date.UTC(2026, 10, 28, 20, 0, 0);

describe('parseSince', () => {
  it('reads durations back from now', () => {
    expect(parseSince('2h', NOW)).toBe(NOW - 2 * 3_600_000);
    expect(parseSince('30m', NOW)).toBe(NOW - 30 * 60_000);
    expect(parseSince('1d', NOW)).toBe(NOW - 86_400_000);
    expect(parseSince('45s', NOW)).toBe(NOW - 45_000);
  });

  it('reads ISO dates and times, zone-less as UTC like Odoo log times', () => {
    expect(parseSince('2026-11-28', NOW)).toBe(Date.UTC(2026, 10, 28));
    expect(parseSince('2026-11-28 19:55', NOW)).toBe(Date.UTC(2026, 10, 28, 19, 55));
    expect(parseSince('2026-11-28T19:55:10.250Z', NOW)).toBe(Date.UTC(2026, 10, 28, 19, 55, 10, 250));
    expect(parseSince('2026-11-28T19:55:00+01:00', NOW)).toBe(Date.UTC(2026, 10, 28, 18, 55));
    expect(parseSince('2026-11-28 19:55:00,123', NOW)).toBe(Date.UTC(2026, 10, 28, 19, 55, 0, 123));
  });

  it('rejects anything else with a usage error naming the option', () => {
    for (const bad of ['', 'yesterday', '2h30', '2026-13-01', '5y']) {
      expect(() => parseSince(bad, NOW)).toThrow(UsageError);
      expect(() => parseSince(bad, NOW)).toThrow(/^--since: expected/);
    }
  });
});
