// The Alertmanager channel against a real Alertmanager (Debian's prometheus-alertmanager) on
// 127.0.0.1: alerts arrive with their labels, are grouped into one notification, are re-sent while
// active, and resolve with endsAt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertmanagerSink } from '../src/engine/outputs/alerts/alertmanager.js';
import type { AlertLogEvent } from '../src/engine/outputs/alerts/dispatcher.js';
import type { Incident } from '../src/engine/core/types.js';
import { startReceiver, type AlertReceiver } from './helpers/alert-receiver.js';
import { missingTools, startAlertmanager, type Server } from './helpers/prom-tools.js';

const skip = missingTools('alertmanager');

function incident(id: string, over: Partial<Incident> = {}): Incident {
  const now = Date.now();
  return {
    id,
    fingerprint: `database-unreachable|${id}`,
    origin: { kind: 'pattern', patternId: 'database-unreachable', captures: {} },
    title: `PostgreSQL is unreachable (${id})`,
    severity: 'critical',
    category: 'database',
    hint: 'Start PostgreSQL.',
    status: 'open',
    count: 3,
    firstSeen: now - 5000,
    lastSeen: now,
    sample: null,
    detail: '',
    fix: { id: 'restart-service', params: { service: 'postgresql' }, unattended: true },
    resolvedAt: null,
    snoozedUntil: null,
    rootId: null,
    ...over,
  };
}

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  endsAt: string;
  updatedAt: string;
  status: { state: string };
}

interface Notification {
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  alerts: Array<{ status: string; labels: Record<string, string>; endsAt: string }>;
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skip !== null)(`Alertmanager channel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let am: Server;
  let receiver: AlertReceiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    am = await startAlertmanager(`
route:
  receiver: hook
  group_by: [instance]
  group_wait: 3s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: ${receiver.url('/am')}
        send_resolved: true
`);
  }, 30_000);

  afterAll(async () => {
    await am?.stop();
    await receiver?.close();
  });

  it('fires grouped, re-sends while active, and resolves with endsAt', async () => {
    const log: AlertLogEvent[] = [];
    const sink = createAlertmanagerSink([{ kind: 'alertmanager', url: am.url, minSeverity: 'warning', resendMs: 1000 }], {
      log: (e) => log.push(e),
      host: 'odoo-1.example',
      batchMs: 50,
    });
    const a = incident('i-0000000a');
    const b = incident('i-0000000b', { severity: 'warning', origin: { kind: 'probe', probe: 'database', key: 'down' }, title: 'database probe failing' });
    const quiet = incident('i-0000000c', { severity: 'info', title: 'below the target minimum' });
    sink.notify({ kind: 'opened', incident: a, at: Date.now() });
    sink.notify({ kind: 'opened', incident: b, at: Date.now() });
    sink.notify({ kind: 'opened', incident: quiet, at: Date.now() });

    const active = await until('both alerts in Alertmanager', async () => {
      const res = await fetch(`${am.url}/api/v2/alerts`);
      const list = (await res.json()) as AmAlert[];
      return list.length === 2 ? list : undefined;
    });
    const byIncident = Object.fromEntries(active.map((x) => [x.labels['incident'], x]));
    expect(byIncident['i-0000000a']!.labels).toMatchObject({
      alertname: 'OdooHealIncident',
      instance: 'odoo-1.example',
      severity: 'critical',
      pattern: 'database-unreachable',
      kind: 'pattern',
    });
    expect(byIncident['i-0000000a']!.annotations).toMatchObject({ title: a.title, hint: 'Start PostgreSQL.', fix: 'restart-service' });
    expect(byIncident['i-0000000b']!.labels).toMatchObject({ severity: 'warning', pattern: 'probe:database', kind: 'probe' });
    // Active alerts carry an endsAt ahead of now, so they lapse if odoo-heal dies.
    for (const x of active) expect(Date.parse(x.endsAt)).toBeGreaterThan(Date.now());

    // One notification for the group, with both alerts firing.
    const firing = await until('a firing notification', () => {
      const n = receiver.received.map((r) => r.body as Notification).find((x) => x.status === 'firing');
      return n;
    });
    expect(firing.groupLabels).toEqual({ instance: 'odoo-1.example' });
    expect(firing.alerts.map((x) => x.labels['incident']).sort()).toEqual(['i-0000000a', 'i-0000000b']);

    // Re-sent while active (the contract: Alertmanager forgets alerts that are not refreshed).
    await until('a re-send', () => (log.filter((e) => e.event === 'alert.sent').length >= 3 ? true : undefined), 8000);
    expect(log.filter((e) => e.event === 'alert.failed')).toEqual([]);

    const resolvedAt = Date.now();
    sink.notify({ kind: 'resolved', incident: { ...a, status: 'resolved', resolvedAt }, at: resolvedAt });
    sink.notify({ kind: 'resolved', incident: { ...b, status: 'resolved', resolvedAt }, at: resolvedAt });
    const resolved = await until('a resolved notification', () =>
      receiver.received.map((r) => r.body as Notification).find((x) => x.status === 'resolved'),
    );
    expect(resolved.alerts.map((x) => x.labels['incident']).sort()).toEqual(['i-0000000a', 'i-0000000b']);
    for (const x of resolved.alerts) expect(Math.abs(Date.parse(x.endsAt) - resolvedAt)).toBeLessThan(1000);
    const left = (await (await fetch(`${am.url}/api/v2/alerts?active=true`)).json()) as AmAlert[];
    expect(left).toEqual([]);
    await sink.close(2000);
  }, 40_000);

  it('reports a refused post as alert.failed, without throwing into the engine', async () => {
    const log: AlertLogEvent[] = [];
    // Nothing listens on this port at first: the first posts fail, then Alertmanager is pointed at.
    const sink = createAlertmanagerSink([{ kind: 'alertmanager', url: 'http://127.0.0.1:9', minSeverity: 'warning', resendMs: 1000 }], {
      log: (e) => log.push(e),
      host: 'odoo-2.example',
      batchMs: 20,
      timeoutMs: 500,
    });
    sink.notify({ kind: 'opened', incident: incident('i-000000d0'), at: Date.now() });
    await until('a failure line', () => log.find((e) => e.event === 'alert.failed'));
    expect(String(log.find((e) => e.event === 'alert.failed')!['error'])).toMatch(/fetch failed|ECONNREFUSED/);
    await sink.close(1000);
  });
});
