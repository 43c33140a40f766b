import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiskProbe, type DiskData } from '../src/engine/probes/disk.js';
import { mountFor, parseMountinfo } from '../src/engine/probes/proc.js';
import { runProbe } from '../src/engine/probes/run.js';
import { testConfig, testCtx, testOdoo } from './helpers/config.js';

/** df's own view of the filesystem holding `path`: mount point, size and available bytes. */
function df(path: string): { target: string; size: number; avail: number } {
  const out = execFileSync('df', ['-B1', '--output=target,size,avail', path], { encoding: 'utf8' }).trim().split('\n')[1]!;
  const [target, size, avail] = out.trim().split(/\s+/);
  return { target: target!, size: Number(size), avail: Number(avail) };
}

describe('disk probe on real filesystems', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'odoo-heal-disk-'));
    mkdirSync(join(tmp, 'data', 'sessions'), { recursive: true });
    mkdirSync(join(tmp, 'log'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const odoo = () => testOdoo({ dataDir: join(tmp, 'data'), logfile: join(tmp, 'log', 'odoo.log') });

  it('measures the data dir, log dir and / once per filesystem, agreeing with df', async () => {
    const r = await runProbe(createDiskProbe(), testCtx(testConfig(), odoo()), 5000);
    expect(r.status).toBe('ok');
    const fss = (r.data as DiskData).filesystems;
    const roles = fss.flatMap((f) => f.paths.map((p) => p.role)).sort();
    expect(roles).toEqual(['data', 'logs', 'root']);
    // Deduplicated by device: as many entries as distinct devices.
    expect(new Set(fss.map((f) => f.device)).size).toBe(fss.length);
    const dataFs = fss.find((f) => f.paths.some((p) => p.role === 'data'))!;
    const d = df(join(tmp, 'data'));
    expect(dataFs.mountPoint).toBe(d.target);
    expect(dataFs.sizeBytes).toBe(d.size);
    // Free space moves while other tests write; 64 MiB of slack.
    expect(Math.abs(dataFs.freeBytes - d.avail)).toBeLessThan(64 * 1024 * 1024);
    for (const f of fss) {
      expect(f.usedPercent).toBeGreaterThanOrEqual(0);
      expect(f.usedPercent).toBeLessThanOrEqual(100);
      expect(f.freeBytes).toBeLessThanOrEqual(f.sizeBytes);
    }
  });

  it('raises findings keyed per mount point and suggests session cleanup on the data dir filesystem when critical', async () => {
    const cfg = testConfig((c) => {
      c.thresholds.diskWarnPercent = 0;
      c.thresholds.diskCritPercent = 0;
      c.thresholds.inodeWarnPercent = 0;
      c.thresholds.inodeCritPercent = 101;
    });
    const r = await runProbe(createDiskProbe(), testCtx(cfg, odoo()), 5000);
    expect(r.status).toBe('critical');
    const dataFs = (r.data as DiskData).filesystems.find((f) => f.paths.some((p) => p.role === 'data'))!;
    const space = r.findings.find((f) => f.key === `disk:${dataFs.mountPoint}`)!;
    expect(space).toMatchObject({ severity: 'critical', category: 'disk' });
    expect(space.fix).toEqual({ id: 'session-cleanup', params: { dataDir: join(tmp, 'data') }, unattended: true });
    if (dataFs.inodeUsedPercent !== null) {
      expect(r.findings.find((f) => f.key === `inodes:${dataFs.mountPoint}`)).toMatchObject({ severity: 'warning' });
      expect(r.findings.find((f) => f.key === `inodes:${dataFs.mountPoint}`)!.fix).toBeUndefined();
    }
  });

  it('warning level carries no fix; a data dir that does not exist yet is measured at its parent', async () => {
    const cfg = testConfig((c) => {
      c.thresholds.diskWarnPercent = 0;
      c.thresholds.diskCritPercent = 101;
      c.thresholds.inodeWarnPercent = 101;
    });
    const r = await runProbe(createDiskProbe(), testCtx(cfg, testOdoo({ dataDir: join(tmp, 'not', 'yet', 'there') })), 5000);
    expect(r.status).toBe('warning');
    expect(r.findings.every((f) => f.severity === 'warning' && f.fix === undefined)).toBe(true);
    const fs = (r.data as DiskData).filesystems.find((f) => f.paths.some((p) => p.role === 'data'))!;
    expect(fs.mountPoint).toBe(df(tmp).target);
  });

  it('finds the mount of a path from the real mountinfo, longest prefix first', () => {
    const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    expect(mountFor('/', mounts)?.mountPoint).toBe('/');
    expect(mountFor('/proc/self', mounts)?.mountPoint).toBe('/proc');
    const sample = parseMountinfo('36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n');
    expect(sample).toEqual([{ device: '98:0', mountPoint: '/mnt/with space', fsType: 'ext3', source: '/dev/root' }]);
    expect(mountFor('/mnt/with spacex', sample)).toBeNull();
    expect(mountFor('/mnt/with space/a', sample)?.device).toBe('98:0');
  });
});
