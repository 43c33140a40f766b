// Puts the demo together: sandbox, its PostgreSQL (when the binaries exist), a real Engine on the
// sandbox's config, and the scenario writing the sandbox's log. Whoever starts it owns cleanup(),
// which is idempotent and also has a synchronous variant for process 'exit'.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { GlobalOptions } from '../cli/global-options.js';
import { createEngine, type Engine, type EngineEvent, type EngineMode } from '../engine/run/engine.js';
import { errorMessage } from '../engine/core/errors.js';
import { findPgBinDir, freePort, startDemoCluster, type DemoCluster } from './pg.js';
import { buildSandbox, createSandboxRoot, type Sandbox } from './sandbox.js';
import { Scenario } from './scenario.js';

/** Probe incidents that only say "there is no Odoo here" (true in every sandbox). */
const NO_ODOO = new Set(['probe:process:down', 'probe:odoo_http:down']);

export interface DemoOptions {
  globals: GlobalOptions;
  /** Length of the scenario in minutes (may be fractional: tests use 0.3). */
  minutes: number;
  mode: EngineMode;
  /** Engine events (JSON lines in --headless). */
  emit?: (event: EngineEvent) => void;
  /** Narration lines ("incident 2/4: ..."). */
  say?: (text: string) => void;
  /** Keep the sandbox directory after cleanup (ODOO_HEAL_DEMO_KEEP=1). */
  keep?: boolean;
  /** Where the sandbox is created (default: the OS temp dir). */
  parentDir?: string;
  /** Skip the PostgreSQL part even when the binaries exist. */
  noPostgres?: boolean;
}

export interface Demo {
  sandbox: Sandbox;
  cluster: DemoCluster | null;
  engine: Engine;
  scenario: Scenario;
  /** Why the database outage is not part of this run, or null when it is. */
  databaseSkipped: string | null;
  /** Resolves when the timeline has played out (the engine keeps running until cleanup). */
  finished: Promise<void>;
  /** Stops scenario, engine and cluster, removes the sandbox (unless keep). Safe to call twice. */
  cleanup(): Promise<void>;
  /** Last resort from a process 'exit' handler: cluster down and directory gone, synchronously. */
  cleanupSync(): void;
}

/** Why the demo will not run its own PostgreSQL here, or null when it can. */
export function postgresUnavailable(env: NodeJS.ProcessEnv = process.env): { reason: string } | { binDir: string } {
  // The restart fix prefers `systemctl restart postgresql` on a systemd host, which would be the
  // machine's own PostgreSQL: never in a demo.
  if (existsSync('/run/systemd/system')) {
    return { reason: 'this host runs systemd, where the restart fix uses systemctl on the machine\'s own PostgreSQL; the demo does not touch it' };
  }
  const binDir = findPgBinDir(env);
  if (!binDir) return { reason: 'PostgreSQL server binaries (initdb, pg_ctl) were not found (set PG_BINDIR to their directory)' };
  return { binDir };
}

export async function startDemo(opts: DemoOptions): Promise<Demo> {
  const say = opts.say ?? (() => {});
  const root = createSandboxRoot(opts.parentDir);
  let cluster: DemoCluster | null = null;
  let engine: Engine | null = null;
  let scenario: Scenario | null = null;
  let cleaned = false;
  let stopWatching: (() => void) | null = null;

  const removeDir = (): void => {
    if (opts.keep) return;
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
  const cleanupSync = (): void => {
    if (cleaned) return;
    cleaned = true;
    cluster?.shutdown();
    try {
      removeDir();
    } catch {
      /* nothing more we can do on the way out */
    }
  };
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    try {
      stopWatching?.();
      await scenario?.stop();
      await engine?.stop();
    } finally {
      cleanupSync();
    }
  };

  try {
    const durationMs = Math.max(5_000, opts.minutes * 60_000);
    let databaseSkipped: string | null = null;
    const pgInfo = opts.noPostgres ? { reason: 'disabled' } : postgresUnavailable();
    if ('binDir' in pgInfo) {
      try {
        cluster = await startDemoCluster(join(root, 'pg'), pgInfo.binDir);
      } catch (err) {
        databaseSkipped = `the demo's PostgreSQL did not start: ${errorMessage(err)}`;
      }
    } else {
      databaseSkipped = pgInfo.reason;
    }
    const sandbox = buildSandbox(root, {
      db: cluster ? { host: cluster.host, port: cluster.port, startArgv: cluster.startArgv, allowCommands: cluster.allowCommands } : null,
      unusedDbPort: await freePort(),
      httpPort: await freePort(),
      // Four probe rounds per minute of demo, between 0.5 and 2 s.
      probeIntervalMs: Math.round(Math.min(2000, Math.max(500, durationMs / 120))),
    });
    // The sandbox's config names its state dir; $ODOO_HEAL_STATE_DIR would send state to the real one.
    const { ODOO_HEAL_STATE_DIR: _ignored, ...env } = process.env;
    engine = await createEngine({
      configPath: sandbox.configPath,
      odooConfigPath: sandbox.odooConf,
      patternsDir: opts.globals.patterns,
      mode: opts.mode,
      env,
      ...(opts.emit ? { emit: opts.emit } : {}),
    });
    const eng = engine;
    // There is no Odoo in the sandbox: its process and HTTP findings are true but not the story, so
    // they are snoozed for the run (as a user pressing i would), which also keeps auto-heal off them.
    const snoozed = new Set<string>();
    const unsubscribe = eng.store.subscribe((s) => {
      for (const i of Object.values(s.incidents)) {
        if (NO_ODOO.has(i.fingerprint) && i.status === 'open' && !snoozed.has(i.id)) {
          snoozed.add(i.id);
          eng.snooze(i.id, durationMs + 24 * 3_600_000);
          eng.notice(`demo: snoozed “${i.title}” — the sandbox has no Odoo process`, 'info');
        }
      }
    });
    stopWatching = unsubscribe;
    await engine.start();
    scenario = new Scenario({
      sandbox,
      cluster,
      durationMs,
      hooks: {
        databaseStatus: () => eng.store.getState().probes.database?.status ?? null,
        say: (text) => {
          say(text);
          eng.notice(`demo: ${text}`, 'info');
        },
      },
    });
    const finished = scenario.run();
    return { sandbox, cluster, engine, scenario, databaseSkipped, finished, cleanup, cleanupSync };
  } catch (err) {
    await cleanup().catch(() => cleanupSync());
    throw err;
  }
}
