// Log text comes from the outside world (user input echoed by Odoo, tracebacks, stderr of other
// programs): it must never drive the terminal. Everything shown from a log line or a fix preview
// goes through `sanitizeText` first.
import stripAnsi from 'strip-ansi';

// Whatever strip-ansi left (lone ESC, unterminated control strings' introducers), C0 controls
// except TAB, DEL, and the C1 range (8-bit CSI/OSC/DCS introducers are C1 too).
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F]/g;
// Bidi embeddings/overrides (U+202A-202E) and isolates (U+2066-2069) can reorder what the admin
// reads ("Trojan Source"); zero-width ones are harmless and kept.
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;
const TAB = /\t/g;

/** One display-safe line: no escape sequences, no control characters, no bidi overrides. */
export function sanitizeText(text: string): string {
  // Tabs would let the terminal decide the width; Ink measures them as 0 columns.
  return stripAnsi(text).replace(TAB, '    ').replace(CONTROLS, '').replace(BIDI, '');
}
