// The demo sandbox against real parts: files in a temp dir parsed by the real odoo.conf parser and
// config loader, a real Engine in auto mode following the replayed log, the real fixes, and (when the
// binaries exist) a real throwaway PostgreSQL that the scenario stops and the restart fix brings back.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/engine/config/load.js';
import { readOdooConf } from '../src/engine/config/odoo-conf.js';
import type { EngineEvent } from '../src/engine/run/engine.js';
import { startDemo, postgresUnavailable, type Demo } from '../src/demo/demo.js';
import { buildSandbox, createSandboxRoot, DENIED_ATTACHMENT } from '../src/demo/sandbox.js';
import { loadBundledLog, odooTimestamp, restamp, splitRecords, werkzeugTimestamp } from '../src/demo/records.js';

const parent = mkdtempSync(join(tmpdir(), 'odoo-heal-demo-test-'));
// The demo's cluster runs as the postgres OS user when we are root: it must be able to pass through.
chmodSync(parent, 0o711);
afterAll(() => rmSync(parent, { recursive: true, force: true }));

const withPg = 'binDir' in postgresUnavailable();

describe('demo records', () => {
  it('restamps a real record in Odoo\'s format and moves its paths into the sandbox', () => {
    const recs = loadBundledLog('permission_denied_filestore');
    const rec = recs.find((r) => r.lines.some((l) => l.startsWith('PermissionError')))!;
    const at = Date.UTC(2031, 0, 2, 3, 4, 5, 67);
    const out = restamp(rec, at, [['/tmp/realodoo/data', '/sandbox/data']]);
    expect(out[0]).toMatch(/^2031-01-02 03:04:05,067 9523 INFO healdb odoo\.addons\.base\.models\.ir_attachment: _file_write writing \/sandbox\/data\/filestore\/healdb\/24\//);
    expect(out.at(-1)).toBe(`PermissionError: [Errno 13] Permission denied: '/sandbox/data/filestore/healdb/${DENIED_ATTACHMENT}'`);
    expect(out.length).toBe(rec.lines.length);
    expect(odooTimestamp(at)).toBe('2031-01-02 03:04:05,067');
    expect(werkzeugTimestamp(at)).toBe('02/Jan/2031 03:04:05');
    const access = restamp(splitRecords('2026-11-28 19:52:36,581 8144 INFO healdb werkzeug: 127.0.0.1 - - [28/Nov/2026 19:52:36] "GET /web/health HTTP/1.1" 200 - 4 0.002 0.016\n')[0]!, at, []);
    expect(access[0]).toBe('2031-01-02 03:04:05,067 8144 INFO healdb werkzeug: 127.0.0.1 - - [02/Jan/2031 03:04:05] "GET /web/health HTTP/1.1" 200 - 4 0.002 0.016');
  });
});

describe('demo sandbox', () => {
  it('writes an odoo.conf and a config that the real parsers accept, every path inside the sandbox', async () => {
    const root = createSandboxRoot(parent);
    const sb = buildSandbox(root, { db: null, unusedDbPort: 59999, httpPort: 59998, probeIntervalMs: 1000 });
    const { conf } = readOdooConf(sb.odooConf);
    expect(conf.addonsPath).toEqual([sb.addonsDir]);
    expect(conf.dataDir).toBe(sb.dataDir);
    expect(conf.logfile).toBe(sb.logfile);
    expect(conf.dbPort).toBe(59999);
    expect(conf.dbName).toBe('healdb');
    const { config, odoo } = await loadConfig({ configPath: sb.configPath, env: {} });
    expect(odoo.path).toBe(sb.odooConf);
    expect(config.paths.stateDir).toBe(sb.stateDir);
    expect(config.paths.backupDir.startsWith(root)).toBe(true);
    expect(config.paths.auditLog.startsWith(root)).toBe(true);
    expect(config.escalation.threshold).toBe(1);
    expect(config.fixes.allowCommands).not.toContain('systemctl');
    expect(config.services).toEqual([]);
    expect(readFileSync(sb.cronXml, 'utf8')).toMatch(/name="numbercall"/);
    expect(statSync(join(sb.filestore, DENIED_ATTACHMENT)).isFile()).toBe(true);
    rmSync(root, { recursive: true, force: true });
  });
});

describe('demo scenario, headless (auto mode)', () => {
  it(
    'heals the cron XML, restarts its PostgreSQL, shows permission and session incidents, and cleans up',
    async () => {
      const events: EngineEvent[] = [];
      const demo: Demo = await startDemo({
        globals: { color: false },
        minutes: 0.3,
        mode: 'auto',
        emit: (e) => events.push(e),
        parentDir: parent,
      });
      const { sandbox, engine, cluster } = demo;
      try {
        expect(existsSync(sandbox.root)).toBe(true);
        await demo.finished;
        // Let a fix that started at the very end finish.
        for (let i = 0; i < 50 && engine.store.getState().busy; i++) await new Promise((r) => setTimeout(r, 200));
        const state = engine.store.getState();
        const incidents = Object.values(state.incidents);
        const attempts = state.attempts;

        // 1. cron: verified on the sandbox copy, which no longer has the removed fields.
        const cron = attempts.find((a) => a.fixId === 'cron-deprecated-fields' && a.outcome === 'verified');
        expect(cron, JSON.stringify(attempts)).toBeDefined();
        const xml = readFileSync(sandbox.cronXml, 'utf8');
        expect(xml).not.toMatch(/numbercall|name="doall"/);
        expect(xml).toMatch(/Legacy: archive stale partners/);

        // 3. permission: the incident names the sandbox filestore; policy leaves it to a human (alert with
        // plan) — then the console path (plan, confirm) repairs the file for real.
        const perm = incidents.find((i) => i.origin.kind === 'pattern' && i.origin.patternId === 'permission-denied');
        expect(perm, incidents.map((i) => i.fingerprint).join('\n')).toBeDefined();
        expect(perm!.fingerprint).toContain(sandbox.filestore);
        expect(events.some((e) => e.event === 'fix.needs-human' && e.incident === perm!.id)).toBe(true);
        await engine.requestPlan(perm!.id);
        expect(engine.store.getState().plan?.fixId).toBe('permissions');
        await engine.confirmPlan();
        const permAttempt = engine.store.getState().attempts.find((a) => a.fixId === 'permissions');
        expect(permAttempt?.outcome, permAttempt?.message).toBe('verified');
        const st = statSync(join(sandbox.filestore, DENIED_ATTACHMENT));
        expect(st.uid).toBe(process.getuid!() === 0 ? 65534 : process.getuid!());
        expect(st.mode & 0o600).toBe(0o600);

        // 4. sessions: the disk-full records opened the incident, but the disk is not really full, so
        // session-cleanup deletes nothing (a log record alone never deletes: docs/security.md).
        expect(incidents.some((i) => i.origin.kind === 'pattern' && i.origin.patternId === 'disk-full')).toBe(true);
        const sessions = attempts.find((a) => a.fixId === 'session-cleanup');
        expect(sessions?.outcome, sessions?.message).toBe('planned');
        expect(sessions!.message).toMatch(/nothing to apply/);
        const left = readdirSync(sandbox.sessionsDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
        expect(left).toHaveLength(40);

        // 2. database outage (only with PostgreSQL binaries).
        if (withPg) {
          expect(cluster, demo.databaseSkipped ?? '').not.toBeNull();
          const down = 'probe:database:down';
          expect(events.some((e) => e.event === 'incident.opened' && e.title && String(e.title).includes('refuses connections'))).toBe(true);
          expect(incidents.find((i) => i.fingerprint === down), 'the probe saw the outage').toBeDefined();
          const restart = attempts.find((a) => a.fixId === 'restart-service' && a.outcome === 'verified');
          expect(restart, JSON.stringify(attempts)).toBeDefined();
          expect(cluster!.isRunning()).toBe(true);
          const db = await engine.runProbe('database');
          expect(db.status).toBe('ok');
        } else {
          expect(demo.databaseSkipped).toMatch(/PostgreSQL|systemd/);
        }
      } finally {
        await demo.cleanup();
      }
      expect(existsSync(sandbox.root)).toBe(false);
      if (cluster) expect(cluster.isRunning()).toBe(false);
    },
    60_000,
  );
});

describe('demo command options', () => {
  it('accepts fractional minutes and rejects nonsense with a usage error naming --minutes', async () => {
    const { parseMinutes } = await import('../src/cli/commands/demo.js');
    expect(parseMinutes('0.3')).toBe(0.3);
    expect(parseMinutes(undefined)).toBe(4);
    for (const bad of ['abc', '0', '-1', '', '1000']) expect(() => parseMinutes(bad)).toThrow(/--minutes/);
  });
});
