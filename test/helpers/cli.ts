// Runs the built CLI (`node bin/odoo-heal`) as a child process, as an admin or a CI job would.
// `npm test` builds first; a stale or missing dist/ is rebuilt once here for single-file runs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'odoo-heal');

export function ensureBuilt(sources: string[]): void {
  const stale = sources.some((src) => {
    const out = join(ROOT, src.replace(/^src\//, 'dist/').replace(/\.tsx?$/, '.js'));
    return !existsSync(out) || statSync(join(ROOT, src)).mtimeMs > statSync(out).mtimeMs;
  });
  if (stale) spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Async so a test can run servers (fake Odoo, hang server) in the same process meanwhile. */
export function runCli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started }));
    child.stdin.end(opts.input ?? '');
  });
}
