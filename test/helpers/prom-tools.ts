// Real Prometheus and Alertmanager servers (Debian packages `prometheus`, `prometheus-alertmanager`)
// for tests: each on 127.0.0.1 with a free port and its own temp dir, stopped by the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/demo/pg.js';

export { freePort };

const BIN = {
  prometheus: ['/usr/bin/prometheus'],
  promtool: ['/usr/bin/promtool'],
  alertmanager: ['/usr/bin/prometheus-alertmanager', '/usr/bin/alertmanager'],
} as const;

export function findTool(name: keyof typeof BIN): string | null {
  return BIN[name].find((p) => existsSync(p)) ?? null;
}

/** Why a test that needs these tools is skipped, or null when all are there. */
export function missingTools(...names: Array<keyof typeof BIN>): string | null {
  const missing = names.filter((n) => findTool(n) === null);
  return missing.length ? `${missing.join(', ')} not installed (Debian packages prometheus, prometheus-alertmanager; .ci/run installs them)` : null;
}

export interface Server {
  url: string;
  port: number;
  dir: string;
  output(): string;
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, output: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before ready:\n${output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`not ready at ${url} within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function startServer(bin: string, args: (port: number, dir: string) => string[], files: Record<string, string>, readyPath: string): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-prom-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const port = await freePort();
  const child = spawn(bin, args(port, dir), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url + readyPath, child, () => out);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, dir, output: () => out, stop };
}

export function startAlertmanager(configYaml: string): Promise<Server> {
  return startServer(
    findTool('alertmanager')!,
    (port, dir) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // No gossip: a single test instance must not look for peers.
      '--cluster.listen-address=',
    ],
    { 'alertmanager.yml': configYaml },
    '/-/ready',
  );
}

export function startPrometheus(configYaml: string, extraFiles: Record<string, string> = {}): Promise<Server> {
  return startServer(
    findTool('prometheus')!,
    (port, dir) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
    ],
    { 'prometheus.yml': configYaml, ...extraFiles },
    '/-/ready',
  );
}
