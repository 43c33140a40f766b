// The error-like records a long-running engine keeps so the console can draft a pattern for an
// unclassified incident (suggest-run.ts) without reading the logs again: a followed command
// (journald) or stdin cannot be read again. Bounded by signature and per signature, so a flood of
// one error neither grows memory nor pushes the other errors (which the draft must not match) out.
import type { LogRecord } from '../core/types.js';
import { isUnclassifiedCandidate, signatureOf } from '../incidents/signature.js';

/** Records kept per signature: enough to prove a draft matches its incident's variants. */
const PER_SIGNATURE = 50;
/** Signatures kept; the one unseen longest goes first. */
const SIGNATURES = 200;

export class RecentErrors {
  private readonly bySignature = new Map<string, LogRecord[]>();

  constructor(
    private readonly perSignature = PER_SIGNATURE,
    private readonly signatures = SIGNATURES,
  ) {}

  /** Every record the engine reads, matched by a pattern or not; only error-like ones are kept. */
  note(record: LogRecord): void {
    if (!isUnclassifiedCandidate(record)) return;
    const key = signatureOf(record).key;
    const kept = this.bySignature.get(key) ?? [];
    // Re-inserted, so the Map's order is least recently seen first.
    this.bySignature.delete(key);
    kept.push(record);
    if (kept.length > this.perSignature) kept.shift();
    this.bySignature.set(key, kept);
    if (this.bySignature.size > this.signatures) this.bySignature.delete(this.bySignature.keys().next().value!);
  }

  /** All kept records, for suggestFor (it sorts them into the incident's own and the others). */
  all(): LogRecord[] {
    return [...this.bySignature.values()].flat();
  }
}
