// Recognises an Odoo header line on raw bytes, without decoding it. The byte scanner
// (src/engine/patterns/scan-file.ts) uses it to find record boundaries and levels in a 100 MB log
// while decoding only the few records a pattern could match.
//
// It accepts exactly the lines `parseOdooHeader(line, 0)` accepts (test/header-bytes.test.ts
// compares both on every fixture line and on mutations of them): every byte it looks at is ASCII,
// and a UTF-8 multi-byte sequence never contains an ASCII byte, so a check on byte i of the line
// agrees with the same check on character i as long as all earlier bytes were ASCII (which the
// fixed-width stamp, pid and level guarantee); db and logger are found by searching for spaces,
// which are ASCII too.

const SP = 32;
const COLON = 58;
const DASH = 45;
const COMMA = 44;

/** Level indexes, in the order of `LEVELS` in ../types.ts. */
export const LEVEL_DEBUG = 0;
export const LEVEL_INFO = 1;
export const LEVEL_WARNING = 2;
export const LEVEL_ERROR = 3;
export const LEVEL_CRITICAL = 4;

/** Shortest possible header: stamp (24) + `1 ` + `INFO ` + `d ` + `l: `. */
const MIN_HEADER = 36;

/** Two ASCII digits at `i` as a number, or -1. (`>>> 0` folds "below '0'" into "above 9".) */
function two(b: Uint8Array, i: number): number {
  const hi = b[i]! - 48;
  const lo = b[i + 1]! - 48;
  return hi >>> 0 > 9 || lo >>> 0 > 9 ? -1 : hi * 10 + lo;
}

// Level words with their trailing space, as byte codes.
const W_INFO = [73, 78, 70, 79, 32];
const W_WARNING = [87, 65, 82, 78, 73, 78, 71, 32];
const W_ERROR = [69, 82, 82, 79, 82, 32];
const W_DEBUG = [68, 69, 66, 85, 71, 32];
const W_CRITICAL = [67, 82, 73, 84, 73, 67, 65, 76, 32];

/** Level words by level index. */
const WORDS = [W_DEBUG, W_INFO, W_WARNING, W_ERROR, W_CRITICAL];
/** Level index by the first letter of its word, -1 for any other byte. */
const LEVEL_BY_INITIAL = new Int8Array(256).fill(-1);
WORDS.forEach((w, level) => (LEVEL_BY_INITIAL[w[0]!] = level));

/** Whether `w` is at `b[at]` (reading past the line is harmless: the caller then finds no db). */
function word(b: Uint8Array, at: number, w: readonly number[]): boolean {
  for (let k = 1; k < w.length; k++) if (b[at + k] !== w[k]) return false;
  return true;
}

/**
 * The level index (LEVEL_*) when the line `b[start, end)` (no newline) is an Odoo header
 * `YYYY-MM-DD HH:MM:SS,mmm PID LEVEL DB LOGGER: MESSAGE`, else -1.
 */
export function odooHeaderLevel(b: Uint8Array, start: number, end: number): number {
  // Every fixed position read below is < start + MIN_HEADER <= end.
  if (end - start < MIN_HEADER) return -1;
  const s = start;
  if (b[s + 19] !== COMMA || b[s + 23] !== SP || b[s + 4] !== DASH || b[s + 7] !== DASH) return -1;
  if (b[s + 10] !== SP || b[s + 13] !== COLON || b[s + 16] !== COLON) return -1;
  if (two(b, s) < 0 || two(b, s + 2) < 0 || two(b, s + 20) < 0 || (b[s + 22]! - 48) >>> 0 > 9) return -1;
  const mo = two(b, s + 5);
  const d = two(b, s + 8);
  const h = two(b, s + 11);
  const mi = two(b, s + 14);
  const se = two(b, s + 17);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return -1;
  // PID: at least one digit, then a space.
  let i = s + 24;
  while (i < end && (b[i]! - 48) >>> 0 <= 9) i++;
  if (i === s + 24 || i >= end - 1 || b[i] !== SP) return -1;
  i++;
  // Table lookups rather than a switch: a switch case never taken while V8 optimises the scan
  // loop (WARNING, ERROR... among thousands of INFO lines) would make the optimised code bail out.
  const level = LEVEL_BY_INITIAL[b[i]!]!;
  if (level < 0) return -1;
  const w = WORDS[level]!;
  if (!word(b, i, w)) return -1;
  i += w.length;
  // DB: non-empty, up to a space.
  const dbStart = i;
  while (i < end && b[i] !== SP) i++;
  if (i >= end || i === dbStart) return -1;
  // Logger: non-empty, no space, ends at the first `: ` — i.e. the first space after it follows a colon.
  const loggerStart = i + 1;
  i = loggerStart;
  while (i < end && b[i] !== SP) i++;
  if (i >= end || b[i - 1] !== COLON || i - 1 <= loggerStart) return -1;
  return level;
}
