import { describe, expect, it } from 'vitest';
import { hostProbes, runProbe, runProbes } from '../src/engine/probes/run.js';
import type { Probe } from '../src/engine/probes/types.js';
import { PROBE_NAMES } from '../src/engine/core/types.js';
import { testConfig, testCtx, testOdoo } from './helpers/config.js';

function probe(name: Probe['name'], run: Probe['run']): Probe {
  return { name, run };
}

describe('probe runner', () => {
  const ctx = testCtx();

  it('adds name, checkedAt and durationMs to what a probe returns', async () => {
    const before = Date.now();
    const r = await runProbe(probe('disk', async () => ({ status: 'warning', summary: 'x', findings: [], data: { a: 1 } })), ctx, 1000);
    expect(r).toMatchObject({ probe: 'disk', status: 'warning', summary: 'x', findings: [], data: { a: 1 } });
    expect(r.checkedAt).toBeGreaterThanOrEqual(before);
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('turns a hung probe into unknown at its timeout, aborts its signal, and does not delay the others', async () => {
    let seen: AbortSignal | null = null;
    const hung = probe('network', (_ctx, signal) => {
      seen = signal;
      return new Promise(() => undefined);
    });
    const fast = probe('memory', async () => ({ status: 'ok', summary: 'fine', findings: [], data: null }));
    const [h, f] = await runProbes([hung, fast], ctx, 500);
    expect(h).toMatchObject({ probe: 'network', status: 'unknown', summary: 'timed out after 500 ms', data: null });
    expect(seen!.aborted).toBe(true);
    expect(f).toMatchObject({ probe: 'memory', status: 'ok', summary: 'fine' });
    expect(f!.durationMs).toBeLessThan(500);
  });

  it('turns a rejecting or synchronously throwing probe into unknown with the error message (first line)', async () => {
    const rejecting = probe('disk', async () => {
      throw new Error('EACCES: permission denied, statfs /srv\nsecond line');
    });
    const throwing = probe('services', () => {
      throw new TypeError('boom');
    });
    const [a, b] = await runProbes([rejecting, throwing], ctx, 1000);
    expect(a).toMatchObject({ status: 'unknown', summary: 'EACCES: permission denied, statfs /srv' });
    expect(b).toMatchObject({ status: 'unknown', summary: 'boom' });
  });

  it('hostProbes gives one instance of every probe but database, and they all run on this host', async () => {
    const probes = hostProbes();
    expect(probes.map((p) => p.name).sort()).toEqual(PROBE_NAMES.filter((n) => n !== 'database' && n !== 'odoo_db' && n !== 'odoo_conf').sort());
    // Nothing listens on port 1: odoo_http is critical, the rest report real figures.
    const results = await runProbes(probes, testCtx(testConfig(), testOdoo({ httpPort: 1, path: '/nonexistent/odoo.conf' })), 5000);
    for (const r of results) {
      expect(r.status, `${r.probe}: ${r.summary}`).not.toBe('unknown');
      expect(r.summary.length).toBeGreaterThan(0);
    }
    expect(results.find((r) => r.probe === 'odoo_http')!.status).toBe('critical');
  });
});
