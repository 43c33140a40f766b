// Signatures of records no pattern explains, on real Odoo 18 records (test/fixtures/logs, MANIFEST.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IncidentBook } from '../src/engine/incidents/incidents.js';
import { parseText } from '../src/engine/logs/parser.js';
import type { LogRecord } from '../src/engine/core/types.js';
import { UnclassifiedGrouper } from '../src/engine/unclassified/grouper.js';
import { addonFrame, failedRequestOf, isUnclassifiedCandidate, maskMessage, signatureOf } from '../src/engine/incidents/signature.js';

const LOGS = join(import.meta.dirname, 'fixtures', 'logs');
const records = (name: string): LogRecord[] => parseText(readFileSync(join(LOGS, name), 'utf8'), name);

describe('signature on real Odoo 18 records', () => {
  const run = records('unclassified_route_and_cron.log');
  const errors = run.filter((r) => r.kind === 'odoo' && r.level === 'ERROR');

  it('the six route failures and the scheduled action share one signature', () => {
    expect(errors).toHaveLength(7);
    const sigs = errors.map(signatureOf);
    expect(new Set(sigs.map((s) => s.key)).size).toBe(1);
    const s = sigs[0]!;
    expect(s.exceptionClass).toBe('ZeroDivisionError');
    expect(s.message).toBe('division by zero');
    // The innermost frame in an addon, not Odoo's http.py nor ir_http.py (a bundled addon).
    expect(s.frame).toBe('heal_unclassified/models/margin.py:margin');
    expect(s.addon).toBe('heal_unclassified');
    expect(s.title).toBe('ZeroDivisionError in heal_unclassified/models/margin.py:margin');
  });

  it('names the failing request from the werkzeug line that follows', () => {
    const next = run[run.indexOf(errors[0]!) + 1]!;
    expect(failedRequestOf(next)).toBe('GET /heal_unclassified/confirm');
    // A 200 access line names nothing.
    const ok = run.find((r) => r.kind === 'odoo' && r.logger === 'werkzeug' && r.message.includes('" 200 '))!;
    expect(failedRequestOf(ok)).toBeNull();
  });

  it('groups the run into one incident with count 7, first/last seen and the request', () => {
    const book = new IncidentBook();
    const g = new UnclassifiedGrouper();
    for (const r of run) {
      if (isUnclassifiedCandidate(r)) g.unmatched(r, book, 0);
      g.follows(r);
    }
    const list = book.list();
    expect(list).toHaveLength(1);
    const i = list[0]!;
    expect(i.count).toBe(7);
    expect(i.severity).toBe('warning');
    expect(i.origin).toMatchObject({ kind: 'unclassified', addon: 'heal_unclassified', request: 'GET /heal_unclassified/confirm' });
    expect(i.firstSeen).toBe(errors[0]!.time);
    expect(i.lastSeen).toBe(errors[6]!.time);
    expect(i.sample).toBe(errors[0]);
  });

  it('a custom addon frame wins over a bundled addon and the core (syntax error at import)', () => {
    const r = records('python_syntax_error.log').find((x) => x.exception?.startsWith('SyntaxError'))!;
    expect(addonFrame(r)?.addon).toBe('partner_credit_flag');
  });

  it('PermissionErrors on 8 different attachment paths of one filestore are one signature', () => {
    const perm = records('permission_denied_filestore.log').filter((r) => r.exception?.startsWith('PermissionError'));
    expect(perm.length).toBeGreaterThanOrEqual(8);
    const keys = new Set(perm.map((r) => signatureOf(r).key));
    expect(keys.size).toBeLessThanOrEqual(2); // request handling and session save raise from two places
    for (const r of perm) expect(signatureOf(r).message).toBe("[Errno <n>] Permission denied: '<v>'");
  });

  it('a one-line ERROR without traceback falls back to the logger', () => {
    const r = records('cron_deprecated_field.log').find((x) => x.kind === 'odoo' && x.message.startsWith('Failed to load registry'))!;
    const s = signatureOf(r);
    expect(s.frame).toBeNull();
    expect(s.key).toBe('|Failed to load registry|logger:odoo.modules.registry');
    expect(s.title).toBe('ERROR in odoo.modules.registry: Failed to load registry');
  });

  it('the healthy baselines hold no candidate record at all', () => {
    for (const f of ['baseline_install_base.log', 'baseline_prefork_server.log', 'baseline_threaded_server.log', 'cron_deprecated_field_fixed.log']) {
      expect(records(f).filter(isUnclassifiedCandidate), f).toEqual([]);
    }
  });
});

describe('masking', () => {
  it("KeyError 'ref-17' and 'ref-99' from one line are one signature", () => {
    const mk = (key: string) =>
      parseText(
        `2026-12-02 09:11:33,621 24187 ERROR healdb odoo.http: Exception during request handling.\nTraceback (most recent call last):\n  File "/opt/custom/sale_bug/models/sale.py", line 9, in _ref\n    return REFS[ref]\nKeyError: '${key}'`,
        't',
      )[0]!;
    const a = signatureOf(mk('ref-17'));
    expect(a.key).toBe(signatureOf(mk('ref-99')).key);
    expect(a.frame).toBe('sale_bug/models/sale.py:_ref');
    expect(a.message).toBe("'<v>'");
  });

  it('masks numbers, ids, hex, uuids, dates, data paths and the database', () => {
    expect(maskMessage('record 4242 of res.partner(17,) at 0x7f3a2b1c on 2026-12-02 09:11:33 in prod_db', 'prod_db')).toBe(
      'record <n> of res.partner(<n>,) at <hex> on <date> in <db>',
    );
    expect(maskMessage('token 3f2b8c1e-9a4d-4e2f-8b1a-0c9d8e7f6a5b expired')).toBe('token <uuid> expired');
    expect(maskMessage('cannot read /srv/odoo/data/filestore/prod/ab/abcdef0123456789')).toBe('cannot read <data-path>');
    expect(maskMessage('checksum 2494648b98d44f8e9e2a4cb78c502135409e246d mismatch')).toBe('checksum <hex> mismatch');
    // Words that happen to be hex letters stay words.
    expect(maskMessage('deadbeef failed')).toBe('deadbeef failed');
  });

  it('different exceptions, or one exception from different functions, are different signatures', () => {
    const mk = (exc: string, func: string) =>
      signatureOf(
        parseText(`2026-12-02 09:11:33,621 1 ERROR db odoo.http: x\nTraceback (most recent call last):\n  File "/mnt/extra-addons/sale_bug/models/sale.py", line 9, in ${func}\n    x\n${exc}`, 't')[0]!,
      ).key;
    expect(mk('ZeroDivisionError: division by zero', 'a')).not.toBe(mk('ZeroDivisionError: division by zero', 'b'));
    expect(mk('ZeroDivisionError: division by zero', 'a')).not.toBe(mk('ValueError: division by zero', 'a'));
  });
});
