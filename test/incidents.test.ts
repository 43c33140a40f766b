import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IncidentBook, worstSeverity } from '../src/engine/incidents/incidents.js';
import { parseText } from '../src/engine/logs/parser.js';
import type { Finding, Pattern, PatternMatch } from '../src/engine/core/types.js';

const perm: Pattern = {
  id: 'permission-denied',
  title: 'Permission denied',
  severity: 'critical',
  category: 'permission',
  hint: 'chown',
  match: { exception: "Permission denied: '(?<path>[^']+)'" },
  fingerprint: ['path'],
  fix: { id: 'permissions', params: { path: '${path}', note: 'on ${path}' }, unattended: true },
};
const info: Pattern = { ...perm, id: 'retry', severity: 'info', fingerprint: [], fix: undefined };

function match(pattern: Pattern, captures: Record<string, string>, time: string): PatternMatch {
  const record = parseText(`${time} 1 ERROR db odoo.http: boom `, 's')[0]!;
  return { pattern, captures, record };
}

const finding = (key: string, severity: Finding['severity'] = 'warning'): Finding => ({
  key,
  severity,
  title: `t ${key}`,
  detail: 'd',
  hint: 'h',
  category: 'disk',
});

describe('IncidentBook', () => {
  it('groups matches by pattern id + fingerprint captures and derives a stable id', () => {
    const book = new IncidentBook();
    const a = book.addMatch(match(perm, { path: '/fs/db' }, '2026-11-28 20:00:05,000'), 99);
    book.addMatch(match(perm, { path: '/fs/db' }, '2026-11-28 20:00:01,000'), 99);
    book.addMatch(match(perm, { path: '/fs/db' }, '2026-11-28 20:00:09,000'), 99);
    const b = book.addMatch(match(perm, { path: '/fs/other' }, '2026-11-28 20:00:00,000'), 99);
    expect(a.fingerprint).toBe('permission-denied|path=/fs/db');
    expect(a.id).toBe(`i-${createHash('sha1').update(a.fingerprint).digest('hex').slice(0, 8)}`);
    expect(a).toMatchObject({
      count: 3,
      firstSeen: Date.UTC(2026, 10, 28, 20, 0, 1),
      lastSeen: Date.UTC(2026, 10, 28, 20, 0, 9),
      status: 'open',
      fix: { id: 'permissions', params: { path: '/fs/db', note: 'on /fs/db' }, unattended: true },
    });
    expect(a.sample?.lines[0]).toContain('20:00:05');
    expect(b.id).not.toBe(a.id);
    expect(book.find(a.id)).toBe(a);
    expect(book.find('permission-denied|path=/fs/other')).toBe(b);
    expect(book.find('permission-denied')).toBe(a); // most recent of the pattern
  });

  it('opens, resolves and reopens probe incidents from successive findings', () => {
    const book = new IncidentBook();
    let r = book.applyFindings('disk', [finding('root-full', 'critical'), finding('inodes')], 1000);
    expect(r.opened.map((i) => i.fingerprint)).toEqual(['probe:disk:root-full', 'probe:disk:inodes']);
    expect(r.resolved).toEqual([]);
    r = book.applyFindings('disk', [finding('root-full', 'critical')], 2000);
    expect(r.opened).toEqual([]);
    expect(r.resolved.map((i) => i.fingerprint)).toEqual(['probe:disk:inodes']);
    expect(book.find('probe:disk:inodes')).toMatchObject({ status: 'resolved', resolvedAt: 2000 });
    // Other probes' incidents are untouched by a disk result.
    book.applyFindings('memory', [finding('swap')], 2500);
    r = book.applyFindings('disk', [finding('inodes'), finding('root-full', 'critical')], 3000);
    expect(r.opened.map((i) => i.fingerprint)).toEqual(['probe:disk:inodes']);
    expect(book.find('probe:disk:inodes')).toMatchObject({ status: 'open', resolvedAt: null, count: 2, firstSeen: 1000, lastSeen: 3000 });
    expect(book.find('probe:memory:swap')?.status).toBe('open');
  });

  it('snoozes until a time, resolves, and reopens a pattern incident only on a newer record', () => {
    const book = new IncidentBook();
    const i = book.addMatch(match(perm, { path: '/x' }, '2026-11-28 20:00:00,000'), 0);
    book.snooze(i.id, 5000);
    expect(book.get(i.id)?.status).toBe('snoozed');
    book.list(4999);
    expect(book.get(i.id)?.status).toBe('snoozed');
    book.list(5000);
    expect(book.get(i.id)?.status).toBe('open');
    const resolvedAt = Date.UTC(2026, 10, 28, 20, 0, 30);
    book.resolve(i.id, resolvedAt);
    book.addMatch(match(perm, { path: '/x' }, '2026-11-28 20:00:10,000'), 0); // old record read late
    expect(book.get(i.id)).toMatchObject({ status: 'resolved', count: 2 });
    book.addMatch(match(perm, { path: '/x' }, '2026-11-28 20:01:00,000'), 0);
    expect(book.get(i.id)).toMatchObject({ status: 'open', resolvedAt: null, count: 3 });
  });

  it('lists active incidents by severity then recency, and round-trips through JSON', () => {
    const book = new IncidentBook();
    const low = book.addMatch(match(info, {}, '2026-11-28 20:00:09,000'), 0);
    const old = book.addMatch(match(perm, { path: '/a' }, '2026-11-28 20:00:01,000'), 0);
    const recent = book.addMatch(match(perm, { path: '/b' }, '2026-11-28 20:00:05,000'), 0);
    const gone = book.applyFindings('network', [finding('x', 'critical')], Date.UTC(2027, 0, 1)).opened[0]!;
    book.resolve(gone.id, Date.UTC(2027, 0, 2));
    expect(book.list().map((i) => i.id)).toEqual([recent.id, old.id, low.id, gone.id]);
    expect(worstSeverity(book.list())).toBe('critical');
    const copy = IncidentBook.fromJSON(JSON.parse(JSON.stringify(book)));
    expect(copy.list()).toEqual(book.list());
    expect(() => IncidentBook.fromJSON({ version: 2 })).toThrow(/version/);
  });

  it('raises engine incidents that probe results do not resolve', () => {
    const book = new IncidentBook();
    const i = book.raise(finding('escalation:gave-up:x', 'critical'), 10);
    book.applyFindings('process', [], 20);
    expect(book.get(i.id)).toMatchObject({ status: 'open', fingerprint: 'engine:escalation:gave-up:x' });
    expect(book.raise(finding('escalation:gave-up:x', 'critical'), 30).count).toBe(2);
  });
});
