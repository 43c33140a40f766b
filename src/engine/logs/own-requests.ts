// The requests odoo-heal itself sends to Odoo (health, version_info) come back as werkzeug access
// lines in Odoo's log. They are ours, not the admin's traffic: the log pane and the detectors skip
// them. Each request we sent hides at most one access line with its method and path, logged within
// a few seconds of it, so an identical request from someone else is still shown.
import type { LogRecord } from '../core/types.js';

/** Odoo logs the access line when the answer is sent; a slow answer or a late flush moves it. */
const WINDOW_MS = 10_000;
const KEEP = 64;
const ACCESS = /"(GET|POST) (\S+) HTTP\/[\d.]+"/;

export class OwnRequests {
  private sent: { method: string; path: string; at: number }[] = [];

  note(method: 'GET' | 'POST', path: string, at: number): void {
    this.sent.push({ method, path, at });
    if (this.sent.length > KEEP) this.sent.splice(0, this.sent.length - KEEP);
  }

  /** Whether the record is the access line of one of our requests (that request is then used up). */
  claim(record: LogRecord): boolean {
    if (record.kind !== 'odoo' || record.logger !== 'werkzeug' || this.sent.length === 0) return false;
    const m = ACCESS.exec(record.message);
    if (!m) return false;
    const i = this.sent.findIndex((s) => s.method === m[1] && s.path === m[2] && Math.abs(record.time - s.at) <= WINDOW_MS);
    if (i < 0) return false;
    this.sent.splice(i, 1);
    return true;
  }
}
