// The automation artefacts in deploy/: the investigation procedure only names commands and options the
// CLI really has and every transition goes somewhere; the CI gate script runs the built CLI for real
// (probes pointed at a closed local port, so the verdict is CRITICAL without touching machine services).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../src/cli/main.js';

const ROOT = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'oh-deploy-'));

interface Exit {
  next?: string;
  unless?: string;
  when_empty?: string;
  after_max_rounds?: string;
}
interface Step {
  id: string;
  command: string[];
  command_for_detect_only?: string[];
  on_exit: Record<string, Exit>;
}
interface Procedure {
  format: string;
  start: string;
  inputs: Record<string, { default: unknown }>;
  terminal: Record<string, string>;
  steps: Step[];
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

beforeAll(() => {
  const out = join(ROOT, 'dist/cli/commands/check.js');
  if (!existsSync(out) || statSync(join(ROOT, 'src/cli/commands/check.ts')).mtimeMs > statSync(out).mtimeMs) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  }
}, 180_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('deploy/investigation.yaml', () => {
  const proc = parse(readFileSync(join(ROOT, 'deploy/investigation.yaml'), 'utf8')) as Procedure;

  it('has the five steps, and every transition leads to a step or a terminal action', () => {
    expect(proc.format).toBe('odoo-heal/investigation@1');
    expect(proc.steps.map((s) => s.id)).toEqual(['check', 'detect', 'plan', 'fix', 'verify']);
    const targets = new Set([...proc.steps.map((s) => s.id), ...Object.keys(proc.terminal)]);
    expect(targets.has(proc.start)).toBe(true);
    for (const step of proc.steps) {
      expect(Object.keys(step.on_exit), step.id).toContain('other');
      for (const [code, exit] of Object.entries(step.on_exit)) {
        expect(code === 'other' || /^[0-9]+$/.test(code), `${step.id}: exit ${code}`).toBe(true);
        for (const t of [exit.next, exit.unless, exit.when_empty, exit.after_max_rounds]) {
          if (t !== undefined) expect(targets.has(t), `${step.id} exit ${code} → ${t}`).toBe(true);
        }
        expect(exit.next, `${step.id} exit ${code} has no next`).toBeDefined();
      }
    }
  });

  it('names only commands and options the CLI has', () => {
    const program = buildProgram();
    const find = (name: string): Command | undefined => program.commands.find((c) => c.name() === name);
    for (const step of proc.steps) {
      for (const argv of [step.command, step.command_for_detect_only].filter((a): a is string[] => !!a)) {
        expect(argv[0]).toBe('${odoo_heal}');
        const cmd = find(argv[1]!);
        expect(cmd, `${step.id}: no command ${argv[1]}`).toBeDefined();
        const longs = new Set(cmd!.options.map((o) => o.long));
        for (const a of argv.slice(2).filter((x) => x.startsWith('--'))) expect(longs.has(a), `${step.id}: ${argv[1]} has no ${a}`).toBe(true);
        for (const v of argv.filter((x) => x.includes('${'))) {
          const name = /\$\{([a-z_]+)/.exec(v)![1]!;
          const saved = ['incident', 'check', 'detect', 'plan', 'attempt'];
          expect(name in proc.inputs || saved.includes(name), `${step.id}: unknown variable ${v}`).toBe(true);
        }
      }
    }
  });
});

describe('deploy/ci-gate.sh', () => {
  const gate = join(ROOT, 'deploy/ci-gate.sh');
  function run(env: Record<string, string>, args: string[] = []): { code: number; stdout: string; stderr: string } {
    const r = spawnSync('bash', [gate, ...args], { cwd: tmp, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  it('fails the gate (exit 1) on CRITICAL and keeps the check JSON as an artifact', async () => {
    const port = await closedPort();
    const config = join(tmp, 'config.yaml');
    writeFileSync(config, `odoo:\n  url: http://127.0.0.1:${port}\nservices: []\nendpoints: []\nlogs:\n  commands: []\nprobes:\n  timeoutMs: 1000\npaths:\n  stateDir: ${join(tmp, 'state')}\n`);
    const odooConf = join(tmp, 'odoo.conf');
    writeFileSync(odooConf, `[options]\ndb_host = 127.0.0.1\ndb_port = ${port}\n`);
    const cmd = `${process.execPath} ${join(ROOT, 'bin/odoo-heal')} --config ${config} --odoo-config ${odooConf}`;
    const artifact = join(tmp, 'check.json');
    const r = run({ ODOO_HEAL_CMD: cmd }, ['--out', artifact, '--timeout', '6000']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/: CRITICAL \(artifact: /);
    expect(r.stdout).toContain('ci-gate: FAILED (CRITICAL)');
    const json = JSON.parse(readFileSync(artifact, 'utf8')) as { format: string; status: string; exitCode: number };
    expect(json).toMatchObject({ format: 'odoo-heal/check@1', status: 'critical', exitCode: 2 });
  });

  it('says the gate itself could not run (exit 2) on a config error or a bad argument', () => {
    const cmd = `${process.execPath} ${join(ROOT, 'bin/odoo-heal')} --config ${join(tmp, 'missing.yaml')}`;
    const r = run({ ODOO_HEAL_CMD: cmd }, ['--out', join(tmp, 'x.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing\.yaml/);
    expect(r.stderr).toMatch(/gave no odoo-heal\/check@1 JSON \(exit 2\)/);
    expect(run({}, ['--fail-on', 'sometimes']).code).toBe(2);
  });

  it('CI examples call the gate and keep the artifact', () => {
    for (const f of ['deploy/gitlab-ci.example.yml', 'deploy/github-actions.example.yml']) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      expect(() => parse(text)).not.toThrow();
      expect(text).toMatch(/deploy\/ci-gate\.sh --host/);
      expect(text).toMatch(/odoo-heal-(check|\*)\.json|odoo-heal-before\.json/);
    }
  });
});
