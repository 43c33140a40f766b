// Small helpers shared by the fix modules (reading captures, confined reads, polling a probe).
import { createHash } from 'node:crypto';
import type { Incident, ProbeName, ProbeResult } from '../engine/core/types.js';
import { openConfined } from './lib/confine.js';
import type { FixContext } from './types.js';

/** A parameter of the incident's fix (templates already substituted), else a pattern capture. */
export function incidentParam(incident: Incident, name: string): string | null {
  const fromFix = incident.fix?.params[name];
  if (typeof fromFix === 'string' && fromFix.trim() !== '' && !fromFix.includes('${')) return fromFix.trim();
  if (incident.origin.kind === 'pattern') {
    const cap = incident.origin.captures[name];
    if (typeof cap === 'string' && cap.trim() !== '') return cap.trim();
  }
  return null;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Largest file a fix reads into memory (data XML is kilobytes; anything huge is not what we think). */
export const MAX_EDIT_BYTES = 16 * 1024 * 1024;

/** Reads a file through the confiner (O_NOFOLLOW + re-check of where the descriptor points). */
export async function readConfined(ctx: FixContext, path: string): Promise<{ path: string; content: Buffer }> {
  const file = await openConfined(ctx.confiner, path);
  try {
    const st = await file.handle.stat();
    if (!st.isFile()) throw new Error(`${file.path} is not a regular file`);
    if (st.size > MAX_EDIT_BYTES) throw new Error(`${file.path} is ${st.size} bytes, more than a fix edits (${MAX_EDIT_BYTES})`);
    return { path: file.path, content: await file.handle.readFile() };
  } finally {
    await file.handle.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Re-runs a probe until `good` says so or the time budget is spent. Returns the last result and
 * whether it was good. Uses wall-clock time for the budget: the context clock may be a fake one.
 */
export async function pollProbe(
  ctx: FixContext,
  probe: ProbeName,
  good: (r: ProbeResult) => boolean,
  budgetMs: number,
  intervalMs = 500,
): Promise<{ ok: boolean; last: ProbeResult | null; tries: number; error: string | null }> {
  const deadline = Date.now() + budgetMs;
  let last: ProbeResult | null = null;
  let error: string | null = null;
  let tries = 0;
  for (;;) {
    tries++;
    try {
      last = await ctx.probe(probe);
      error = null;
      if (good(last)) return { ok: true, last, tries, error };
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() + intervalMs > deadline) return { ok: false, last, tries, error };
    await sleep(intervalMs);
  }
}

/** `pg_ctl -D /x start` with a readable quoting of arguments that need it. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
