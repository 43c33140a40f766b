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
});
