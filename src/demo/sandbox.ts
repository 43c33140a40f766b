// The demo sandbox: a temp directory laid out like a small Odoo 18 install (odoo.conf, an addons dir
// with the broken legacy_cron addon, a data dir with filestore/healdb and sessions, a log file) plus
// odoo-heal's own config pointing every path — state, backups, audit log — inside it. Nothing here
// refers to the machine's own Odoo, PostgreSQL or state.
import { cpSync, chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { demoDataDir } from './records.js';
import { DEMO_DB, DEMO_DB_USER } from './pg.js';

/** Where the sample logs were recorded (MANIFEST.md): replayed paths are rewritten from these. */
export const RECORDED = {
  dataDir: '/tmp/realodoo/data',
  smallDisk: '/tmp/realodoo/smalldisk',
  addonsDir: '/tmp/realodoo/custom_addons',
  dbPort: '55432',
} as const;

/** The attachment the recorded PermissionError names (filestore/healdb/24/...). */
export const DENIED_ATTACHMENT = '24/2494648b98d44f8e9e2a4cb78c502135409e246d';

export interface SandboxDb {
  host: string;
  port: number;
  /** Restart command for fixes.restart.postgresql, and what fixes.allowCommands must admit for it. */
  startArgv: string[];
  allowCommands: string[];
}

export interface Sandbox {
  root: string;
  odooConf: string;
  configPath: string;
  addonsDir: string;
  /** The sandbox copy of legacy_cron's data XML (the file the cron fix edits). */
  cronXml: string;
  dataDir: string;
  filestore: string;
  sessionsDir: string;
  logfile: string;
  stateDir: string;
  /** Directory reserved for the demo's PostgreSQL cluster (created by startDemoCluster). */
  pgDir: string;
  db: string;
  /** Replayed text: recorded paths/port → sandbox paths/port. */
  rewrites: Array<[string, string]>;
}

/** uid/gid of `nobody` on Debian and most distributions. */
export const NOBODY_UID = 65534;

function chownTree(p: string, uid: number, gid: number): void {
  chownSync(p, uid, gid);
  if (!lstatSync(p).isDirectory()) return;
  for (const e of readdirSync(p)) chownTree(join(p, e), uid, gid);
}

/** Creates the sandbox directory (and nothing else yet): the cluster needs it before the config. */
export function createSandboxRoot(parent = tmpdir()): string {
  const root = mkdtempSync(join(parent, 'odoo-heal-demo-'));
  // The postgres OS user runs the cluster below it (as root) and must be able to pass through.
  chmodSync(root, 0o711);
  return root;
}

export interface SandboxOptions {
  /** The demo cluster, or null when PostgreSQL is not available (the outage is skipped). */
  db: SandboxDb | null;
  /** Port for odoo.conf's db_port when there is no cluster (nothing listens there). */
  unusedDbPort: number;
  /** odoo.conf http_port: a free port, nothing answers there (there is no Odoo in the sandbox). */
  httpPort: number;
  /** Probe interval; shorter for short demos (tests). */
  probeIntervalMs: number;
  isRoot?: boolean;
}

/** Writes everything into `root` (from createSandboxRoot). */
export function buildSandbox(root: string, opts: SandboxOptions): Sandbox {
  const isRoot = opts.isRoot ?? process.getuid?.() === 0;
  const addonsDir = join(root, 'addons');
  const dataDir = join(root, 'data');
  const filestore = join(dataDir, 'filestore', DEMO_DB);
  const sessionsDir = join(dataDir, 'sessions');
  const logDir = join(root, 'log');
  const logfile = join(logDir, 'odoo.log');
  const stateDir = join(root, 'state');
  for (const d of [addonsDir, filestore, sessionsDir, logDir, stateDir]) mkdirSync(d, { recursive: true, mode: 0o755 });

  // The broken addon, as shipped (numbercall/doall in its cron XML), writable like a checkout would be.
  const addon = join(addonsDir, 'legacy_cron');
  cpSync(join(demoDataDir(), 'legacy_cron'), addon, { recursive: true });
  chmodSync(addon, 0o755);
  chmodSync(join(addon, 'data'), 0o755);
  const cronXml = join(addon, 'data', 'ir_cron_data.xml');
  for (const f of ['__init__.py', '__manifest__.py', 'data/ir_cron_data.xml']) chmodSync(join(addon, f), 0o644);

  // A few attachments, among them the one the recorded PermissionError names.
  for (const rel of [DENIED_ATTACHMENT, '7e/7eca2d5b5ef01456a54d653dc15cd2a8c767a3e8', 'b9/b90eca09fdf41b5e325bbb9e8833a5ac46cc80b5']) {
    mkdirSync(join(filestore, rel.slice(0, 2)), { recursive: true, mode: 0o755 });
    writeFileSync(join(filestore, rel), `odoo-heal demo attachment ${rel}\n`, { mode: 0o644 });
  }
  writeFileSync(logfile, '', { mode: 0o644 });
  // As root, Odoo's user is `nobody` and owns its data dir, as on a real install: the permissions fix
  // only hands files back to Odoo's user from root, never from another user (docs/security.md).
  if (isRoot) chownTree(dataDir, NOBODY_UID, NOBODY_UID);

  const dbPort = opts.db?.port ?? opts.unusedDbPort;
  const odooConf = join(root, 'odoo.conf');
  const conf = [
    '; odoo-heal demo sandbox: written by `odoo-heal demo`, removed when it ends.',
    '[options]',
    `addons_path = ${addonsDir}`,
    `data_dir = ${dataDir}`,
    `logfile = ${logfile}`,
    `db_host = ${opts.db?.host ?? '127.0.0.1'}`,
    `db_port = ${dbPort}`,
    `db_user = ${DEMO_DB_USER}`,
    `db_name = ${DEMO_DB}`,
    `http_port = ${opts.httpPort}`,
    'workers = 0',
    'max_cron_threads = 2',
    '',
  ].join('\n');
  writeFileSync(odooConf, conf, { mode: 0o644 });

  const ladders: Record<string, unknown[]> = {
    // There is no Odoo process in the sandbox: say so once instead of trying to restart it.
    'probe:process:down': [{ action: 'alert' }],
    'probe:database:down': opts.db
      ? [{ action: 'wait' }, { action: 'fix', fix: 'restart-service', params: { service: 'postgresql' } }, { action: 'alert' }]
      : [{ action: 'alert' }],
  };
  const config = {
    odoo: {
      config: odooConf,
      // As root Odoo's user is `nobody` (owner of the data dir) and the permission incident leaves an
      // attachment owned by root. Otherwise the data dir's owner (us) is Odoo's user, found by the fix itself.
      user: isRoot ? 'nobody' : null,
    },
    logs: { files: [], commands: [] },
    probes: { intervalMs: opts.probeIntervalMs, timeoutMs: Math.min(2000, opts.probeIntervalMs) },
    // Only the sandbox's own services: the machine's redis/nginx are none of the demo's business.
    services: [],
    fixes: {
      // Never systemctl: the demo must not touch the machine's services.
      allowCommands: opts.db ? opts.db.allowCommands : [],
      restart: opts.db ? { postgresql: opts.db.startArgv } : {},
      commandTimeoutMs: 60_000,
      sessionMaxAgeDays: 7,
    },
    escalation: {
      // Act on the first sighting so the demo does not wait for repeats.
      threshold: 1,
      backoffBaseMs: 5_000,
      backoffMaxMs: 60_000,
      ladders,
    },
    paths: { stateDir },
  };
  const configPath = join(root, 'odoo-heal.yaml');
  writeFileSync(
    configPath,
    `# odoo-heal config of the demo sandbox (see docs/demo.md)\n${stringify(config, { lineWidth: 0 })}`,
    { mode: 0o600 },
  );

  const rewrites: Array<[string, string]> = [
    [RECORDED.addonsDir, addonsDir],
    [RECORDED.dataDir, dataDir],
    [RECORDED.smallDisk, dataDir],
    [`port ${RECORDED.dbPort}`, `port ${dbPort}`],
    [`127.0.0.1:${RECORDED.dbPort}`, `127.0.0.1:${dbPort}`],
  ];
  return {
    root,
    odooConf,
    configPath,
    addonsDir,
    cronXml,
    dataDir,
    filestore,
    sessionsDir,
    logfile,
    stateDir,
    pgDir: join(root, 'pg'),
    db: DEMO_DB,
    rewrites,
  };
}
