// A throwaway Odoo-like layout for `odoo-heal --auto` end-to-end tests: temp addons (a copy of the
// broken legacy_cron addon), data dir, log file, odoo.conf, odoo-heal config and a copy of the
// pattern directory; plus a runner for the built CLI that collects its JSON lines.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { deepMerge } from './deep-merge.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');

/** Compiles src/ to dist/ unless dist is newer than every source file (npm test builds first anyway). */
export function ensureBuilt(): void {
  const newest = (dir: string, ext: RegExp): number => {
    let max = 0;
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile() && ext.test(e.name)) max = Math.max(max, statSync(join(e.parentPath, e.name)).mtimeMs);
    }
    return max;
  };
  const built = join(ROOT, 'dist', 'cli', 'commands', 'auto.js');
  if (existsSync(built) && newest(join(ROOT, 'dist'), /\.js$/) >= newest(join(ROOT, 'src'), /\.tsx?$/)) return;
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    // tsc still emits when a file elsewhere has type errors (parallel work); what matters is below.
  }
  if (!existsSync(built)) throw new Error('build failed: dist/cli/commands/auto.js missing');
}

export interface Sandbox {
  dir: string;
  addons: string;
  xml: string;
  dataDir: string;
  log: string;
  odooConf: string;
  config: string;
  patterns: string;
  stateDir: string;
  /** Appends a fixture log with its /tmp/realodoo paths moved into the sandbox. */
  /** `stampNow`: the records' timestamps become now (live records, not a pasted history). */
  appendFixture(name: string, times?: number, stampNow?: boolean): void;
  writeConfig(over: Record<string, unknown>): void;
  destroy(): void;
}

export interface SandboxOptions {
  dbPort: number;
  dbPassword: string;
  adminPasswd: string;
  /** Name of the filestore's database directory (the permission fixture's path is moved there). */
  filestoreDb?: string;
  /** db_name in odoo.conf (unset by default). */
  dbName?: string;
  config?: Record<string, unknown>;
}

export function createSandbox(opts: SandboxOptions): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-auto-'));
  const addons = join(dir, 'addons');
  const dataDir = join(dir, 'data');
  const filestoreDb = opts.filestoreDb ?? 'healdb';
  mkdirSync(join(dataDir, 'filestore', filestoreDb), { recursive: true });
  mkdirSync(addons);
  cpSync(join(FIXTURES, 'legacy_cron'), join(addons, 'legacy_cron'), { recursive: true });
  const patterns = join(dir, 'patterns');
  cpSync(join(ROOT, 'patterns'), patterns, { recursive: true });
  const log = join(dir, 'odoo.log');
  writeFileSync(log, '');
  const odooConf = join(dir, 'odoo.conf');
  writeFileSync(
    odooConf,
    [
      '[options]',
      `addons_path = ${addons}`,
      `data_dir = ${dataDir}`,
      `logfile = ${log}`,
      'db_host = 127.0.0.1',
      `db_port = ${opts.dbPort}`,
      'db_user = postgres',
      `db_password = ${opts.dbPassword}`,
      `admin_passwd = ${opts.adminPasswd}`,
      ...(opts.dbName ? [`db_name = ${opts.dbName}`] : []),
      '',
    ].join('\n'),
  );
  const stateDir = join(dir, 'state');
  const config = join(dir, 'config.yaml');
  const base = {
    // Nothing on this machine is probed or touched: no services, no endpoints, a closed HTTP port.
    odoo: { url: 'http://127.0.0.1:1', user: 'nobody' },
    logs: { files: [], commands: [] },
    services: [],
    endpoints: [],
    probes: { intervalMs: 1000, timeoutMs: 800 },
    escalation: { threshold: 1 },
    fixes: { unattended: ['cron-deprecated-fields'], allowCommands: [] },
    paths: { stateDir },
  };
  const sandbox: Sandbox = {
    dir,
    addons,
    xml: join(addons, 'legacy_cron', 'data', 'ir_cron_data.xml'),
    dataDir,
    log,
    odooConf,
    config,
    patterns,
    stateDir,
    appendFixture(name, times = 1, stampNow = false) {
      const raw = readFileSync(join(FIXTURES, 'logs', name), 'utf8');
      const text = (stampNow ? raw.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}/gm, odooStamp(new Date())) : raw)
        .replaceAll('/tmp/realodoo/custom_addons', addons)
        .replaceAll('/tmp/realodoo/data/filestore/healdb', join(dataDir, 'filestore', filestoreDb))
        .replaceAll('/tmp/realodoo/data', dataDir);
      appendFileSync(log, text.repeat(times));
    },
    writeConfig(over) {
      writeFileSync(config, stringify(deepMerge(base, over)));
    },
    destroy() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  sandbox.writeConfig(opts.config ?? {});
  return sandbox;
}

export type Line = { time: string; level: string; event: string; [k: string]: unknown };

export interface AutoProcess {
  child: ChildProcess;
  lines: Line[];
  /** Raw stdout and stderr text, for secret scans. */
  stdout(): string;
  stderr(): string;
  /** Lines that were not one JSON object. */
  garbage: string[];
  waitFor(pred: (l: Line) => boolean, what: string, timeoutMs?: number): Promise<Line>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

export function startAuto(sb: Sandbox, env: NodeJS.ProcessEnv = {}): AutoProcess {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'odoo-heal'), '--auto', '--config', sb.config, '--odoo-config', sb.odooConf, '--patterns', sb.patterns],
    { cwd: sb.dir, env: { PATH: process.env.PATH, HOME: sb.dir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return collectJsonLines(child);
}

/** Collects a child's stdout as JSON lines (the `--auto` output) with a waitFor over them. */
export function collectJsonLines(child: ChildProcess): AutoProcess {
  const lines: Line[] = [];
  const garbage: string[] = [];
  let out = '';
  let err = '';
  let pending = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    pending += d.toString();
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try {
        const v = JSON.parse(text) as unknown;
        if (v && typeof v === 'object' && !Array.isArray(v)) lines.push(v as Line);
        else garbage.push(text);
      } catch {
        garbage.push(text);
      }
    }
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const l of listeners) l();
  });
  return {
    child,
    lines,
    garbage,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (s) => child.kill(s),
    waitFor(pred, what, timeoutMs = 20_000) {
      return new Promise((resolveLine, reject) => {
        let from = 0;
        const check = (): boolean => {
          for (; from < lines.length; from++) {
            if (pred(lines[from]!)) {
              resolveLine(lines[from]!);
              return true;
            }
          }
          if (gone) {
            reject(new Error(`odoo-heal exited while waiting for ${what}; stderr: ${err}\nlast lines: ${JSON.stringify(lines.slice(-5))}`));
            return true;
          }
          return false;
        };
        if (check()) return;
        const t = setTimeout(() => {
          listeners.delete(l);
          reject(new Error(`timed out waiting for ${what}; stderr: ${err}\nlast lines: ${JSON.stringify(lines.slice(-8))}`));
        }, timeoutMs);
        const l = () => {
          if (check()) {
            clearTimeout(t);
            listeners.delete(l);
          }
        };
        listeners.add(l);
      });
    },
  };
}

/** Odoo's header time (local, like Odoo writes it). */
function odooStamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}
