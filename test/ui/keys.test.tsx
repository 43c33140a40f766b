import { afterEach, describe, expect, it } from 'vitest';
import { KEYMAP } from '../../src/ui/keymap.js';
import type { AttemptSummary, LogRecord } from '../../src/engine/core/types.js';
import {
  frameSize,
  healthyState,
  incident,
  intentsDouble,
  KEY,
  mount,
  newStore,
  NOW,
  tick,
  type Mounted,
} from './harness.js';

const mounted: Mounted[] = [];
afterEach(() => {
  for (const m of mounted.splice(0)) m.instance.unmount();
});

const DIFF = [
  '--- a/legacy_cron/data/ir_cron_data.xml',
  '+++ b/legacy_cron/data/ir_cron_data.xml',
  '@@ -9,8 +9,6 @@',
  '         <field name="interval_type">hours</field>',
  '-        <field name="numbercall">-1</field>',
  '-        <field name="doall" eval="False"/>',
].join('\n');

function attempt(over: Partial<AttemptSummary>): AttemptSummary {
  return {
    id: 'a-1',
    incidentId: 'i-2',
    fixId: 'cron-deprecated-fields',
    who: 'admin',
    startedAt: NOW - 1000,
    finishedAt: NOW,
    outcome: 'verified',
    message: 'install succeeded',
    ...over,
  };
}

async function setup() {
  const store = newStore();
  healthyState(store);
  const sample: LogRecord = {
    kind: 'odoo',
    source: '/var/log/odoo/odoo.log',
    line: 42,
    lines: [
      '2026-11-28 19:55:01,000 8378 ERROR healdb odoo.modules.registry: Failed to load registry',
      'Traceback (most recent call last):',
      "ValueError: Invalid field 'numbercall' on model 'ir.cron'",
    ],
    exception: "ValueError: Invalid field 'numbercall' on model 'ir.cron'",
    time: NOW,
    pid: 8378,
    level: 'ERROR',
    db: 'healdb',
    logger: 'odoo.modules.registry',
    message: 'Failed to load registry',
  };
  store.setState({
    incidents: {
      'i-1': incident('i-1', { title: 'Disk almost full', severity: 'critical', fix: null, origin: { kind: 'probe', probe: 'disk', key: '/' } }),
      'i-2': incident('i-2', { title: 'Cron uses removed fields', severity: 'warning', sample }),
    },
  });
  const intents = intentsDouble();
  const m = await mount(store, intents);
  mounted.push(m);
  return { store, intents, m };
}

