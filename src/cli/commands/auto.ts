// `odoo-heal --auto`: the console's engine with nobody at the keyboard, for systemd. No terminal,
// no Ink: one JSON object per line on stdout (journald stores each as one entry), secrets redacted
// in every line. Policy (FixDesk, mode 'auto') runs only the fixes allowed unattended; the rest
// becomes an alert with the plan attached.
//
// Signals: SIGTERM/SIGINT stop taking work, let a running fix finish or roll back, drain alerts and
// exit 0. SIGHUP loads config AND patterns first; if either is bad, one error line names the file
// and the old ones stay in force; if both are good the engine is replaced (state lives in files:
// escalation counters, attempts, audit log).
import { createAlertmanagerSink } from '../../engine/outputs/alerts/alertmanager.js';
import { createAlertSink } from '../../engine/outputs/alerts/dispatcher.js';
import { fanout, type PendingSink } from '../../engine/outputs/alerts/fanout.js';
import { startHttpApi, type HttpApi } from '../../engine/outputs/http-api.js';
import { writePeriodicReport } from '../../engine/outputs/report.js';
import type { AlertSink } from '../../engine/run/alert-sink.js';
import { loadConfig, type LoadedConfig } from '../../engine/config/load.js';
import { defaultSources, Engine, type EngineEvent } from '../../engine/run/engine.js';
import type { ReadPosition } from '../../engine/logs/sources.js';
import { errorMessage } from '../../engine/core/errors.js';
import { loadPatternLayers, patternLayers } from '../../engine/patterns/load.js';
import { redactDeep, secretsOf } from '../../engine/outputs/redact.js';
import { createSdNotifier } from '../../engine/outputs/sd-notify.js';
import type { GlobalOptions } from '../global-options.js';
import { jsonLine, jsonLogStream } from '../output.js';

/** How often --auto writes report.json / report.md into the state directory. */
const REPORT_EVERY_MS = 5 * 60_000;

/** How long shutdown waits for queued alerts after the engine stopped. */
const ALERT_DRAIN_MS = 5000;

type Line = EngineEvent;

/** One JSON object per line, redacted. Holds the secrets of every config loaded so far. */
class JsonLog {
  /** Live list: the alert dispatcher holds this same array, so a reload's new secrets reach it too. */
  private readonly secrets: string[] = [];
  constructor(private readonly out: NodeJS.WritableStream) {
    // A closed stdout (journald restarted, `| head`) must not crash the healer.
    out.on('error', () => undefined);
  }
  addSecrets(values: readonly string[]): void {
    for (const v of values) if (!this.secrets.includes(v)) this.secrets.push(v);
  }
  knownSecrets(): readonly string[] {
    return this.secrets;
  }
  write(e: Line): void {
    const { level, event, ...rest } = e;
    const line = redactDeep({ time: new Date().toISOString(), level, event, ...rest }, this.secrets);
    this.out.write(jsonLine(line));
  }
}

interface Generation {
  loaded: LoadedConfig;
  patternsDir: string[];
  patternCount: number;
}

/** Loads config + odoo.conf + patterns; throws (ConfigError naming the file) if any is bad. */
async function loadGeneration(globals: GlobalOptions): Promise<Generation> {
  const loaded = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig });
  const patternsDir = patternLayers(globals.patterns, loaded.config.patterns.localDir);
  const patternCount = loadPatternLayers(patternsDir).length;
  return { loaded, patternsDir, patternCount };
}

