import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSources, type FollowError, type LogSources } from '../src/engine/logs/sources.js';
import { UsageError } from '../src/engine/core/errors.js';

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let dir: string;
let sources: LogSources | null = null;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'follow-sources-'));
});
afterEach(async () => {
  await sources?.stop();
  sources = null;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('createSources', () => {
  it('starts files and commands together, tags lines with their source id, reports errors, stops all', async () => {
    const log = path.join(dir, 'odoo.log');
    fs.writeFileSync(log, 'existing\n');
    const got: Array<[string, string]> = [];
    const errors: FollowError[] = [];
    sources = createSources(
      [
        { kind: 'file', path: log, start: 'end' },
        { kind: 'file', path: path.join(dir, 'is-a-dir'), start: 'end' },
        { kind: 'command', name: 'docker', argv: [process.execPath, '-e', 'console.log("from docker"); setInterval(() => {}, 1000)'] },
      ],
      (lines, source) => lines.forEach((l) => got.push([source, l])),
      (e) => errors.push(e),
    );
    fs.mkdirSync(path.join(dir, 'is-a-dir'));
    expect(sources.ids).toEqual([log, path.join(dir, 'is-a-dir'), 'docker']);
    await sources.start();
    fs.appendFileSync(log, 'appended\n');
    await waitFor(() => got.length === 2);
    expect(got).toContainEqual([log, 'appended']);
    expect(got).toContainEqual(['docker', 'from docker']);
    expect(errors.map((e) => e.code)).toEqual(['EISDIR']);
    expect(sources.status().map((s) => s.status.state)).toEqual(['following', 'error', 'following']);
    await sources.stop();
    expect(sources.status().every((s) => s.status.state === 'stopped')).toBe(true);
  });

  it('rejects specs that cannot work with a UsageError', () => {
    const noop = () => undefined;
    expect(() =>
      createSources(
        [
          { kind: 'file', path: '/var/log/odoo.log', start: 'end' },
          { kind: 'file', path: '/var/log/odoo.log', start: 'start' },
        ],
        noop,
        noop,
      ),
    ).toThrow(UsageError);
    expect(() => createSources([{ kind: 'command', name: 'journald', argv: [] }], noop, noop)).toThrow(/argv is empty/);
  });
});

describe('parseStartPosition', () => {
  it('accepts end, start and tail:<bytes>; rejects anything else naming the field', async () => {
    const { parseStartPosition } = await import('../src/engine/logs/sources.js');
    expect(parseStartPosition('end')).toBe('end');
    expect(parseStartPosition('start')).toBe('start');
    expect(parseStartPosition('tail:65536')).toBe('tail:65536');
    expect(() => parseStartPosition('tail:0', 'logs.start')).toThrow(/logs\.start: expected/);
    expect(() => parseStartPosition('tail:-3')).toThrow(UsageError);
    expect(() => parseStartPosition('beginning')).toThrow(UsageError);
  });
});
