// End to end: the real built binary in a real terminal (tmux, on a private socket so a user's own
// tmux is never touched), against a temp log file, a temp addons path and a throwaway PostgreSQL.
// A real incident record (the cron ParseError from the Odoo 18 sample) is appended to the followed
// log; the console must show the incident, `f` then `y` must fix the XML on disk and say verified,
// and `q` must leave the alternate screen and exit 0.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, startCluster, type PgCluster } from './helpers/pg-cluster.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'odoo-heal');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;
const SAMPLE_XML = '/tmp/realodoo/custom_addons/legacy_cron/data/ir_cron_data.xml';

if (!HAVE_TMUX) console.warn('e2e-tmux: SKIPPED — tmux is not installed (apt-get install tmux)');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The real cron ParseError record (CRITICAL header + traceback + XML excerpt), fresh time, path moved. */
function cronRecord(xmlPath: string): string {
  const lines = readFileSync(join(FIXTURES, 'logs', 'cron_deprecated_field.log'), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.includes('CRITICAL healdb odoo.service.server: Failed to initialize database'));
  let end = start + 1;
  while (end < lines.length && !/^\d{4}-\d\d-\d\d /.test(lines[end]!)) end++;
  const record = lines.slice(start, end);
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())},${p(d.getUTCMilliseconds(), 3)}`;
  record[0] = stamp + record[0]!.slice(23);
  return `${record.map((l) => l.split(SAMPLE_XML).join(xmlPath)).join('\n')}\n`;
}

interface Term {
  capture(): string;
  send(...keys: string[]): void;
  altScreen(): boolean;
  kill(): void;
}

function startTerm(socket: string, width: number, height: number, command: string): Term {
  const tmux = (args: string[]) =>
    spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', env: termEnv() });
  const r = tmux(['new-session', '-d', '-s', 'e2e', '-x', String(width), '-y', String(height), command]);
  if (r.status !== 0) throw new Error(`tmux new-session failed: ${r.stderr}`);
  return {
    capture: () => tmux(['capture-pane', '-p', '-t', 'e2e']).stdout ?? '',
    send: (...keys) => void tmux(['send-keys', '-t', 'e2e', ...keys]),
    altScreen: () => (tmux(['display-message', '-p', '-t', 'e2e', '#{alternate_on}']).stdout ?? '').trim() === '1',
    kill: () => void tmux(['kill-server']),
  };
}

/** The console refuses to draw under CI variables; the tmux server passes its env to the pane. */
function termEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.CI;
  delete env.CONTINUOUS_INTEGRATION;
  delete env.TMUX;
  delete env.NO_COLOR;
  return env;
}

/** Polls the screen until `pred` holds; fails with the last screen when the deadline passes. */
async function waitScreen(term: Term, what: string, pred: (screen: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let screen = '';
  while (Date.now() < until) {
    screen = term.capture();
    if (pred(screen)) return screen;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}; screen was:\n${screen}`);
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe.skipIf(!HAVE_TMUX)('console end to end in tmux', () => {
  let pg: PgCluster | null = null;
  const dirs: string[] = [];

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
    }
    if (!havePostgres()) throw new Error('PostgreSQL server binaries are needed for the e2e test (set PG_BINDIR)');
    pg = await startCluster({ maxConnections: 10 });
  });

  afterAll(() => {
    pg?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  for (const [width, height] of [
    [80, 24],
    [160, 50],
  ] as const) {
    it(`shows the cron incident, fixes it with f + y and quits cleanly at ${width}x${height}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `odoo-heal-e2e-${width}x${height}-`));
      dirs.push(dir);
      const addons = join(dir, 'addons');
      cpSync(join(FIXTURES, 'legacy_cron'), join(addons, 'legacy_cron'), { recursive: true });
      const xml = join(addons, 'legacy_cron', 'data', 'ir_cron_data.xml');
      const log = join(dir, 'odoo.log');
      writeFileSync(log, readFileSync(join(FIXTURES, 'logs', 'baseline_threaded_server.log')));
      const odooConf = join(dir, 'odoo.conf');
      writeFileSync(
        odooConf,
        [
          '[options]',
          `addons_path = ${addons}`,
          `data_dir = ${join(dir, 'data')}`,
          `logfile = ${log}`,
          `db_host = ${pg!.host}`,
          `db_port = ${pg!.port}`,
          'db_user = postgres',
          'http_port = 1',
          '',
        ].join('\n'),
      );
      const config = join(dir, 'config.yaml');
      writeFileSync(config, ['logs:', '  commands: []', 'services: []', 'paths:', `  stateDir: ${join(dir, 'state')}`, ''].join('\n'));

      const run = [process.execPath, BIN, '--config', config, '--odoo-config', odooConf].map(shq).join(' ');
      const socket = `odoo-heal-e2e-${process.pid}-${width}`;
      const term = startTerm(socket, width, height, `bash -c ${shq(`${run}; echo EXITED-$?; sleep 30`)}`);
      try {
        await waitScreen(term, 'the console to draw', (s) => s.includes('lines read'));
        expect(term.altScreen()).toBe(true);

        appendFileSync(log, cronRecord(xml));
        await waitScreen(term, 'the cron incident in the queue', (s) => /Module data sets ir\.cron|ir\.cron fields/.test(s));

        // Select it and ask for the plan. Probe incidents may join the queue meanwhile and move the
        // cursor, so a plan for another incident is cancelled and the selection redone.
        const ours = (l: string) => /Module data|ir\.cron/.test(l);
        let planned = false;
        for (let attempt = 0; attempt < 5 && !planned; attempt++) {
          for (let i = 0; i < 12; i++) {
            const rows = term.capture().split('\n');
            const cursor = rows.findIndex((l) => l.includes('›'));
            const target = rows.findIndex(ours);
            if (cursor >= 0 && cursor === target) break;
            term.send(cursor >= 0 && target >= 0 && target < cursor ? 'k' : 'j');
            await sleep(100);
          }
          term.send('f');
          planned = await waitScreen(term, 'the fix plan', (s) => s.includes('Fix plan') && s.includes('numbercall'), 3000).then(
            () => true,
            () => false,
          );
          if (!planned) {
            if (term.capture().includes('Fix plan')) term.send('n');
            await sleep(200);
          }
        }
        expect(planned).toBe(true);
        term.send('y');
        await waitScreen(term, 'the fix to be verified', (s) => /verified/i.test(s));
        const fixed = readFileSync(xml, 'utf8');
        expect(fixed).not.toContain('numbercall');
        expect(fixed).not.toContain('doall');
        expect(fixed).toContain('interval_type');

        term.send('q');
        const after = await waitScreen(term, 'the console to exit', (s) => s.includes('EXITED-'));
        expect(after).toContain('EXITED-0');
        expect(after).not.toContain('lines read');
        expect(term.altScreen()).toBe(false);
      } finally {
        term.kill();
      }
    });
  }
});
