// A FixContext made of the REAL safety services (confiner, safe writer, runner) for fix tests. Only the
// probe is supplied by each test (a real check against a real service).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config, OdooConf } from '../../src/engine/config/types.js';
import type { ProbeName, ProbeResult } from '../../src/engine/types.js';
import { createConfiner } from '../../src/fixes/lib/confine.js';
import { createSafeWriter } from '../../src/fixes/lib/safe-writer.js';
import { createRunner } from '../../src/fixes/lib/runner.js';
import type { FixContext } from '../../src/fixes/types.js';

export function testOdooConf(over: Partial<OdooConf> = {}): OdooConf {
  return {
    path: null,
    addonsPath: [],
    dataDir: null,
    logfile: null,
    dbHost: null,
    dbPort: null,
    dbUser: null,
    dbPassword: null,
    dbName: null,
    dbMaxconn: null,
    httpPort: 8069,
    geventPort: 8072,
    workers: 0,
    maxCronThreads: 2,
    limitMemorySoft: null,
    limitMemoryHard: null,
    limitTimeCpu: null,
    limitTimeReal: null,
    proxyMode: false,
    adminPasswd: null,
    ...over,
  };
}

export function testConfig(stateDir: string, fixes: Partial<Config['fixes']> = {}, odooUser: string | null = null): Config {
  return {
    path: null,
    odoo: { config: null, url: null, unit: 'odoo', user: odooUser },
    logs: { files: [], commands: null, recentBytes: 1 << 20, recentSeconds: 3600 },
    probes: { intervalMs: 2000, timeoutMs: 3000 },
    thresholds: {
      diskWarnPercent: 85,
      diskCritPercent: 95,
      inodeWarnPercent: 85,
      inodeCritPercent: 95,
      memoryAvailWarnPercent: 15,
      memoryAvailCritPercent: 5,
      swapWarnPercent: 50,
      dbLatencyWarnMs: 200,
      dbConnWarnPercent: 80,
      dbConnCritPercent: 95,
      longQuerySeconds: 60,
      idleInTxSeconds: 60,
      endpointLatencyWarnMs: 1000,
    },
    services: [],
    endpoints: [],
    fixes: {
      unattended: [],
      allowCommands: [],
      commandTimeoutMs: 30_000,
      restart: {},
      moduleUpdate: null,
      sessionMaxAgeDays: 7,
      idleInTxMaxAgeSeconds: 300,
      extraRoots: [],
      ...fixes,
    },
    escalation: { threshold: 1, backoffBaseMs: 1000, backoffMaxMs: 60_000, maxAttempts: 3, windowMs: 3_600_000, resetAfterMs: 600_000, ladders: {} },
    alerts: { targets: [], cooldownMs: 0, timeoutMs: 1000, retries: 0 },
    paths: { stateDir, backupDir: join(stateDir, 'backups'), auditLog: join(stateDir, 'audit.jsonl') },
    http: { enabled: false, listen: '127.0.0.1', port: 0, token: null },
  };
}

export interface TestFixContext extends FixContext {
  stateDir: string;
  steps: string[];
  cleanup(): void;
}

export function makeFixContext(opts: {
  roots: string[];
  odoo?: Partial<OdooConf>;
  fixes?: Partial<Config['fixes']>;
  odooUser?: string | null;
  systemd?: boolean;
  fixId?: string;
  probe?: (name: ProbeName) => Promise<ProbeResult>;
  now?: () => number;
}): TestFixContext {
  const stateDir = mkdtempSync(join(tmpdir(), 'odoo-heal-state-'));
  const config = testConfig(stateDir, opts.fixes ?? {}, opts.odooUser ?? null);
  const attemptId = `a-test-${Math.random().toString(16).slice(2, 10)}`;
  const steps: string[] = [];
  return {
    config,
    odoo: testOdooConf(opts.odoo ?? {}),
    confiner: createConfiner(opts.roots),
    writer: createSafeWriter({ backupDir: config.paths.backupDir, fixId: opts.fixId ?? 'test', incidentId: 'i-test', attemptId }),
    runner: createRunner({ allow: config.fixes.allowCommands, timeoutMs: config.fixes.commandTimeoutMs }),
    probe: opts.probe ?? (async (name) => {
      throw new Error(`no probe ${name} in this test`);
    }),
    systemd: opts.systemd ?? false,
    attemptId,
    now: opts.now ?? (() => Date.now()),
    progress: (s) => steps.push(s),
    stateDir,
    steps,
    cleanup: () => rmSync(stateDir, { recursive: true, force: true }),
  };
}

/**
 * Runs a real probe once and shapes its ProbeResult (like the engine's runner, which is not imported
 * here so that fix tests do not depend on every probe module being finished): a throw is 'unknown'.
 */
export async function runProbeOnce<D>(
  probe: import('../../src/engine/probes/types.js').Probe<D>,
  ctx: FixContext,
  timeoutMs = 3000,
): Promise<ProbeResult<D>> {
  const started = Date.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`probe timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    const out = await probe.run({ config: ctx.config, odoo: ctx.odoo, now: () => Date.now() }, controller.signal);
    return { probe: probe.name, checkedAt: started, durationMs: Date.now() - started, ...out };
  } catch (err) {
    const summary = err instanceof Error ? err.message : String(err);
    return { probe: probe.name, status: 'unknown', summary, checkedAt: started, durationMs: Date.now() - started, findings: [], data: null };
  } finally {
    clearTimeout(timer);
  }
}
