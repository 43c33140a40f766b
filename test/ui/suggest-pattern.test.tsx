// The console's pattern suggestion, end to end in-process: a real engine fed the real Odoo 18 run of
// test/fixtures/logs/unclassified_route_and_cron.log (a custom addon's ZeroDivisionError on a route
// and in a scheduled action), the real console on a fake terminal, and a temp local pattern
// directory. Nothing may be written before the user confirms; after confirming, the same error is
// named by the new pattern.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPatternFile } from '../../src/engine/patterns/load.js';
import { Engine } from '../../src/engine/run/engine.js';
import { footerHints } from '../../src/ui/keymap.js';
import { testConfig, testOdoo } from '../helpers/config.js';
import { incident, intentsDouble, KEY, mount, newStore, tick, type Mounted } from './harness.js';

const PATTERNS = resolve(import.meta.dirname, '..', '..', 'patterns');
const RUN = readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'logs', 'unclassified_route_and_cron.log'), 'utf8').split('\n');
/** The run up to its fifth failed request (four route failures), and the rest (two more and the cron's). */
const fifth = RUN.findIndex((l, i) => / ERROR healdb odoo\.http: /.test(l) && RUN.slice(0, i).filter((x) => / ERROR healdb odoo\.http: /.test(x)).length === 4);
const FIRST = RUN.slice(0, fifth);
const REST = RUN.slice(fifth).filter((l) => l !== '');
const INCIDENT = 'i-b3df7476';
const PATTERN_ID = 'local-heal-unclassified-zerodivisionerror-margin';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-ui-suggest-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function open(opts: { local: string | null }): Promise<{ engine: Engine; m: Mounted }> {
  const dir = tempDir();
  const config = testConfig((c) => {
    c.paths = { stateDir: join(dir, 'state'), backupDir: join(dir, 'state', 'backups'), auditLog: join(dir, 'state', 'audit.log') };
    c.patterns.localDir = opts.local;
  });
  const engine = new Engine({
    config,
    // A closed port: nothing here may talk to the machine's own PostgreSQL.
    odoo: testOdoo({ dbHost: '127.0.0.1', dbPort: 9, dataDir: join(dir, 'data') }),
    patternsDir: opts.local ? [PATTERNS, opts.local] : PATTERNS,
    localPatternsDir: opts.local,
    mode: 'console',
    sources: [],
  });
  cleanups.push(() => engine.stop());
  engine.ingest('odoo.log', FIRST);
  engine.flushNow();
  const m = await mount(engine.store, engine, { columns: 150, rows: 40 });
  cleanups.push(() => m.instance.unmount());
  return { engine, m };
}

