// Append-only, hash-chained audit log (JSON lines). Each entry carries `prev` (sha256 of the previous
// line's exact bytes) and `hash` (sha256 of the entry's canonical JSON without `hash`), so editing,
// removing, reordering or inserting an entry breaks the chain at a line `verifyAudit` names. A small
// `<log>.head` file remembers the last seq/hash so that removing entries at the END is detected too.
// The chain is tamper-EVIDENT against edits that do not recompute every later hash; someone with
// write access can rebuild a consistent chain, so ship the log off-host when that matters.
import { createHash } from 'node:crypto';
import { constants, promises as fsp, readlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { ensureDir, writeJsonDurable } from '../core/durable.js';

export type AuditAction =
  | 'planned'
  | 'guidance'
  | 'verified'
  | 'failed'
  | 'rolled_back'
  | 'refused'
  | 'rollback'
  | 'gave_up'
  | (string & {});

export interface AuditCommand {
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
}

/** What a caller supplies; seq, time, prev and hash are added by appendAudit. */
export interface AuditInput {
  who: string;
  action: AuditAction;
  incidentId: string | null;
  fixId: string | null;
  attemptId: string | null;
  summary: string;
  preview?: string;
  result: string;
  durationMs?: number | null;
  commands?: AuditCommand[];
}

export interface AuditEntry {
  seq: number;
  time: string;
  who: string;
  action: AuditAction;
  incidentId: string | null;
  fixId: string | null;
  attemptId: string | null;
  summary: string;
  preview: string;
  result: string;
  durationMs: number | null;
  commands: AuditCommand[];
  prev: string;
  hash: string;
}

export type AuditVerifyResult = { ok: true; entries: number } | { ok: false; line: number; reason: string };

const GENESIS = '0'.repeat(64);
/** Previews (diffs) are kept whole up to this size; beyond it the audit keeps the start. */
const PREVIEW_LIMIT = 32 * 1024;
const LOCK_WAIT_MS = 10_000;

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** JSON with object keys sorted at every level, so the hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function entryHash(entry: Omit<AuditEntry, 'hash'> | AuditEntry): string {
  const { hash: _ignored, ...rest } = entry as AuditEntry;
  return sha256(canonicalJson(rest));
}

/** `user@tty` of the person at the keyboard (tty from stdin), `user@notty` for scripts. */
export function currentWho(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = String(process.getuid?.() ?? 'unknown');
  }
  let tty = 'notty';
  if (process.stdin.isTTY) {
    try {
      tty = readlinkSync('/proc/self/fd/0').replace(/^\/dev\//, '');
    } catch {
      tty = 'tty';
    }
  }
  return `${user}@${tty}`;
}

export function headPath(logPath: string): string {
  return `${logPath}.head`;
}

interface AuditHead {
  seq: number;
  hash: string;
  lineHash: string;
}

/** The last complete line of the file (without its newline), or null when empty. Throws on a partial last line. */
async function lastLine(fh: fsp.FileHandle, path: string): Promise<string | null> {
  const { size } = await fh.stat();
  if (size === 0) return null;
  let chunk = 64 * 1024;
  for (;;) {
    const start = Math.max(0, size - chunk);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    if (buf[buf.length - 1] !== 0x0a) {
      throw new Error(`audit log ${path} ends with a partial line (a crash mid-write or an edit); run \`odoo-heal audit verify\` and move the damaged log aside before fixes can be recorded`);
    }
    const nl = buf.lastIndexOf(0x0a, buf.length - 2);
    if (nl >= 0) return buf.subarray(nl + 1, buf.length - 1).toString('utf8');
    if (start === 0) return buf.subarray(0, buf.length - 1).toString('utf8');
    chunk *= 4;
  }
}

/** Cross-process mutual exclusion for appends: an O_EXCL lock file holding our pid; a dead holder's lock is broken. */
async function withAppendLock<T>(logPath: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = `${logPath}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  let delay = 5;
  for (;;) {
    try {
      const fh = await fsp.open(lockPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await fh.writeFile(String(process.pid));
      } catch (err) {
        // A full disk: an empty lock file would block every later append for LOCK_WAIT_MS.
        await fh.close().catch(() => undefined);
        await fsp.unlink(lockPath).catch(() => undefined);
        throw err;
      }
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(await fsp.readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) {
        await fsp.unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) throw new Error(`audit log ${logPath}: lock ${lockPath} held by pid ${holder || '?'} for over ${LOCK_WAIT_MS} ms`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 100);
    }
  }
  try {
    return await fn();
  } finally {
    await fsp.unlink(lockPath).catch(() => undefined);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Appends one entry (one write, O_APPEND, fsync'd) chained to the previous one. */
export async function appendAudit(logPath: string, input: AuditInput, now: () => number = Date.now): Promise<AuditEntry> {
  await ensureDir(dirname(logPath));
  return withAppendLock(logPath, async () => {
    const fh = await fsp.open(logPath, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o600);
    try {
      const last = await lastLine(fh, logPath);
      let seq = 1;
      let prev = GENESIS;
      if (last !== null) {
        let parsed: { seq?: unknown };
        try {
          parsed = JSON.parse(last) as { seq?: unknown };
        } catch {
          throw new Error(`audit log ${logPath}: the last line is not valid JSON; run \`odoo-heal audit verify\``);
        }
        if (typeof parsed.seq !== 'number') throw new Error(`audit log ${logPath}: the last line has no seq; run \`odoo-heal audit verify\``);
        seq = parsed.seq + 1;
        prev = sha256(last);
      }
      const preview = input.preview ?? '';
      const body: Omit<AuditEntry, 'hash'> = {
        seq,
        time: new Date(now()).toISOString(),
        who: input.who,
        action: input.action,
        incidentId: input.incidentId,
        fixId: input.fixId,
        attemptId: input.attemptId,
        summary: input.summary,
        preview: preview.length > PREVIEW_LIMIT ? `${preview.slice(0, PREVIEW_LIMIT)}\n[… ${preview.length - PREVIEW_LIMIT} characters omitted]` : preview,
        result: input.result,
        durationMs: input.durationMs ?? null,
        commands: input.commands ?? [],
        prev,
      };
      const entry: AuditEntry = { ...body, hash: entryHash(body) };
      const line = JSON.stringify(entry);
      const sizeBefore = (await fh.stat()).size;
      try {
        await fh.write(`${line}\n`);
        await fh.sync();
        await writeJsonDurable(headPath(logPath), { seq, hash: entry.hash, lineHash: sha256(line) } satisfies AuditHead, { mode: 0o600 });
      } catch (err) {
        // A full disk may have taken half the line: cut back to the last whole entry so the chain
        // stays verifiable, and let the caller decide (retry after freeing space, or report).
        await fh.truncate(sizeBefore).catch(() => undefined);
        throw err;
      }
      return entry;
    } finally {
      await fh.close();
    }
  });
}

