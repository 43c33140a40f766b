import { totalmem } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryProbe, type MemoryData } from '../src/engine/probes/memory.js';
import { createOdooScanner } from '../src/engine/probes/process.js';
import { runProbe } from '../src/engine/probes/run.js';
import { testConfig, testCtx, testOdoo } from './helpers/config.js';
import { createFakeOdoo, type FakeOdoo } from './helpers/probes-fake-odoo.js';

describe('memory probe on the real /proc/meminfo', () => {
  let fake: FakeOdoo;
  beforeEach(() => {
    fake = createFakeOdoo();
  });
  afterEach(() => fake.cleanup());

  it('reports sane figures that agree with the kernel as Node sees it', async () => {
    const probe = createMemoryProbe();
    const r = await runProbe(probe, testCtx(testConfig(), testOdoo({ path: fake.conf })), 5000);
    const d = r.data as MemoryData;
    expect(d.totalBytes).toBe(totalmem());
    expect(d.availableBytes).toBeGreaterThan(0);
    expect(d.availableBytes).toBeLessThanOrEqual(d.totalBytes);
    expect(d.availablePercent + d.usedPercent).toBeCloseTo(100, 1);
    expect(d.swapUsedBytes).toBeGreaterThanOrEqual(0);
    expect(d.swapUsedBytes).toBeLessThanOrEqual(d.swapTotalBytes);
    expect(d.swapUsedPercent === null).toBe(d.swapTotalBytes === 0);
    expect(d.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(d.cpuPercent).toBeLessThanOrEqual(100);
    expect(d.cpus).toBeGreaterThan(0);
    expect(d.load?.load1).toBeGreaterThanOrEqual(0);
    expect(d.odooRssBytes).toBeNull();
    // Second run: CPU is a delta over the interval, still a percentage.
    const r2 = await runProbe(probe, testCtx(testConfig(), testOdoo({ path: fake.conf })), 5000);
    expect((r2.data as MemoryData).cpuPercent).toBeLessThanOrEqual(100);
  });

  it('raises findings on thresholds', async () => {
    const cfg = testConfig((c) => {
      c.thresholds.memoryAvailWarnPercent = 100;
      c.thresholds.memoryAvailCritPercent = 0;
      c.thresholds.swapWarnPercent = 0;
    });
    const r = await runProbe(createMemoryProbe(), testCtx(cfg, testOdoo({ path: fake.conf })), 5000);
    expect(r.status).toBe('warning');
    const keys = r.findings.map((f) => f.key);
    expect(keys).toContain('available');
    expect(keys.includes('swap')).toBe((r.data as MemoryData).swapTotalBytes > 0);

    const crit = testConfig((c) => (c.thresholds.memoryAvailCritPercent = 100));
    const r2 = await runProbe(createMemoryProbe(), testCtx(crit, testOdoo({ path: fake.conf })), 5000);
    expect(r2.findings.find((f) => f.key === 'available')?.severity).toBe('critical');
  });

  it("sums Odoo's RSS over master and workers and compares worker limits with the host", async () => {
    const { first } = await fake.start('master', { children: ['WorkerHTTP', 'WorkerCron', 'gevent'] });
    expect(first.children).toHaveLength(3);
    // limit_memory_hard large enough that (2 + 1) × hard exceeds any test host's RAM + swap.
    const hard = 4 * 1024 ** 4;
    const odoo = testOdoo({ path: fake.conf, workers: 2, maxCronThreads: 1, limitMemoryHard: hard });
    const r = await runProbe(createMemoryProbe({ scanner: createOdooScanner({ maxAgeMs: 0 }) }), testCtx(testConfig(), odoo), 5000);
    const d = r.data as MemoryData;
    // Four node processes: each well over 10 MiB resident.
    expect(d.odooRssBytes).toBeGreaterThan(4 * 10 * 1024 * 1024);
    expect(d.odooLimitBytes).toBe(3 * hard);
    expect(r.findings.find((f) => f.key === 'limits')).toMatchObject({ severity: 'info', category: 'config' });
  });
});