async function until(m: Mounted, what: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out; last frame:\n${m.frame()}`);
    await tick();
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('console: draft a pattern for an unclassified incident', () => {
  it('p shows the proved draft; n writes nothing; p y writes it, loads it, and the error is named by it', async () => {
    const local = join(tempDir(), 'patterns.d');
    const { engine, m } = await open({ local });
    const before = engine.store.getState().incidents[INCIDENT];
    expect(before).toMatchObject({ count: 4, status: 'open', origin: { kind: 'unclassified' } });
    // Offered, in the footer, because the selected incident is unclassified.
    expect(m.frame()).toContain('p pattern');

    await m.press('p');
    await until(m, () => m.frame().includes('Draft pattern'));
    let f = m.frame();
    expect(f).toContain(`Draft pattern ${PATTERN_ID} for “ZeroDivisionError in heal_unclassified/models/margin.py:margin”`);
    expect(f).toContain(`writes ${join(local, `${PATTERN_ID}.json`)}`);
    expect(f).toMatch(/matches 4 of the incident's 4 record\(s\); 0 other record\(s\) of the followed logs; 0 record\(s\) of 3 baseline log\(s\)/);
    expect(f).toContain('"exception": "^ZeroDivisionError:\\\\s*division\\\\s+by\\\\s+zero$"');
    expect(f).toContain('y = write and load');

    await m.press('n');
    await until(m, () => !m.frame().includes('Draft pattern'));
    expect(m.frame()).toContain('pattern draft closed: nothing written');
    expect(existsSync(local)).toBe(false);
    expect(engine.store.getState().suggestion).toBeNull();

    await m.press('p');
    await until(m, () => m.frame().includes('Draft pattern'));
    await m.press('y');
    const file = join(local, `${PATTERN_ID}.json`);
    await until(m, () => m.frame().includes('pattern written and loaded'));
    expect(m.frame()).toContain(`pattern written and loaded: ${file}`);
    expect(engine.store.getState().notice?.text).toMatch(
      new RegExp(`^pattern written and loaded: ${file} \\(\\d+ patterns\\); ${INCIDENT} resolved, its next records open an incident of the pattern$`),
    );
    // The file is the draft the preview showed, and the pattern loader takes it as it is.
    expect(readdirSync(local)).toEqual([`${PATTERN_ID}.json`]);
    const loaded = loadPatternFile(file, { trustVerified: false });
    expect(loaded.map((p) => p.id)).toEqual([PATTERN_ID]);
    expect(engine.store.getState().incidents[INCIDENT]?.status).toBe('resolved');

    // More of the same error arrives: two more failed requests and the scheduled action's record.
    engine.ingest('odoo.log', REST);
    engine.flushNow();
    await tick();
    const incidents = Object.values(engine.store.getState().incidents);
    const named = incidents.filter((i) => i.origin.kind === 'pattern' && i.origin.patternId === PATTERN_ID);
    expect(named).toHaveLength(1);
    expect(named[0]).toMatchObject({ count: 3, status: 'open' });
    expect(incidents.filter((i) => i.origin.kind === 'unclassified' && i.status !== 'resolved')).toEqual([]);
    expect(engine.store.getState().incidents[INCIDENT]?.count).toBe(4);

    // Now explained: not offered, and the key says why.
    f = m.frame();
    expect(f).not.toContain('p pattern');
    await m.press('p');
    await until(m, () => m.frame().includes('already named by pattern'));
    expect(m.frame()).toContain(`is already named by pattern ${PATTERN_ID}`);
    expect(engine.store.getState().suggestion).toBeNull();
    // The old unclassified incident (resolved, still listed) is named by the pattern now: no second draft.
    await engine.suggestPattern(INCIDENT);
    expect(engine.store.getState().notice?.text).toContain(`is named by pattern ${PATTERN_ID} now`);
    expect(engine.store.getState().suggestion).toBeNull();
    expect(readdirSync(local)).toEqual([`${PATTERN_ID}.json`]);
  });

  it('a local directory that cannot be made is one line of notice, and nothing is written', async () => {
    const dir = tempDir();
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'a file where the directory should be\n');
    const local = join(blocker, 'patterns.d');
    const { engine, m } = await open({ local });
    await m.press('p');
    await until(m, () => m.frame().includes('Draft pattern'));
    await m.press('y');
    await until(m, () => m.frame().includes('not written'));
    const notice = engine.store.getState().notice;
    expect(notice?.severity).toBe('critical');
    expect(notice?.text).toMatch(new RegExp(`^pattern ${PATTERN_ID} not written to ${local}: .*ENOTDIR`));
    expect(notice?.text).not.toContain('\n');
    expect(readdirSync(dir)).toEqual(['not-a-dir']);
    expect(readFileSync(blocker, 'utf8')).toBe('a file where the directory should be\n');
    // The draft stays on screen; nothing changed in what the engine knows.
    expect(engine.store.getState().incidents[INCIDENT]?.status).toBe('open');
    await m.press(KEY.escape);
    await until(m, () => !m.frame().includes('Draft pattern'));
  });

  it('with no local pattern directory the draft is shown but cannot be written', async () => {
    const { engine, m } = await open({ local: null });
    await m.press('p');
    await until(m, () => m.frame().includes('Draft pattern'));
    expect(m.frame()).toContain('Cannot be written: there is no local pattern directory');
    await m.press('y');
    await until(m, () => m.frame().includes('pattern not written'));
    expect(engine.store.getState().notice?.text).toMatch(/^pattern not written: there is no local pattern directory/);
    expect(engine.store.getState().incidents[INCIDENT]?.status).toBe('open');
  });
});

describe('the draft view', () => {
  it('shows the draft through the sanitizer: a control sequence in the logged text never reaches the terminal', async () => {
    const store = newStore();
    // JSON.stringify escapes C0 controls but leaves C1 (8-bit CSI) and bidi controls raw.
    const hostile = 'ZeroDivisionError: \u009b2J\u202eevil\u001b]52;c;aGk=\u0007';
    store.setState({
      incidents: { 'i-1': incident('i-1', { title: hostile, origin: { kind: 'unclassified', signature: 's', exceptionClass: 'ZeroDivisionError', addon: null, frame: null, logger: 'odoo.http', request: null }, fix: null }) },
      suggestion: { incidentId: 'i-1', patternId: 'local-x', fileText: JSON.stringify({ title: hostile }, null, 2), proof: [`matches 1 of ${hostile}`], target: '/tmp/x.json', refusal: null },
    });
    const intents = intentsDouble();
    const m = await mount(store, intents, { columns: 120, rows: 30 });
    cleanups.push(() => m.instance.unmount());
    const f = m.frame();
    expect(f).toContain('Draft pattern local-x');
    expect(f).toContain('evil');
    for (const bad of ['\u009b', '\u202e', '\u001b]52', '\u0007']) expect(f).not.toContain(bad);
    await m.press('n');
    expect(intents.names()).toEqual(['dismissSuggestion']);
  });
});

describe('keymap', () => {
  it('p is a footer hint only while an unclassified incident is selected', () => {
    expect(footerHints('browse', true)).toContain('p pattern');
    expect(footerHints('browse', false)).not.toContain('p pattern');
    expect(footerHints('prompt', true)).not.toContain('p pattern');
  });
});
