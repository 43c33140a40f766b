import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Escalation, loadEscalation, saveEscalation, type EscalationPolicy, type EscalationSubject } from '../../src/engine/run/escalation.js';

const SEC = 1000;
const policy = (over: Partial<EscalationPolicy> = {}): EscalationPolicy => ({
  threshold: 3,
  backoffBaseMs: 30 * SEC,
  backoffMaxMs: 100 * SEC,
  maxAttempts: 3,
  windowMs: 3600 * SEC,
  resetAfterMs: 1800 * SEC,
  ladders: {},
  ...over,
});
const clock = (): { now: () => number; advance: (ms: number) => void } => {
  let t = 1_700_000_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
};
const subject: EscalationSubject = { title: 'database unreachable', fix: { id: 'restart-service', params: { service: 'postgresql' } } };

describe('escalation', () => {
  it('acts only after threshold consecutive sightings; a healthy probe starts over', () => {
    const c = clock();
    const e = new Escalation(policy(), c.now);
    expect(e.observe('k', subject)).toMatchObject({ action: 'wait', reason: 'seen 1/3 times in a row' });
    expect(e.observe('k', subject)).toMatchObject({ action: 'wait' });
    e.healthy('k');
    expect(e.observe('k', subject)).toMatchObject({ action: 'wait', reason: 'seen 1/3 times in a row' });
    e.observe('k', subject);
    expect(e.observe('k', subject)).toEqual({ action: 'fix', fixId: 'restart-service', params: { service: 'postgresql' }, ladderStep: null });
  });

  it('backs off exponentially (doubling, capped) between failed attempts', () => {
    const c = clock();
    const e = new Escalation(policy({ threshold: 1, maxAttempts: 10 }), c.now);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      expect(e.observe('k', subject).action).toBe('fix');
      expect(e.recordAttempt('k', false)).toBeNull();
      const d = e.observe('k', subject);
      expect(d.action).toBe('wait');
      const until = d.action === 'wait' ? d.until! : 0;
      waits.push(until - c.now());
      c.advance(until - c.now() - 1);
      expect(e.observe('k', subject).action).toBe('wait'); // 1 ms early: still backing off
      c.advance(1);
    }
    expect(waits).toEqual([30 * SEC, 60 * SEC, 100 * SEC, 100 * SEC]);
  });

  it('opens the breaker after M attempts in the window, emits one gave-up event, resets after a stable period', () => {
    const c = clock();
    const e = new Escalation(policy({ threshold: 1, backoffBaseMs: 1000, backoffMaxMs: 1000 }), c.now);
    const events = [];
    for (let i = 0; i < 3; i++) {
      expect(e.observe('k', subject).action).toBe('fix');
      const ev = e.recordAttempt('k', false);
      if (ev) events.push(ev);
      c.advance(1000);
    }
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      key: 'k',
      severity: 'critical',
      message: 'auto-heal gave up on database unreachable',
      attempts: 3,
      finding: { key: 'escalation:gave-up:k', severity: 'critical', title: 'auto-heal gave up on database unreachable' },
    });
    expect(e.isOpen('k')).toBe(true);
    // Still seen, again and again (even past the window): held, no more attempts, no second event.
    for (let i = 0; i < 8; i++) {
      c.advance(600 * SEC);
      expect(e.observe('k', subject).action).toBe('hold');
    }
    // Quiet for resetAfterMs: the breaker closes and counting starts over.
    c.advance(1800 * SEC);
    expect(e.isOpen('k')).toBe(false);
    expect(e.observe('k', subject).action).toBe('fix');
  });

  it('a recurring problem fixed each time still trips the breaker at the next needed attempt', () => {
    const c = clock();
    const e = new Escalation(policy({ threshold: 1, maxAttempts: 2 }), c.now);
    for (let i = 0; i < 2; i++) {
      expect(e.observe('k', subject).action).toBe('fix');
      expect(e.recordAttempt('k', true)).toBeNull();
      c.advance(60 * SEC);
    }
    const d = e.observe('k', subject);
    expect(d).toMatchObject({ action: 'gave-up', event: { message: 'auto-heal gave up on database unreachable' } });
  });

  it('follows a ladder in order, one step per failed attempt, then gives up', () => {
    const c = clock();
    const ladders = {
      'probe:database:down': [
        { action: 'wait' as const },
        { action: 'fix' as const, fix: 'restart-service', params: { service: 'postgresql' } },
        { action: 'fix' as const, fix: 'restart-service', params: { service: 'odoo' } },
        { action: 'alert' as const },
      ],
    };
    const e = new Escalation(policy({ threshold: 1, backoffBaseMs: 1, backoffMaxMs: 1, maxAttempts: 10, ladders }), c.now);
    const s: EscalationSubject = { title: 'PostgreSQL down', ladderKey: 'probe:database:down' };
    const steps: string[] = [];
    for (let i = 0; i < 5; i++) {
      const d = e.observe('probe:database:down', s);
      steps.push(d.action === 'fix' ? `fix:${d.params.service}` : d.action);
      if (d.action === 'fix') e.recordAttempt('probe:database:down', false);
      c.advance(10);
    }
    expect(steps).toEqual(['wait', 'fix:postgresql', 'fix:odoo', 'alert', 'gave-up']);
  });

  it('a successful ladder step restarts the ladder', () => {
    const c = clock();
    const ladders = { L: [{ action: 'fix' as const, fix: 'a' }, { action: 'fix' as const, fix: 'b' }] };
    const e = new Escalation(policy({ threshold: 1, backoffBaseMs: 1, backoffMaxMs: 1, maxAttempts: 10, ladders }), c.now);
    const s: EscalationSubject = { title: 't', ladderKey: 'L' };
    expect(e.observe('k', s)).toMatchObject({ fixId: 'a' });
    e.recordAttempt('k', false);
    c.advance(10);
    expect(e.observe('k', s)).toMatchObject({ fixId: 'b' });
    e.recordAttempt('k', true);
    expect(e.observe('k', s)).toMatchObject({ fixId: 'a' });
  });

  describe('persistence', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'odoo-heal-esc-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('round-trips through escalation.json: backoff and open breaker survive a restart', async () => {
      const c = clock();
      const p = policy({ threshold: 1, maxAttempts: 2 });
      const e = new Escalation(p, c.now);
      e.observe('a', subject);
      e.recordAttempt('a', false);
      e.observe('b', subject);
      e.recordAttempt('b', false);
      expect(e.recordAttempt('b', false)).not.toBeNull();
      c.advance(10 * SEC);
      await saveEscalation(dir, e);

      const { escalation: e2, warning } = await loadEscalation(dir, p, c.now);
      expect(warning).toBeNull();
      expect(e2.toJSON()).toEqual(e.toJSON());
      expect(e2.observe('a', subject)).toMatchObject({ action: 'wait', reason: expect.stringMatching(/backing off/) });
      expect(e2.observe('b', subject).action).toBe('hold');
    });

    it('moves a damaged state file aside and starts fresh, saying so', async () => {
      writeFileSync(join(dir, 'escalation.json'), '{"version": 1, "keys": ');
      const { escalation, warning } = await loadEscalation(dir, policy());
      expect(warning).toMatch(/escalation\.json: .*moved to .*escalation\.json\.damaged-/);
      expect(escalation.toJSON().keys).toEqual({});
      expect(readdirSync(dir).some((n) => n.startsWith('escalation.json.damaged-'))).toBe(true);
    });
  });
});
