// Alert dispatcher against real HTTP receivers on 127.0.0.1: exact Mattermost and webhook JSON,
// severity routing, cooldown/dedup, resolved messages, summaries, retries, timeouts, draining.
import { afterEach, describe, expect, it } from 'vitest';
import { createAlertSink, type AlertLogEvent } from '../src/engine/outputs/alerts/dispatcher.js';
import type { AlertEvent } from '../src/engine/run/alert-sink.js';
import type { AlertTarget, Config } from '../src/engine/config/types.js';
import type { Incident } from '../src/engine/core/types.js';
import { startReceiver, type AlertReceiver } from './helpers/alert-receiver.js';

const T0 = Date.UTC(2026, 10, 28, 19, 59, 44);

function incident(over: Partial<Incident> = {}): Incident {
  return {
    id: 'i-0badc0de',
    fingerprint: 'cron-deprecated-fields|file=/srv/addons/legacy_cron/data/ir_cron_data.xml',
    origin: { kind: 'pattern', patternId: 'cron-deprecated-fields', captures: { file: '/srv/addons/legacy_cron/data/ir_cron_data.xml' } },
    title: 'Module data sets ir.cron fields removed in Odoo 18',
    severity: 'critical',
    category: 'cron',
    hint: 'Remove numbercall/doall.',
    status: 'open',
    count: 1,
    firstSeen: T0,
    lastSeen: T0 + 1000,
    sample: null,
    detail: '',
    fix: { id: 'cron-deprecated-fields', params: { file: '/srv/addons/legacy_cron/data/ir_cron_data.xml' }, unattended: true },
    resolvedAt: null,
    snoozedUntil: null,
    rootId: null,
    ...over,
  };
}

function alertsConfig(targets: AlertTarget[], over: Partial<Config['alerts']> = {}): Config['alerts'] {
  return { targets, cooldownMs: 60_000, timeoutMs: 2000, retries: 2, ...over };
}

const receivers: AlertReceiver[] = [];
async function receiver(): Promise<AlertReceiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

function sink(alerts: Config['alerts'], logs: AlertLogEvent[] = [], extra: { secrets?: string[]; batchMs?: number } = {}) {
  return createAlertSink(alerts, {
    log: (e) => logs.push(e),
    host: 'erp1',
    secrets: extra.secrets ?? [],
    batchMs: extra.batchMs ?? 20,
    backoffBaseMs: 10,
    backoffMaxMs: 50,
  });
}

