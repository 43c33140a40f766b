import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readTail } from '../src/engine/logs/tail.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'follow-tail-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('readTail', () => {
  it('returns the complete lines within the last N bytes, dropping a line cut by the window and an unfinished last line', async () => {
    const file = path.join(dir, 'odoo.log');
    fs.writeFileSync(file, 'first line\nsecond line\nthird line\nbeing writ');
    // last 27 bytes: "ine\nthird line\nbeing writ" starts inside "second line"
    expect(await readTail(file, 27)).toEqual(['third line']);
    // window starting exactly on a line boundary keeps that line
    expect(await readTail(file, 'third line\nbeing writ'.length)).toEqual(['third line']);
    expect(await readTail(file, 'second line\nthird line\nbeing writ'.length)).toEqual(['second line', 'third line']);
    // window larger than the file: everything complete
    expect(await readTail(file, 1_000_000)).toEqual(['first line', 'second line', 'third line']);
  });

  it('reads only the window of a large file and handles CRLF', async () => {
    const file = path.join(dir, 'big.log');
    const fd = fs.openSync(file, 'w');
    const block = Buffer.from('filler line that nobody wants to read again\r\n'.repeat(20_000));
    for (let i = 0; i < 25; i++) fs.writeSync(fd, block); // ~22 MB
    fs.writeSync(fd, '2026-11-28 10:00:00,000 42 ERROR healdb odoo.sql_db: boom\r\n');
    fs.closeSync(fd);
    const lines = await readTail(file, 100);
    expect(lines.at(-1)).toBe('2026-11-28 10:00:00,000 42 ERROR healdb odoo.sql_db: boom');
    expect(lines.length).toBeLessThanOrEqual(2);
  });

  it('throws the errno error for a missing file or a directory, for the caller to name', async () => {
    await expect(readTail(path.join(dir, 'missing.log'), 100)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readTail(dir, 100)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