/** The engine's view of the sink: alerts are logged as they happen; closing is ours to do. */
function engineSink(log: JsonLog, current: () => AlertSink, cooldownMs: () => number): AlertSink {
  // The engine re-raises an open incident on every probe round; the journal gets one line per
  // incident and kind per cooldown, like the channel does (the dispatcher still sees every event).
  const logged = new Map<string, number>();
  return {
    notify(event) {
      const key = `${event.incident.id}|${event.kind}|${event.attempt?.id ?? ''}`;
      const last = logged.get(key);
      if (last !== undefined && event.at - last < cooldownMs()) {
        current().notify(event);
        return;
      }
      logged.set(key, event.at);
      const level = event.kind === 'resolved' || (event.kind === 'fix-result' && event.attempt?.outcome === 'verified') ? 'info' : event.kind === 'gave-up' ? 'error' : 'warning';
      log.write({
        level,
        event: `alert.${event.kind}`,
        incident: event.incident.id,
        title: event.incident.title,
        severity: event.incident.severity,
        ...(event.incident.fix ? { fix: event.incident.fix.id } : {}),
        ...(event.attempt ? { attempt: event.attempt.id, outcome: event.attempt.outcome } : {}),
        ...(event.plan ? { plan: event.plan.summary } : {}),
        ...(event.symptoms && event.symptoms.length > 0 ? { symptoms: event.symptoms.map((s) => s.id) } : {}),
      });
      current().notify(event);
    },
    // The sink outlives one engine across SIGHUP reloads; run() closes it on exit.
    async close() {},
  };
}

