// The command line itself: help, version, and a mistyped command named as such (exit 2, one line).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT, runCli } from './helpers/cli.js';

beforeAll(() => ensureBuilt(['src/cli/main.ts']), 120_000);

describe('odoo-heal command line', () => {
  it('--version prints the package version; --help on a command exits 0', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const h = await runCli(['fix', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('--dry-run');
  });

  it('a mistyped command is a usage error naming it, not a console start or a parser message', async () => {
    const r = await runCli(['chek']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('unknown command "chek"');
  });
});