describe('keyboard flows', () => {
  it('keys that arrive in one burst (tmux send-keys, paste) are each handled in order', async () => {
    const { intents, m } = await setup();
    // 'jf' in one write: without queueing, 'f' would be lost or act on the old selection.
    await m.press('jf');
    await tick();
    await tick();
    expect(intents.calls).toEqual([{ name: 'requestPlan', args: ['i-2'] }]);
  });

  it('select → f → plan shown → y → progress → result', async () => {
    const { store, intents, m } = await setup();
    expect(m.frame()).toMatch(/› CRIT Disk almost full/);
    await m.press('j');
    expect(m.frame()).toMatch(/› WARN Cron uses removed fields/);
    await m.press('f');
    expect(intents.calls).toEqual([{ name: 'requestPlan', args: ['i-2'] }]);

    // the engine answers with a plan
    store.setState({ plan: { incidentId: 'i-2', fixId: 'cron-deprecated-fields', preview: DIFF, summary: 'Remove numbercall/doall from 1 file' } });
    await tick();
    let f = m.frame();
    expect(f).toContain('Fix plan: cron-deprecated-fields for “Cron uses removed fields”');
    expect(f).toContain('Remove numbercall/doall from 1 file');
    expect(f).toContain('-        <field name="numbercall">-1</field>');
    expect(f).toContain('Apply this fix? y = apply');
    expect(frameSize(f).rows).toBeLessThanOrEqual(23);

    await m.press('y');
    expect(intents.names()).toEqual(['requestPlan', 'confirmPlan']);

    store.setState({ busy: { incidentId: 'i-2', fixId: 'cron-deprecated-fields', step: 'verifying: module install' } });
    await tick();
    expect(m.frame()).toContain('running: verifying: module install');
    // y while it runs does not apply twice
    await m.press('y');
    expect(intents.names()).toEqual(['requestPlan', 'confirmPlan']);

    store.setState((s) => ({
      plan: null,
      busy: null,
      attempts: [attempt({ outcome: 'verified' })],
      incidents: { ...s.incidents, 'i-2': { ...s.incidents['i-2']!, status: 'resolved' } },
      notice: { text: 'cron-deprecated-fields verified: install succeeded', severity: 'info', at: Date.now() },
    }));
    await tick();
    f = m.frame();
    expect(f).toContain('cron-deprecated-fields verified: install succeeded');
    expect(f).toMatch(/Cron uses removed fields .*resolved/);
  });

  it('n cancels the plan', async () => {
    const { store, intents, m } = await setup();
    await m.press('j', 'f');
    store.setState({ plan: { incidentId: 'i-2', fixId: 'cron-deprecated-fields', preview: DIFF, summary: 's' } });
    await tick();
    await m.press('n');
    expect(intents.names()).toEqual(['requestPlan', 'cancelPlan']);
    store.setState({ plan: null });
    await tick();
    expect(m.frame()).toContain('Incidents');
  });

  it('f on an incident without a fix says so and asks nothing', async () => {
    const { intents, m } = await setup();
    await m.press('f');
    expect(intents.calls).toEqual([]);
    expect(m.frame()).toContain('no automatic fix for “Disk almost full”');
  });

  it('u asks before rolling back; n keeps, y rolls back', async () => {
    const { store, intents, m } = await setup();
    store.setState({ attempts: [attempt({ id: 'a-7', outcome: 'verified' })] });
    await tick();
    await m.press('u');
    expect(m.frame()).toContain('Roll back cron-deprecated-fields (attempt a-7)? [y/n]');
    expect(intents.calls).toEqual([]);
    await m.press('n');
    expect(intents.calls).toEqual([]);
    expect(m.frame()).toContain('cancelled');
    await m.press('u', 'y');
    expect(intents.names()).toEqual(['rollbackLast']);
  });

  it('A asks first, then toggles auto-heal', async () => {
    const { store, intents, m } = await setup();
    await m.press('A');
    expect(m.frame()).toContain('Turn auto-heal ON for this run');
    expect(intents.calls).toEqual([]);
    await m.press('y');
    expect(intents.calls).toEqual([{ name: 'setAutoHeal', args: [true] }]);
    store.setState({ autoHeal: true });
    await tick();
    expect(m.frame()).toContain('auto-heal ON');
    await m.press('A');
    expect(m.frame()).toContain('Turn auto-heal OFF');
    await m.press(KEY.escape);
    expect(intents.calls).toHaveLength(1);
  });

  it('? shows every key of the keymap, at 80x24', async () => {
    const { m } = await setup();
    await m.press('?');
    const f = m.frame();
    expect(frameSize(f).rows).toBeLessThanOrEqual(23);
    expect(frameSize(f).width).toBeLessThanOrEqual(80);
    for (const b of KEYMAP) expect(f, b.action).toContain(b.keys);
    await m.press('?');
    expect(m.frame()).toContain('Incidents');
  });

  it('/ filters the log tail: typed text applies on Enter; Esc cancels', async () => {
    const { store, intents, m } = await setup();
    await m.press('/', 'W', 'o', 'r', 'k', 'x', KEY.backspace);
    expect(m.frame()).toContain('filter log: Work');
    expect(intents.calls).toEqual([]);
    // keys typed into the filter are text, not commands
    await m.press('q');
    expect(m.frame()).toContain('filter log: Workq');
    await m.press(KEY.backspace, KEY.enter);
    expect(intents.calls).toEqual([{ name: 'setTailFilter', args: ['Work'] }]);
    store.setState((s) => ({ filters: { ...s.filters, tailText: 'Work' } }));
    await tick();
    const log = m.frame().split('Log ')[1] ?? '';
    expect(log).toContain('filter “Work”');
    expect(log).toContain('Worker (8264) exiting');
    expect(log).not.toContain('Stopping gracefully');
    await m.press('/', 'z', KEY.escape);
    expect(intents.calls).toHaveLength(1);
  });

  it('L cycles the level filter, space pauses the tail', async () => {
    const { store, intents, m } = await setup();
    await m.press('L');
    expect(intents.calls).toEqual([{ name: 'setTailMinLevel', args: ['INFO'] }]);
    await m.press(' ');
    expect(intents.calls[1]).toEqual({ name: 'setTailPaused', args: [true] });
    store.setState((s) => ({ filters: { ...s.filters, tailPaused: true } }));
    await tick();
    expect(m.frame()).toContain('PAUSED');
    // records arriving while paused stay off screen until resumed
    store.setState((s) => ({
      tail: [...s.tail, { seq: 9999, record: { kind: 'raw', source: 'x', line: 1, lines: ['ARRIVED LATER'], exception: null, time: null, message: 'ARRIVED LATER' } }],
    }));
    await tick();
    expect(m.frame()).not.toContain('ARRIVED LATER');
    store.setState((s) => ({ filters: { ...s.filters, tailPaused: false } }));
    await tick();
    expect(m.frame()).toContain('ARRIVED LATER');
  });

  it('Enter opens the incident: record, pattern, hint, attempts; Esc closes', async () => {
    const { store, m } = await setup();
    store.setState({ attempts: [attempt({ outcome: 'failed', message: 'verify: registry still fails' })] });
    await tick();
    await m.press('j', KEY.enter);
    const f = m.frame();
    expect(f).toContain('Incident: Cron uses removed fields');
    expect(f).toContain('Pattern cron-deprecated-field');
    expect(f).toContain('module = legacy_cron');
    expect(f).toContain('Remove numbercall/doall from the cron XML.');
    expect(f).toContain('Proposed fix: cron-deprecated-fields (module=legacy_cron)');
    expect(f).toMatch(/failed\s+cron-deprecated-fields by admin — verify:\s+registry still fails/);
    // the record is below the first screen at 80x24: scroll to it
    await m.press(...Array<string>(10).fill("j"));
    expect(m.frame()).toContain("ValueError: Invalid field 'numbercall' on model 'ir.cron'");
    await m.press(KEY.escape);
    expect(m.frame()).toContain('Incidents');
  });

  it('i snoozes and x dismisses the selected incident', async () => {
    const { intents, m } = await setup();
    await m.press('j', 'i', 'x');
    expect(intents.calls).toEqual([
      { name: 'snooze', args: ['i-2'] },
      { name: 'dismiss', args: ['i-2'] },
    ]);
  });

  it('a failing intent becomes a notice, not a crash', async () => {
    const { intents, m } = await setup();
    intents.requestPlan = async () => {
      throw new Error('fix module cron-deprecated-fields is not installed');
    };
    await m.press('j', 'f');
    await tick();
    expect(m.frame()).toContain('fix module cron-deprecated-fields is not installed');
  });

  it('q quits', async () => {
    const { m } = await setup();
    let exited = false;
    void m.instance.waitUntilExit().then(() => (exited = true));
    await m.press('q');
    await tick();
    expect(exited).toBe(true);
  });
});
