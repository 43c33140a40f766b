// A FixContext made of the REAL safety services (confiner, safe writer, runner) for fix tests. Only the
// probe is supplied by each test (a real check against a real service).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, defaultOdooConf } from '../../src/engine/config/defaults.js';
import type { Config, OdooConf } from '../../src/engine/config/types.js';
import type { Incident, ProbeName, ProbeResult } from '../../src/engine/core/types.js';
import { createConfiner } from '../../src/fixes/lib/confine.js';
import { createSafeWriter } from '../../src/fixes/lib/safe-writer.js';
import { createRunner } from '../../src/fixes/lib/runner.js';
import type { FixContext } from '../../src/fixes/types.js';

export function testOdooConf(over: Partial<OdooConf> = {}): OdooConf {
  return { ...defaultOdooConf(), dbMaxconn: null, ...over };
}

/** The built-in defaults, made quiet and fast for tests: no services, no alerts, act at once. */
export function testConfig(stateDir: string, fixes: Partial<Config['fixes']> = {}, odooUser: string | null = null): Config {
  const c = defaultConfig({ env: {}, isRoot: false, home: '/nonexistent-home' });
  c.odoo.user = odooUser;
  c.services = [];
  c.endpoints = [];
  c.fixes = { ...c.fixes, unattended: [], allowCommands: [], commandTimeoutMs: 30_000, ...fixes };
  c.escalation = { ...c.escalation, threshold: 1, backoffBaseMs: 1000, ladders: {} };
  c.alerts = { targets: [], cooldownMs: 0, timeoutMs: 1000, retries: 0 };
  c.paths = { stateDir, backupDir: join(stateDir, 'backups'), auditLog: join(stateDir, 'audit.jsonl') };
  return c;
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

/** An open incident for fix tests: neutral bookkeeping, plus what each fix reads (origin, fix, ...). */
export function testIncident(over: Partial<Incident> & Pick<Incident, 'id' | 'origin' | 'fix'>): Incident {
  return {
    fingerprint: over.id,
    title: 'test incident',
    severity: 'critical',
    category: 'other',
    hint: '',
    status: 'open',
    count: 1,
    firstSeen: 0,
    lastSeen: 0,
    sample: null,
    detail: '',
    resolvedAt: null,
    snoozedUntil: null,
    rootId: null,
    ...over,
  };
}
