// The demo's timeline: Odoo starting and serving requests (replayed chatter), then four incidents
// injected over the run, each made REAL in the sandbox before its record is written, so the fix that
// odoo-heal proposes has something true to act on:
//   1. cron: the real ParseError of legacy_cron, its path pointing at the sandbox copy of the addon;
//   2. database: the demo cluster is stopped, then Odoo's real OperationalError records follow;
//   3. permission: an attachment file in the sandbox filestore becomes unreadable / foreign-owned;
//   4. disk: expired session files pile up, then Odoo's real "No space left on device" records.
import { chmodSync, chownSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { LogWriter } from './log-writer.js';
import { findRecord, loadBundledLog, recordText } from './records.js';
import { DENIED_ATTACHMENT, type Sandbox } from './sandbox.js';
import type { DemoCluster } from './pg.js';

const DAY_MS = 86_400_000;

export type StepName = 'cron' | 'database' | 'permission' | 'sessions';

/** When each incident starts, as a share of the run (so --minutes scales the whole story). */
export const TIMELINE: ReadonlyArray<{ step: StepName; at: number }> = [
  { step: 'cron', at: 0.05 },
  { step: 'database', at: 0.2 },
  { step: 'permission', at: 0.5 },
  { step: 'sessions', at: 0.7 },
];

export interface ScenarioHooks {
  /** Status of the engine's database probe ('ok', 'warning', 'critical', 'unknown') or null before the first run. */
  databaseStatus(): string | null;
  /** One line of narration (console notice / JSON event). */
  say(text: string): void;
}

export interface ScenarioOptions {
  sandbox: Sandbox;
  cluster: DemoCluster | null;
  durationMs: number;
  hooks: ScenarioHooks;
  isRoot?: boolean;
  now?: () => number;
}

/** Record slices of the bundled logs, chosen by their (real) text. */
function slices() {
  const base = loadBundledLog('baseline_threaded_server');
  const cron = loadBundledLog('cron_deprecated_field');
  const db = loadBundledLog('db_connection_threaded');
  const perm = loadBundledLog('permission_denied_filestore');
  const disk = loadBundledLog('disk_full_filestore');
  const firstRequest = findRecord(base, 'Generating routing map');
  const outageStart = findRecord(db, 'Connection to the database failed');
  let outageEnd = outageStart;
  for (let i = outageStart; i < db.length; i++) if (/OperationalError|RegistryError/.test(recordText(db[i]!))) outageEnd = i;
  const permStart = findRecord(perm, 'Login successful');
  const permEnd = findRecord(perm, / ERROR healdb odoo\.http: [\s\S]*PermissionError/, permStart);
  const diskStart = findRecord(disk, 'Login successful');
  const diskEnd = findRecord(disk, 'Initiating shutdown', diskStart);
  return {
    startup: base.slice(0, firstRequest),
    chatter: base.slice(firstRequest, findRecord(base, 'Initiating shutdown')),
    cron: cron.slice(findRecord(cron, 'updating modules list')),
    outage: db.slice(outageStart, outageEnd + 1),
    recovery: db.slice(outageEnd + 1, outageEnd + 6),
    permission: perm.slice(permStart, permEnd + 1),
    disk: disk.slice(diskStart, diskEnd),
  };
}

export class Scenario {
  readonly writer: LogWriter;
  private stopped = false;
  private readonly started: number;
  private readonly now: () => number;
  private readonly parts = slices();
  private outage: Promise<void> | null = null;
  /** Steps that ran, and why a step was skipped. */
  readonly ran: StepName[] = [];
  readonly skipped: Array<{ step: StepName; why: string }> = [];
  private wakers = new Set<() => void>();

  constructor(private readonly opts: ScenarioOptions) {
    this.now = opts.now ?? Date.now;
    this.started = this.now();
    // Record gaps scale with the run: a 4-minute demo reads at a human pace, a test run fast.
    const pace = Math.min(1, Math.max(0.05, opts.durationMs / 240_000));
    this.writer = new LogWriter({ path: opts.sandbox.logfile, rewrites: opts.sandbox.rewrites, pace });
  }

  /** Plays the whole timeline; resolves at the end of the run (or when stopped). */
  async run(): Promise<void> {
    await this.writer.play(this.parts.startup, 120);
    this.writer.startChatter(this.parts.chatter);
    for (const { step, at } of TIMELINE) {
      await this.until(at * this.opts.durationMs);
      if (this.stopped) return;
      await this.inject(step);
    }
    await this.until(this.opts.durationMs);
    if (this.outage) await Promise.race([this.outage, this.until(this.opts.durationMs + 30_000)]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    await this.writer.stop();
  }

  private until(offsetMs: number): Promise<void> {
    const wait = this.started + offsetMs - this.now();
    if (wait <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, wait);
      this.wakers.add(done);
    });
  }

  private async inject(step: StepName): Promise<void> {
    switch (step) {
      case 'cron':
        this.opts.hooks.say(`incident 1/4: legacy_cron fails to install (deprecated ir.cron fields) — ${this.opts.sandbox.cronXml}`);
        await this.writer.play(this.parts.cron, 60);
        break;
      case 'database':
        if (!this.opts.cluster) {
          this.skipped.push({ step, why: 'no PostgreSQL cluster in this sandbox' });
          return;
        }
        // Runs alongside the rest of the story: the database stays down until someone (or --auto) heals it.
        this.outage = this.databaseOutage(this.opts.cluster).catch((err: unknown) => {
          this.opts.hooks.say(`the database outage could not be staged: ${err instanceof Error ? err.message : String(err)}`);
        });
        break;
      case 'permission':
        this.breakPermission();
        this.opts.hooks.say(`incident 3/4: an attachment in the filestore is no longer Odoo's — ${join(this.opts.sandbox.filestore, DENIED_ATTACHMENT)}`);
        await this.writer.play(this.parts.permission, 80);
        break;
      case 'sessions': {
        const n = this.bloatSessions();
        this.opts.hooks.say(`incident 4/4: ${n} expired session files in ${this.opts.sandbox.sessionsDir} and Odoo's "No space left" records (forged: this disk is not full, so nothing may be deleted)`);
        await this.writer.play(this.parts.disk, 80);
        break;
      }
    }
    this.ran.push(step);
  }

  private async databaseOutage(cluster: DemoCluster): Promise<void> {
    const { hooks } = this.opts;
    hooks.say(`incident 2/4: PostgreSQL of the sandbox (127.0.0.1:${cluster.port}) stops`);
    this.writer.stopChatter();
    cluster.stop();
    // Odoo notices on its next query; the probe notices on its next round. Let the probe see it first.
    const seenBy = this.now() + 15_000;
    while (!this.stopped && hooks.databaseStatus() === 'ok' && this.now() < seenBy) await this.writer.sleepReal(100);
    for (const r of this.parts.outage) {
      if (this.stopped) return;
      if (hooks.databaseStatus() === 'ok') break; // healed: Odoo reconnects on its next request
      await this.writer.write(r);
      await this.writer.sleep(400 * (0.5 + Math.random()));
    }
    // Quiet until the database is back (the console waits for f, y; --auto restarts it).
    while (!this.stopped && hooks.databaseStatus() !== 'ok') await this.writer.sleepReal(200);
    if (this.stopped) return;
    hooks.say('PostgreSQL answers again; Odoo serves requests again');
    await this.writer.play(this.parts.recovery, 100);
    this.writer.startChatter(this.parts.chatter);
  }

  /** Root: the file (Odoo's user is `nobody`) is left owned by root, as a restore run as root does. Else mode 000. */
  private breakPermission(): void {
    const file = join(this.opts.sandbox.filestore, DENIED_ATTACHMENT);
    const isRoot = this.opts.isRoot ?? process.getuid?.() === 0;
    if (isRoot) chownSync(file, 0, 0);
    chmodSync(file, 0o000);
  }

  /** Session files as Odoo 18 stores them (sessions/<2 chars>/<sid>), most of them 30 days old. */
  private bloatSessions(): number {
    const old = this.now() - 30 * DAY_MS;
    let n = 0;
    for (let i = 0; i < 40; i++) {
      const sid = randomBytes(21).toString('base64url').slice(0, 42);
      const dir = join(this.opts.sandbox.sessionsDir, sid.slice(0, 2));
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      const file = join(dir, sid);
      writeFileSync(file, JSON.stringify({ db: this.opts.sandbox.db, login: 'admin', uid: 2, context: { lang: 'en_US' }, pad: 'x'.repeat(4096) }));
      if (i < 34) {
        utimesSync(file, old / 1000, old / 1000);
        n++;
      }
    }
    return n;
  }
}