describe('payloads', () => {
  it('posts the Mattermost incoming-webhook shape and the odoo-heal/alert@1 webhook shape', async () => {
    const mm = await receiver();
    const wh = await receiver();
    const s = sink(
      alertsConfig([
        { kind: 'mattermost', url: mm.url('/hooks/abcdefghijklmnop'), minSeverity: 'warning', channel: 'ops', username: 'healer', iconUrl: 'https://example.org/i.png' },
        { kind: 'webhook', url: wh.url('/webhook/n8n'), minSeverity: 'info' },
      ]),
    );
    s.notify({ kind: 'needs-human', incident: incident(), at: T0, plan: { summary: 'remove 2 fields', preview: '- <field name="numbercall">-1</field>' } });
    await s.close(5000);
    expect(mm.received).toHaveLength(1);
    expect(mm.received[0]!.path).toBe('/hooks/abcdefghijklmnop');
    expect(mm.received[0]!.headers['content-type']).toBe('application/json');
    expect(mm.received[0]!.body).toEqual({
      text: 'odoo-heal on erp1: needs a human — Module data sets ir.cron fields removed in Odoo 18',
      username: 'healer',
      icon_url: 'https://example.org/i.png',
      channel: 'ops',
      attachments: [
        {
          fallback: '[critical] needs a human: Module data sets ir.cron fields removed in Odoo 18',
          color: '#d00000',
          title: 'Module data sets ir.cron fields removed in Odoo 18',
          text: 'Plan: remove 2 fields\n```\n- <field name="numbercall">-1</field>\n```\n\nRemove numbercall/doall.',
          fields: [
            { short: true, title: 'Severity', value: 'critical' },
            { short: true, title: 'Category', value: 'cron' },
            { short: true, title: 'Incident', value: 'i-0badc0de' },
            { short: true, title: 'Count', value: '1' },
            { short: true, title: 'First seen', value: '2026-11-28T19:59:44Z' },
            { short: true, title: 'Last seen', value: '2026-11-28T19:59:45Z' },
            { short: true, title: 'Fix', value: 'cron-deprecated-fields' },
          ],
        },
      ],
    });
    expect(wh.received).toHaveLength(1);
    expect(wh.received[0]!.body).toEqual({
      format: 'odoo-heal/alert@1',
      kind: 'needs-human',
      incident: {
        id: 'i-0badc0de',
        fingerprint: 'cron-deprecated-fields|file=/srv/addons/legacy_cron/data/ir_cron_data.xml',
        title: 'Module data sets ir.cron fields removed in Odoo 18',
        severity: 'critical',
        category: 'cron',
        count: 1,
        firstSeen: '2026-11-28T19:59:44.000Z',
        lastSeen: '2026-11-28T19:59:45.000Z',
        hint: 'Remove numbercall/doall.',
      },
      plan: { summary: 'remove 2 fields', preview: '- <field name="numbercall">-1</field>' },
      host: 'erp1',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('omits optional Mattermost keys, colours a verified fix green and carries the attempt', async () => {
    const mm = await receiver();
    const wh = await receiver();
    const s = sink(alertsConfig([{ kind: 'mattermost', url: mm.url('/hooks/x'), minSeverity: 'info' }, { kind: 'webhook', url: wh.url(), minSeverity: 'info' }]));
    const attempt = { id: 'a-20261128-195950-abcd', incidentId: 'i-0badc0de', fixId: 'cron-deprecated-fields', who: 'auto', startedAt: T0, finishedAt: T0 + 500, outcome: 'verified' as const, message: 'removed 2 fields' };
    s.notify({ kind: 'fix-result', incident: incident(), at: T0, attempt });
    await s.close(5000);
    const body = mm.received[0]!.body as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['attachments', 'text', 'username']);
    expect(body.username).toBe('odoo-heal');
    const att = (body.attachments as Array<Record<string, unknown>>)[0]!;
    expect(att.color).toBe('#2eb886');
    expect(att.fields).toContainEqual({ short: true, title: 'Outcome', value: 'verified' });
    expect((wh.received[0]!.body as Record<string, unknown>).attempt).toEqual({
      id: 'a-20261128-195950-abcd',
      fixId: 'cron-deprecated-fields',
      who: 'auto',
      outcome: 'verified',
      message: 'removed 2 fields',
      startedAt: '2026-11-28T19:59:44.000Z',
      finishedAt: '2026-11-28T19:59:44.500Z',
    });
  });
});

describe('routing, cooldown and dedup', () => {
  it('sends a target only what reaches its minSeverity (give-ups always count as critical)', async () => {
    const crit = await receiver();
    const all = await receiver();
    const s = sink(alertsConfig([{ kind: 'webhook', url: crit.url(), minSeverity: 'critical' }, { kind: 'webhook', url: all.url(), minSeverity: 'info' }]));
    s.notify({ kind: 'opened', incident: incident({ id: 'i-warn', severity: 'warning' }), at: T0 });
    s.notify({ kind: 'gave-up', incident: incident({ id: 'i-gave', severity: 'warning' }), at: T0 });
    await s.close(5000);
    expect(crit.received.map((r) => (r.body as { kind: string }).kind)).toEqual(['gave-up']);
    expect(all.received.map((r) => (r.body as { kind: string }).kind).sort()).toEqual(['gave-up', 'opened']);
  });

  it('sends one alert for 100 repeated events of one incident, and "needs-human" replaces "opened" in a batch', async () => {
    const wh = await receiver();
    const s = sink(alertsConfig([{ kind: 'webhook', url: wh.url(), minSeverity: 'info' }]), [], { batchMs: 50 });
    const inc = incident();
    s.notify({ kind: 'opened', incident: inc, at: T0 });
    for (let i = 0; i < 100; i++) s.notify({ kind: 'needs-human', incident: { ...inc, count: i + 1 }, at: T0 + i, plan: null });
    await wh.waitFor(1);
    // Later repeats fall inside the cooldown.
    for (let i = 0; i < 100; i++) s.notify({ kind: 'needs-human', incident: inc, at: T0 + i, plan: null });
    for (let i = 0; i < 100; i++) s.notify({ kind: 'opened', incident: inc, at: T0 + i });
    await s.close(5000);
    expect(wh.received).toHaveLength(1);
    expect(wh.received[0]!.body).toMatchObject({ kind: 'needs-human', incident: { count: 100 } });
  });

  it('says "resolved" only for incidents it alerted on, once, and alerts again when the incident comes back', async () => {
    const wh = await receiver();
    const s = sink(alertsConfig([{ kind: 'webhook', url: wh.url(), minSeverity: 'warning' }]), [], { batchMs: 10 });
    const kinds = () => wh.received.map((r) => `${(r.body as { kind: string }).kind}:${(r.body as { incident: { id: string } }).incident.id}`);
    s.notify({ kind: 'resolved', incident: incident({ id: 'i-never-alerted' }), at: T0 });
    s.notify({ kind: 'opened', incident: incident({ id: 'i-a' }), at: T0 });
    await wh.waitFor(1);
    s.notify({ kind: 'resolved', incident: incident({ id: 'i-a', status: 'resolved' }), at: T0 });
    s.notify({ kind: 'resolved', incident: incident({ id: 'i-a', status: 'resolved' }), at: T0 });
    await wh.waitFor(2);
    s.notify({ kind: 'opened', incident: incident({ id: 'i-a' }), at: T0 });
    await s.close(5000);
    expect(kinds()).toEqual(['opened:i-a', 'resolved:i-a', 'opened:i-a']);
  });

  it('turns more than 5 alerts in one batch into one summary per target', async () => {
    const mm = await receiver();
    const wh = await receiver();
    const s = sink(alertsConfig([{ kind: 'mattermost', url: mm.url('/hooks/x'), minSeverity: 'info' }, { kind: 'webhook', url: wh.url(), minSeverity: 'info' }]), [], { batchMs: 200 });
    for (let i = 0; i < 7; i++) s.notify({ kind: 'opened', incident: incident({ id: `i-${i}`, title: `incident ${i}`, severity: i === 0 ? 'warning' : 'critical' }), at: T0 });
    await s.close(5000);
    expect(mm.received).toHaveLength(1);
    const mmBody = mm.received[0]!.body as { text: string; attachments: Array<{ title: string; color: string }> };
    expect(mmBody.text).toBe('odoo-heal on erp1: 7 alerts at once');
    expect(mmBody.attachments.map((a) => a.title)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `incident ${i}`));
    expect(mmBody.attachments[0]!.color).toBe('#f0ad4e');
    expect(wh.received).toHaveLength(1);
    const whBody = wh.received[0]!.body as { kind: string; alerts: Array<{ kind: string; incident: { id: string } }> };
    expect(whBody.kind).toBe('summary');
    expect(whBody.alerts.map((a) => a.incident.id)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `i-${i}`));
  });
});

describe('delivery', () => {
  it('retries a 5xx with backoff up to `retries` times, then logs the failure with the hook id redacted', async () => {
    const mm = await receiver();
    mm.mode = 503;
    const logs: AlertLogEvent[] = [];
    const s = sink(alertsConfig([{ kind: 'mattermost', url: mm.url('/hooks/secrethookid123'), minSeverity: 'info' }], { retries: 2 }), logs);
    s.notify({ kind: 'opened', incident: incident(), at: T0 });
    await s.close(5000);
    expect(mm.received).toHaveLength(3);
    const failed = logs.find((l) => l.event === 'alert.failed');
    expect(failed).toMatchObject({ level: 'error', error: 'HTTP 503 Service Unavailable', incidents: ['i-0badc0de'] });
    expect(JSON.stringify(logs)).not.toContain('secrethookid123');
  });

  it('does not repeat a 4xx (the payload or URL is wrong)', async () => {
    const wh = await receiver();
    wh.mode = 400;
    const logs: AlertLogEvent[] = [];
    const s = sink(alertsConfig([{ kind: 'webhook', url: wh.url(), minSeverity: 'info' }], { retries: 3 }), logs);
    s.notify({ kind: 'opened', incident: incident(), at: T0 });
    await s.close(5000);
    expect(wh.received).toHaveLength(1);
    expect(logs.find((l) => l.event === 'alert.failed')?.error).toBe('HTTP 400 Bad Request');
  });

  it('returns from notify() at once, times out a hanging receiver, and keeps other targets flowing', async () => {
    const hang = await receiver();
    hang.mode = 'hang';
    const ok = await receiver();
    const logs: AlertLogEvent[] = [];
    const s = sink(
      alertsConfig([{ kind: 'mattermost', url: hang.url('/hooks/h'), minSeverity: 'info' }, { kind: 'webhook', url: ok.url(), minSeverity: 'info' }], { timeoutMs: 300, retries: 1 }),
      logs,
    );
    s.notify({ kind: 'opened', incident: incident({ id: 'i-1' }), at: T0 });
    expect(hang.received).toHaveLength(0); // nothing was sent synchronously
    await ok.waitFor(1);
    await hang.waitFor(1);
    s.notify({ kind: 'opened', incident: incident({ id: 'i-2' }), at: T0 });
    // The webhook target gets the second alert while the Mattermost request is still hanging.
    await ok.waitFor(2);
    await s.close(5000);
    expect(logs.filter((l) => l.event === 'alert.failed' && String(l.target).startsWith('mattermost')).map((l) => l.error)).toEqual([
      'no answer within 300 ms',
      'no answer within 300 ms',
    ]);
    expect(hang.received.length).toBe(4); // 2 alerts x (1 try + 1 retry)
  });

  it('close(timeout) gives up on a hanging receiver, says how many were not delivered, and aborts', async () => {
    const hang = await receiver();
    hang.mode = 'hang';
    const logs: AlertLogEvent[] = [];
    const s = sink(alertsConfig([{ kind: 'webhook', url: hang.url(), minSeverity: 'info' }], { timeoutMs: 600_000, retries: 0 }), logs);
    s.notify({ kind: 'opened', incident: incident({ id: 'i-1' }), at: T0 });
    s.notify({ kind: 'opened', incident: incident({ id: 'i-2' }), at: T0 });
    await s.close(300);
    expect(logs.find((l) => l.event === 'alert.undelivered')).toMatchObject({ count: 2 });
    expect(s.pending()).toBeGreaterThan(0);
    // After close nothing new is accepted.
    s.notify({ kind: 'opened', incident: incident({ id: 'i-3' }), at: T0 });
    expect(hang.received.length).toBe(1);
  });

  it('redacts known secrets and secret shapes in every payload', async () => {
    const wh = await receiver();
    const s = sink(alertsConfig([{ kind: 'webhook', url: wh.url(), minSeverity: 'info' }]), [], { secrets: ['S3cretDbPass!'] });
    s.notify({
      kind: 'needs-human',
      incident: incident({ hint: 'connection to postgresql://odoo:S3cretDbPass!@db:5432/prod failed; admin_passwd = M4sterPw' }),
      at: T0,
      plan: { summary: 'x', preview: 'password=S3cretDbPass! Bearer abcdef123456' },
    });
    await s.close(5000);
    const raw = wh.received[0]!.raw;
    expect(raw).not.toContain('S3cretDbPass');
    expect(raw).not.toContain('M4sterPw');
    expect(raw).not.toContain('abcdef123456');
    expect(raw).toContain('[REDACTED]');
  });
});
