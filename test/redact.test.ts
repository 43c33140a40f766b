import { describe, expect, it } from 'vitest';
import { redact, redactDeep, secretsOf } from '../src/engine/outputs/redact.js';
import { testConfig, testOdoo } from './helpers/config.js';

describe('redact', () => {
  it.each([
    ['db_password = Sup3rSecret', 'db_password = [REDACTED]'],
    ['admin_passwd=xYz-12', 'admin_passwd=[REDACTED]'],
    ['dbname=prod user=odoo password=hunter22 host=db', 'dbname=prod user=odoo password=[REDACTED] host=db'],
    ['GET /x?token=abc123&page=2', 'GET /x?token=[REDACTED]&page=2'],
    ['{"db_password": "a\\"b", "x": 1}', '{"db_password": "[REDACTED]", "x": 1}'],
    ['Authorization: Bearer eyJhbGciOi.abc.def', 'Authorization: Bearer [REDACTED]'],
    ['postgresql://odoo:pa55w0rd@db:5432/prod', 'postgresql://odoo:[REDACTED]@db:5432/prod'],
    ['POST https://chat.example.org/hooks/xk1z9q8mw3fjtdyo6pbrc4ahre failed', 'POST https://chat.example.org/hooks/[REDACTED] failed'],
    ['password: "quoted value"', 'password: "[REDACTED]"'],
    ["db_password = 'two words' # note", "db_password = '[REDACTED]' # note"],
  ])('%s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('keeps ordinary text unchanged', () => {
    const line = '2026-11-28 19:59:44,307 9324 ERROR healdb odoo.modules.registry: Failed to load registry';
    expect(redact(line)).toBe(line);
  });

  it('replaces known secret values wherever they appear, longest first', () => {
    expect(redact('psycopg2 error for N0tInAKeyValue and N0tInAKeyValue2', ['N0tInAKeyValue', 'N0tInAKeyValue2'])).toBe(
      'psycopg2 error for [REDACTED] and [REDACTED]',
    );
    // Regex metacharacters in a secret are literal.
    expect(redact('x a.b*c(d) y', ['a.b*c(d)'])).toBe('x [REDACTED] y');
  });

  it('leaves very short known values to the shape rules instead of blanking every "odoo"', () => {
    expect(redact('odoo-heal restarted odoo; password=odoo', ['odoo'])).toBe('odoo-heal restarted odoo; password=[REDACTED]');
  });

  it('redacts strings and keys deep inside a value without changing its shape', () => {
    expect(redactDeep({ a: ['pw is TopSecret99', 3, null], b: { 'TopSecret99': true } }, ['TopSecret99'])).toEqual({
      a: ['pw is [REDACTED]', 3, null],
      b: { '[REDACTED]': true },
    });
  });
});

describe('secretsOf', () => {
  it('collects odoo.conf passwords, the HTTP token and alert URL credentials', () => {
    const config = testConfig((c) => {
      c.http.token = 'http-token-123456';
      c.alerts.targets = [
        { kind: 'mattermost', url: 'https://chat.example.org/hooks/xk1z9q8mw3fjtdyo6pbrc4ahre', minSeverity: 'warning' },
        { kind: 'webhook', url: 'https://bot:botpass99@n8n.example.org/webhook/x?key=querykey77', minSeverity: 'info' },
      ];
    });
    const secrets = secretsOf(config, testOdoo({ dbPassword: 'dbpw-abcdef', adminPasswd: 'master-xyz1' }));
    expect(secrets.sort()).toEqual(['botpass99', 'dbpw-abcdef', 'http-token-123456', 'master-xyz1', 'querykey77', 'xk1z9q8mw3fjtdyo6pbrc4ahre'].sort());
  });
});
