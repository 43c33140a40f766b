// `odoo-heal config` shows what odoo-heal will use, and never the secrets it read.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'oh-config-'));
const odooConf = join(dir, 'odoo.conf');
const yaml = join(dir, 'config.yaml');
const SECRETS = ['s3cr3t-db-pw-x9', 'adm1n-master-pw-z7', 'tok-0123456789abcdef-long', 'hookid0123456789abcdefghij'];

beforeAll(() => {
  ensureBuilt(['src/cli/commands/config.ts', 'src/engine/config/print.ts']);
  writeFileSync(odooConf, `[options]\ndb_password = ${SECRETS[0]}\nadmin_passwd = ${SECRETS[1]}\ndb_name = prod\nworkers = 4\n`);
  writeFileSync(
    yaml,
    [
      'http:',
      `  token: ${SECRETS[2]}`,
      'alerts:',
      '  targets:',
      '    - kind: mattermost',
      `      url: https://chat.example.invalid/hooks/${SECRETS[3]}`,
      '      minSeverity: warning',
      '',
    ].join('\n'),
  );
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('odoo-heal config', () => {
  it('prints the merged configuration with odoo.conf values, secrets masked (text and JSON)', async () => {
    for (const extra of [[], ['--json']]) {
      const r = await runCli(['config', '--config', yaml, '--odoo-config', odooConf, ...extra]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('prod');
      for (const secret of SECRETS) {
        expect(r.stdout).not.toContain(secret);
        expect(r.stderr).not.toContain(secret);
      }
    }
    const json = JSON.parse((await runCli(['config', '--json', '--config', yaml, '--odoo-config', odooConf])).stdout) as {
      format: string;
      odoo: { workers: number; dbName: string };
    };
    expect(json.format).toBe('odoo-heal/config@1');
    expect(json.odoo.workers).toBe(4);
  });

  // Issue 11: aliases are resolved after parsing; their errors escaped as an internal error (exit 3, no file).
  it.each([
    ['an alias to an anchor never set', 'probes: *nope\n', /: 1:9: Unresolved alias .*nope/],
    [
      'a billion-laughs nest of aliases',
      ['a: &a [x,x,x,x,x,x,x,x,x,x]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]', ''].join('\n'),
      /: yaml: Excessive alias count/,
    ],
  ])('YAML with %s: one line naming the file, exit 2', async (_what, text, why) => {
    const bad = join(dir, 'aliases.yaml');
    writeFileSync(bad, text);
    const r = await runCli(['config', '--config', bad, '--odoo-config', odooConf]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`odoo-heal: ${bad}: `);
    expect(r.stderr).toMatch(why);
  });
});
