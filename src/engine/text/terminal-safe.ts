// Log text comes from the outside world (user input echoed by Odoo, tracebacks, stderr of other
// programs, file names an attacker chose): it must never drive a terminal. This is the one sanitizer:
// the console panes use it through src/ui/sanitize.ts, the command line through src/cli/output.ts.
// See docs/security.md#terminal-output.
import stripAnsi from 'strip-ansi';

// Whatever strip-ansi left (lone ESC, unterminated control strings' introducers), C0 controls
// except TAB and LF, DEL, and the C1 range (8-bit CSI/OSC/DCS introducers are C1 too).
// eslint-disable-next-line no-control-regex
const CONTROLS_BUT_TAB_LF = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS_BUT_TAB = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F]/g;
// Bidi embeddings/overrides (U+202A-202E) and isolates (U+2066-2069) can reorder what the admin
// reads ("Trojan Source"); zero-width ones are harmless and kept.
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;
const TAB = /\t/g;
// A CR not followed by LF moves the cursor back over what was printed: a forged line could hide
// itself behind an innocent one. CRLF (a CRLF file's diff) is only an ordinary line end.
const CRLF = /\r\n/g;

/** One display-safe line: no escape sequences, no control characters (newlines too), no bidi overrides. */
export function sanitizeText(text: string): string {
  // Tabs would let the terminal decide the width; Ink measures them as 0 columns.
  return stripAnsi(text).replace(TAB, '    ').replace(CONTROLS_BUT_TAB, '').replace(BIDI, '');
}

/** Multi-line output for a terminal or a CI log: like sanitizeText, but newlines and tabs stay. */
export function sanitizeBlock(text: string): string {
  return stripAnsi(text).replace(CRLF, '\n').replace(CONTROLS_BUT_TAB_LF, '').replace(BIDI, '');
}

// DEL, C1, the bidi controls and marks, and the Unicode line/paragraph separators: JSON.stringify
// leaves them raw (it escapes only C0), so `cat out.json` would hand U+009B (8-bit CSI) to the terminal.
// eslint-disable-next-line no-control-regex
const JSON_UNSAFE = /[\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/**
 * Escapes what JSON.stringify leaves raw but a terminal would act on, as `\uXXXX`. Lossless: the parsed
 * value is unchanged. Apply to the output of JSON.stringify (these characters only occur in strings).
 */
export function escapeJsonText(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** JSON.stringify whose output is safe to print on a terminal (see escapeJsonText). */
export function safeJsonStringify(value: unknown, space?: number): string {
  return escapeJsonText(JSON.stringify(value, null, space));
}