export async function run(globals: GlobalOptions): Promise<number> {
  const log = new JsonLog(jsonLogStream());
  const sd = createSdNotifier({ onError: (message) => log.write({ level: 'warning', event: 'sd_notify.failed', error: message }) });

  let gen = await loadGeneration(globals); // a bad file at start: ConfigError → one line, exit 2
  log.addSecrets(secretsOf(gen.loaded.config, gen.loaded.odoo));
  for (const w of gen.loaded.warnings) log.write({ level: 'warning', event: 'config.warning', text: w });

  const newSink = (g: Generation): PendingSink =>
    fanout(
      createAlertSink(g.loaded.config.alerts, { log: (e) => log.write(e), secrets: log.knownSecrets() }),
      createAlertmanagerSink(g.loaded.config.alerts.targets, {
        log: (e) => log.write(e),
        secrets: log.knownSecrets(),
        timeoutMs: g.loaded.config.alerts.timeoutMs,
      }),
    );
  let sink = newSink(gen);
  const sinkForEngine = engineSink(log, () => sink, () => gen.loaded.config.alerts.cooldownMs);

  /** `resume`: after a reload, where the previous engine stopped reading each file. */
  const makeEngine = (g: Generation, resume: ReadonlyMap<string, ReadPosition> | null): Engine => {
    const { config, odoo } = g.loaded;
    const engine = new Engine({
      config,
      odoo,
      patternsDir: g.patternsDir,
      mode: 'auto',
      emit: (e) => log.write(e),
      // After a reload, go on where the previous engine stopped: re-reading the logs' tail would
      // report (and alert on) incidents it already handled, and starting at their end would miss
      // what was written during the reload. A file new to this config starts at its end.
      ...(resume ? { sources: defaultSources(config, odoo, 'end', resume) } : {}),
    });
    engine.desk.alerts = sinkForEngine;
    // Fix progress is only in the store; a line per step shows in the journal what is running.
    engine.store.subscribe((s, prev) => {
      if (s.busy && (s.busy.step !== prev.busy?.step || s.busy.incidentId !== prev.busy?.incidentId)) {
        log.write({ level: 'info', event: 'fix.step', incident: s.busy.incidentId, fix: s.busy.fixId, step: s.busy.step });
      }
    });
    return engine;
  };

  let engine!: Engine;
  let api: HttpApi | null = null;

  /** The optional HTTP listener (/health, /metrics, /incidents) follows the engine across reloads. */
  const stopApi = async (): Promise<void> => {
    await api?.close();
    api = null;
  };
  const restartApi = async (): Promise<void> => {
    await stopApi();
    if (!engine.config.http.enabled) return;
    try {
      api = await startHttpApi(engine); // logs http.listening itself
    } catch (err) {
      log.write({ level: 'error', event: 'http.failed', error: errorMessage(err) });
    }
  };
  const writeReport = (): Promise<void> =>
    writePeriodicReport(engine).then(
      () => undefined,
      (err: unknown) => log.write({ level: 'warning', event: 'report.failed', error: errorMessage(err) }),
    );

  const reload = async (): Promise<void> => {
    log.write({ level: 'info', event: 'reload.requested' });
    let next: Generation;
    try {
      next = await loadGeneration(globals);
    } catch (err) {
      // ConfigError's message starts with the file (and field): that is the one line an operator needs.
      log.write({ level: 'error', event: 'reload.failed', error: errorMessage(err), kept: 'previous config and patterns stay in force' });
      await sd.status(`reload failed, previous config in force: ${errorMessage(err)}`);
      return;
    }
    log.addSecrets(secretsOf(next.loaded.config, next.loaded.odoo));
    for (const w of next.loaded.warnings) log.write({ level: 'warning', event: 'config.warning', text: w });
    await engine.stop();
    const positions = engine.readPositions();
    if (JSON.stringify(next.loaded.config.alerts) !== JSON.stringify(gen.loaded.config.alerts)) {
      const old = sink;
      sink = newSink(next);
      await old.close(ALERT_DRAIN_MS);
    }
    try {
      engine = makeEngine(next, positions);
      await engine.start();
      gen = next;
      log.write({ level: 'info', event: 'reloaded', config: gen.loaded.config.path, patterns: gen.patternsDir, patternCount: gen.patternCount });
      await restartApi();
    } catch (err) {
      // The new files parsed but the engine would not start on them (e.g. a log file vanished):
      // go back to what worked rather than run blind.
      log.write({ level: 'error', event: 'reload.failed', error: errorMessage(err), kept: 'previous config and patterns stay in force' });
      await engine.stop().catch(() => undefined);
      engine = makeEngine(gen, new Map([...positions, ...engine.readPositions()]));
      await engine.start();
      await restartApi();
    }
    await sd.status(describe(gen));
  };

  // Reloads and shutdown are serialised: a SIGTERM during a reload waits for it, then stops.
  let busy: Promise<void> = Promise.resolve();
  let stopping = false;

  // Handlers go in before anything starts: a SIGHUP during start-up must not kill us (its default
  // action), and a SIGTERM during start-up stops cleanly once the engine is up.
  let started!: () => void;
  const ready = new Promise<void>((r) => (started = r));
  busy = ready;
  const done = new Promise<string>((resolve) => {
    const onStop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.write({ level: 'warning', event: 'signal.ignored', signal, reason: 'already stopping; waiting for the running fix' });
        return;
      }
      stopping = true;
      resolve(signal);
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', () => {
      if (stopping) return;
      busy = busy.then(reload).catch((err: unknown) => log.write({ level: 'error', event: 'reload.failed', error: errorMessage(err) }));
    });
  });

  // Followed files keep the event loop busy, but with no log source at all nothing would: without
  // this handle Node would exit 0 right after READY and systemd would restart us in a loop.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  engine = makeEngine(gen, null);
  await engine.start();
  await restartApi();
  const reportTimer = setInterval(() => void writeReport(), REPORT_EVERY_MS);
  const describe = (g: Generation): string =>
    `watching ${g.loaded.config.logs.files.length + (g.loaded.odoo.logfile ? 1 : 0)} log file(s) with ${g.patternCount} patterns`;
  log.write({ level: 'info', event: 'ready', config: gen.loaded.config.path, odooConfig: gen.loaded.odoo.path, patterns: gen.patternsDir, patternCount: gen.patternCount, pid: process.pid });
  await sd.ready(describe(gen));

  started();

  const signal = await done;
  clearInterval(keepAlive);
  clearInterval(reportTimer);
  log.write({ level: 'info', event: 'stopping', signal });
  await sd.stopping(`stopping on ${signal}`);
  await busy;
  await stopApi();
  await engine.stop(); // waits for a running fix to finish or roll back; its audit entries are written by then
  await writeReport();
  await sink.close(ALERT_DRAIN_MS);
  log.write({ level: 'info', event: 'stopped', signal });
  return 0;
}