/** Checks the whole chain. Line numbers are 1-based lines of the file. */
export async function verifyAudit(logPath: string): Promise<AuditVerifyResult> {
  let head: AuditHead | null = null;
  try {
    head = JSON.parse(await fsp.readFile(headPath(logPath), 'utf8')) as AuditHead;
  } catch {
    head = null;
  }
  let text: string;
  try {
    text = await fsp.readFile(logPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      if (head && head.seq > 0) return { ok: false, line: 1, reason: `the log is missing but ${headPath(logPath)} records ${head.seq} entries` };
      return { ok: true, entries: 0 };
    }
    throw err;
  }
  if (text.length === 0) {
    if (head && head.seq > 0) return { ok: false, line: 1, reason: `the log is empty but ${headPath(logPath)} records ${head.seq} entries` };
    return { ok: true, entries: 0 };
  }
  const lines = text.split('\n');
  // The text after the last newline: '' for a well-formed log, else a partial (truncated) line.
  const partial = lines.pop() !== '';
  let prev = GENESIS;
  let lastLine = '';
  let lastEntry: AuditEntry | null = null;
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i]!;
    let entry: AuditEntry;
    try {
      entry = JSON.parse(raw) as AuditEntry;
    } catch {
      return { ok: false, line: n, reason: 'not valid JSON (edited or damaged)' };
    }
    if (entry === null || typeof entry !== 'object' || typeof entry.hash !== 'string') {
      return { ok: false, line: n, reason: 'not an audit entry (no hash)' };
    }
    if (entry.seq !== n) {
      return { ok: false, line: n, reason: `seq is ${String(entry.seq)}, expected ${n} (an entry was removed, inserted or reordered)` };
    }
    if (entry.prev !== prev) {
      return { ok: false, line: n, reason: 'prev does not match the previous line (an entry before it was edited, removed, inserted or reordered)' };
    }
    if (entryHash(entry) !== entry.hash) {
      return { ok: false, line: n, reason: 'hash does not match the entry (the entry was edited)' };
    }
    prev = sha256(raw);
    lastLine = raw;
    lastEntry = entry;
  }
  if (partial) {
    return { ok: false, line: lines.length + 1, reason: 'partial last line (truncated write or edit)' };
  }
  if (head) {
    const entries = lastEntry?.seq ?? 0;
    if (head.seq > entries) {
      return { ok: false, line: entries + 1, reason: `entries ${entries + 1}..${head.seq} were removed from the end (${headPath(logPath)} records ${head.seq})` };
    }
    if (head.seq === entries && lastEntry && (head.hash !== lastEntry.hash || head.lineHash !== sha256(lastLine))) {
      return { ok: false, line: entries, reason: `the last entry does not match ${headPath(logPath)} (replaced)` };
    }
    // head.seq < entries: a crash between the append's fsync and the head update; the chain itself is intact.
  }
  return { ok: true, entries: lastEntry?.seq ?? 0 };
}

/** Reads all entries (no verification); for history/report views. */
export async function readAudit(logPath: string): Promise<AuditEntry[]> {
  let text: string;
  try {
    text = await fsp.readFile(logPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: AuditEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as AuditEntry);
    } catch {
      /* damaged line: verifyAudit reports it */
    }
  }
  return out;
}
