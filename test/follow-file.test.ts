// FileFollower against real files in a temp dir: the file system does the rotating, truncating and
// deleting, exactly as logrotate / copytruncate / an operator would.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileFollower, FollowError, type FileFollowerOptions } from '../src/engine/logs/follow-file.js';
import { truncationMarker } from '../src/engine/logs/line-splitter.js';

async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let dir: string;
let log: string;
const followers: FileFollower[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'follow-file-'));
  log = path.join(dir, 'odoo.log');
});

afterEach(async () => {
  await Promise.all(followers.splice(0).map((f) => f.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

function follow(file: string, opts: Partial<FileFollowerOptions> = {}) {
  const lines: string[] = [];
  const calls: string[][] = [];
  const sources = new Set<string>();
  const errors: FollowError[] = [];
  const f = new FileFollower(file, {
    onLines: (ls, source) => {
      calls.push(ls);
      lines.push(...ls);
      sources.add(source);
    },
    onError: (e) => errors.push(e),
    ...opts,
  });
  followers.push(f);
  return { f, lines, calls, errors, sources };
}

describe('FileFollower', () => {
  it("start 'end' delivers only lines appended after start(), batched per read, with the path as source", async () => {
    fs.writeFileSync(log, 'old 1\nold 2\n');
    const { f, lines, calls, sources } = follow(log);
    await f.start();
    expect(f.status.state).toBe('following');
    fs.appendFileSync(log, 'new 1\n');
    await waitFor(() => lines.length === 1);
    const many = Array.from({ length: 1000 }, (_, i) => `burst ${i}`);
    fs.appendFileSync(log, many.join('\n') + '\n');
    await waitFor(() => lines.length === 1001);
    expect(lines).toEqual(['new 1', ...many]);
    expect(calls.length).toBeLessThan(20); // one call per read, not per line
    expect([...sources]).toEqual([log]);
  });

  it("start 'end' on a file whose last line is still being written skips the rest of that line", async () => {
    fs.writeFileSync(log, 'old\nhalf a li');
    const { f, lines } = follow(log);
    await f.start();
    fs.appendFileSync(log, 'ne\nfresh\n');
    await waitFor(() => lines.length >= 1);
    expect(lines).toEqual(['fresh']);
  });

  it("start 'start' reads the whole file; 'tail:N' only the complete lines in the last N bytes", async () => {
    fs.writeFileSync(log, 'aaaa\nbbbb\ncccc\n');
    const all = follow(log, { start: 'start' });
    await all.f.start();
    await waitFor(() => all.lines.length === 3);
    const tail = follow(log, { start: 'tail:7' }); // window "b\ncccc\n" starts mid-line
    await tail.f.start();
    const exact = follow(log, { start: 'tail:5' }); // window starts exactly on a line boundary
    await exact.f.start();
    await waitFor(() => tail.lines.length === 1 && exact.lines.length === 1);
    expect(all.lines).toEqual(['aaaa', 'bbbb', 'cccc']);
    expect(tail.lines).toEqual(['cccc']);
    expect(exact.lines).toEqual(['cccc']);
  });

  it('keeps a partial last line until its newline arrives', async () => {
    fs.writeFileSync(log, '');
    const { f, lines } = follow(log);
    await f.start();
    fs.appendFileSync(log, 'first\npar');
    await waitFor(() => lines.length === 1);
    fs.appendFileSync(log, 'tial\n');
    await waitFor(() => lines.length === 2);
    expect(lines).toEqual(['first', 'partial']);
  });

  it('delivers a partial line that stays quiet (a log cut mid-line by a full disk)', async () => {
    fs.writeFileSync(log, '');
    const { f, lines } = follow(log, { partialLineMs: 200, pollMs: 100 });
    await f.start();
    fs.appendFileSync(log, 'cut mid-li');
    await waitFor(() => lines.length === 1);
    expect(lines).toEqual(['cut mid-li']);
  });

  it('rotation by rename + create: drains the old file (late lines, partial last line), then reads the new one from 0', async () => {
    fs.writeFileSync(log, '');
    const { f, lines } = follow(log);
    await f.start();
    fs.appendFileSync(log, 'old 1\n');
    await waitFor(() => lines.length === 1);
    // All synchronous: the follower cannot look in between, so it finds a new inode at once.
    fs.renameSync(log, `${log}.1`);
    fs.appendFileSync(`${log}.1`, 'old 2 written after the rename\nold 3 without newline');
    fs.writeFileSync(log, 'new 1\n');
    await waitFor(() => lines.length === 4);
    fs.appendFileSync(log, 'new 2\n');
    await waitFor(() => lines.length === 5);
    expect(lines).toEqual(['old 1', 'old 2 written after the rename', 'old 3 without newline', 'new 1', 'new 2']);
  });

  it('rotation where the new file appears later: lines written to the renamed file meanwhile are kept', async () => {
    fs.writeFileSync(log, '');
    const { f, lines } = follow(log, { pollMs: 100 });
    await f.start();
    fs.renameSync(log, `${log}.1`);
    await waitFor(() => f.status.state === 'waiting');
    fs.appendFileSync(`${log}.1`, 'late old line\n');
    fs.writeFileSync(log, 'new 1\n');
    await waitFor(() => lines.length === 2);
    expect(lines).toEqual(['late old line', 'new 1']);
  });

  it('copytruncate to a shorter size: reads the file again from 0', async () => {
    fs.writeFileSync(log, '');
    const { f, lines } = follow(log);
    await f.start();
    fs.appendFileSync(log, 'a long first line before rotation\n');
    await waitFor(() => lines.length === 1);
    fs.copyFileSync(log, `${log}.1`);
    fs.truncateSync(log, 0);
    fs.appendFileSync(log, 'short\n');
    await waitFor(() => lines.length === 2);
    expect(lines).toEqual(['a long first line before rotation', 'short']);
  });

  it('copytruncate where the file regrows past the old offset before the follower looks (head check)', async () => {
    fs.writeFileSync(log, '');
    const { f, lines } = follow(log);
    await f.start();
    fs.appendFileSync(log, 'line 1\nline 2\n');
    await waitFor(() => lines.length === 2);
    // Synchronous: truncation and regrowth happen between two looks of the follower.
    fs.truncateSync(log, 0);
    fs.appendFileSync(log, 'after truncate, longer than before\nsecond\n');
    await waitFor(() => lines.length === 4);
    expect(lines).toEqual(['line 1', 'line 2', 'after truncate, longer than before', 'second']);
  });

  it('file deleted: waits, then reads the re-created file from 0', async () => {
    fs.writeFileSync(log, 'x\n');
    const { f, lines } = follow(log);
    await f.start();
    fs.appendFileSync(log, 'before delete\n');
    await waitFor(() => lines.length === 1);
    // Written and deleted before the follower looks: still read through the open fd, then let go.
    fs.appendFileSync(log, 'last words\n');
    fs.unlinkSync(log);
    await waitFor(() => f.status.state === 'waiting');
    fs.writeFileSync(log, 'recreated 1\nrecreated 2\n');
    await waitFor(() => lines.length === 4);
    expect(lines).toEqual(['before delete', 'last words', 'recreated 1', 'recreated 2']);
    expect(f.status.state).toBe('following');
  });

  it('file (and its directory) not existing yet: waits, then reads it from 0 even with start "end"', async () => {
    const later = path.join(dir, 'not-yet', 'odoo.log');
    const { f, lines, errors } = follow(later, { pollMs: 200 });
    await f.start();
    expect(f.status.state).toBe('waiting');
    fs.mkdirSync(path.dirname(later));
    fs.writeFileSync(later, 'born 1\n');
    await waitFor(() => lines.length === 1);
    fs.appendFileSync(later, 'born 2\n');
    await waitFor(() => lines.length === 2);
    expect(lines).toEqual(['born 1', 'born 2']);
    expect(errors).toEqual([]);
  });

  it('a real Odoo log written in arbitrary chunks (cutting lines and characters) arrives line for line', async () => {
    const fixture = fs.readFileSync(new URL('./fixtures/logs/baseline_install_base.log', import.meta.url));
    const expected = fixture.toString('utf8').split('\n').slice(0, -1);
    fs.writeFileSync(log, '');
    const { f, lines } = follow(log);
    await f.start();
    let seed = 7;
    for (let pos = 0; pos < fixture.length; ) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const n = 1 + (seed % 3000);
      fs.appendFileSync(log, fixture.subarray(pos, pos + n));
      pos += n;
      if (seed % 5 === 0) await new Promise((r) => setImmediate(r)); // let the follower read mid-record
    }
    await waitFor(() => lines.length === expected.length);
    expect(lines).toEqual(expected);
  });

  it('a 2 MB single line is truncated with a marker and the next lines still arrive', async () => {
    fs.writeFileSync(log, '');
    const { f, lines } = follow(log);
    await f.start();
    fs.appendFileSync(log, 'x'.repeat(2_000_000) + '\nnext line\n');
    await waitFor(() => lines.length === 2);
    expect(lines[0]).toBe('x'.repeat(64 * 1024) + truncationMarker(2_000_000 - 64 * 1024));
    expect(lines[1]).toBe('next line');
  });

  it('binary garbage does not stop the follower', async () => {
    fs.writeFileSync(log, '');
    const { f, lines, errors } = follow(log);
    await f.start();
    const garbage = Buffer.alloc(100_000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 256;
    fs.appendFileSync(log, garbage);
    fs.appendFileSync(log, '\nafter garbage\n');
    await waitFor(() => lines.includes('after garbage'));
    expect(errors).toEqual([]);
    expect(lines.every((l) => !l.includes('\0'))).toBe(true);
  });

  it('a directory at the path (EISDIR): one clear error naming the path, keeps retrying, recovers', async () => {
    fs.mkdirSync(log);
    const { f, lines, errors } = follow(log, { pollMs: 50 });
    await f.start();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('EISDIR');
    expect(errors[0]!.message).toContain(log);
    expect(f.status.state).toBe('error');
    // Let several polls run into the same error: still reported once.
    await new Promise((r) => setTimeout(r, 400));
    expect(errors).toHaveLength(1);
    fs.rmdirSync(log);
    fs.writeFileSync(log, 'readable now\n');
    await waitFor(() => lines.length === 1);
    expect(lines).toEqual(['readable now']);
    expect(f.status.state).toBe('following');
  });

  it('an unreadable file (EACCES): one error naming the path, then follows it once readable', async () => {
    fs.writeFileSync(log, 'secret\n');
    fs.chmodSync(log, 0o000);
    fs.chmodSync(dir, 0o755);
    const asRoot = process.getuid?.() === 0;
    // Root reads through chmod 000: drop the *effective* uid to nobody for the part that must fail.
    if (asRoot) process.seteuid!(65534);
    let errors: FollowError[];
    let lines: string[];
    let f: FileFollower;
    try {
      ({ f, lines, errors } = follow(log, { pollMs: 50, start: 'start' }));
      await f.start();
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      if (asRoot) process.seteuid!(0);
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('EACCES');
    expect(errors[0]!.message).toContain(log);
    expect(errors[0]!.message).toContain('permission denied');
    fs.chmodSync(log, 0o644);
    await waitFor(() => lines.length === 1);
    expect(lines).toEqual(['secret']);
  });

  it('stop() delivers a pending partial line and nothing after', async () => {
    fs.writeFileSync(log, '');
    const { f, lines } = follow(log);
    await f.start();
    fs.appendFileSync(log, 'done\nunfinished');
    await waitFor(() => lines.length === 1);
    await f.stop();
    expect(lines).toEqual(['done', 'unfinished']);
    expect(f.status.state).toBe('stopped');
  });

  describe('resume (a successor follower after an --auto reload)', () => {
    /** Follows from the end, reads one line, stops: the position a reload hands over. */
    async function firstFollower(): Promise<NonNullable<FileFollower['position']>> {
      const { f, lines } = follow(log);
      await f.start();
      fs.appendFileSync(log, 'read by the first\n');
      await waitFor(() => lines.length === 1);
      await f.stop();
      expect(lines).toEqual(['read by the first']);
      const at = f.position;
      expect(at).not.toBeNull();
      return at!;
    }

    it('goes on where the previous follower stopped: lines written in between arrive once', async () => {
      fs.writeFileSync(log, 'before any follower\n');
      const at = await firstFollower();
      expect(at.offset).toBe(fs.statSync(log).size);
      fs.appendFileSync(log, 'during the reload 1\nduring the reload 2\n');
      const { f, lines } = follow(log, { start: 'end', resume: at });
      await f.start();
      await waitFor(() => lines.length === 2, 5000, 'the lines written between the two followers');
      fs.appendFileSync(log, 'after\n');
      await waitFor(() => lines.length === 3);
      expect(lines).toEqual(['during the reload 1', 'during the reload 2', 'after']);
    });

    it('reads the whole new file when the log was rotated in between', async () => {
      fs.writeFileSync(log, 'old\n');
      const at = await firstFollower();
      fs.renameSync(log, `${log}.1`);
      fs.writeFileSync(log, 'first line of the new file\n');
      const { f, lines } = follow(log, { start: 'end', resume: at });
      await f.start();
      await waitFor(() => lines.length === 1);
      expect(lines).toEqual(['first line of the new file']);
    });

    it('reads from 0 when the same file was truncated and rewritten in between', async () => {
      fs.writeFileSync(log, 'a long first line that the rewrite will not repeat\n');
      const at = await firstFollower();
      // Same inode, longer than the old offset, different first bytes: not the content that was read.
      fs.writeFileSync(log, `rewritten ${'x'.repeat(200)}\n`);
      expect(fs.statSync(log).size).toBeGreaterThan(at.offset);
      const { f, lines } = follow(log, { start: 'end', resume: at });
      await f.start();
      await waitFor(() => lines.length === 1);
      expect(lines).toEqual([`rewritten ${'x'.repeat(200)}`]);
    });
  });
});
