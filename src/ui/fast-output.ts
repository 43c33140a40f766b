// A cheaper frame for Ink 6.8.0: a drop-in `Output.prototype.get` that returns the same bytes as
// Ink's but reuses the rows that did not change since the last frame.
//
// Why: Ink 6 rebuilds the whole grid on every frame (an object per cell, the ANSI tokenizer over
// every written line, string-width per cell, three Sets per cell to diff styles), ~16 ms of CPU at
// 120x40 however little changed; at idle only a few rows (charts, counters, clock) do. Ink 7 fixes
// this, but it needs Node 22 and we support Node 20. So this patches Ink only when the installed
// Ink is exactly the version it was written against, and leaves any other version alone.
//
// How: a row's text is a pure function of the frame width and the ordered (x, line) writes that land
// in it (line = after Ink's clipping and transformers, i.e. with its colour codes). Each frame
// collects that signature per row; a row whose signature equals last frame's reuses last frame's
// string, the others are built exactly as Ink builds them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const PINNED_INK_VERSION = '6.8.0';
/** The tokenizer whose styledCharsToString the row builder's shortcut was checked against. */
const CHECKED_TOKENIZER_VERSION = '0.2.5';

// The shapes of Ink 6.8.0's internals (build/output.js and @alcalzone/ansi-tokenize 0.2).
type Transformer = (line: string, index: number) => string;
interface Clip {
  x1: number | undefined;
  x2: number | undefined;
  y1: number | undefined;
  y2: number | undefined;
}
type Operation =
  | { type: 'write'; x: number; y: number; text: string; transformers: Transformer[] }
  | { type: 'clip'; clip: Clip }
  | { type: 'unclip' };
interface AnsiCode {
  type: string;
  code: string;
  endCode: string;
}
interface StyledChar {
  type: 'char';
  value: string;
  fullWidth: boolean;
  styles: AnsiCode[];
}
interface OutputFields {
  width: number;
  height: number;
  operations: Operation[];
}
export type OutputGet = (this: OutputFields) => { output: string; height: number };

/** Ink's Output class and the functions its get() uses, from the copies Ink itself imports. */
export interface InkOutputInternals {
  Output: { prototype: { get: OutputGet } };
  tokenize(line: string): unknown[];
  styledCharsFromTokens(tokens: unknown[]): StyledChar[];
  diffAnsiCodes(from: AnsiCode[], to: AnsiCode[]): AnsiCode[];
  ansiCodesToString(codes: AnsiCode[]): string;
  styledCharsToString(chars: StyledChar[]): string;
  /** Ink asks for ^0.2.4: another 0.2.x may be installed next to Ink 6.8.0. */
  tokenizerVersion: string;
  stringWidth(text: string): number;
  sliceAnsi(text: string, start: number, end?: number): string;
}

const importFile = (path: string): Promise<Record<string, unknown>> => import(pathToFileURL(path).href);

function packageJsonOf(entry: string, name: string): string | null {
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    try {
      const path = join(dir, 'package.json');
      if ((JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === name) return path;
    } catch {
      // no package.json here, or not the package: look further up
    }
    if (dirname(dir) === dir) return null;
  }
}

/**
 * Loads Ink's internals when the Ink that `inkEntry` (ink's resolved entry file; by default the one
 * this module's `import 'ink'` gets) belongs to is the pinned version; null for any other version,
 * without importing anything from it.
 */
export async function loadInkOutput(
  inkEntry: string = createRequire(import.meta.url).resolve('ink'),
): Promise<InkOutputInternals | null> {
  const pkgPath = packageJsonOf(inkEntry, 'ink');
  if (!pkgPath) return null;
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version?: unknown };
  if (pkg.version !== PINNED_INK_VERSION) return null;
  // Ink's "exports" only has ".": reach build/output.js by path. The ESM loader keys modules by their
  // real path, as Ink's renderer's own `import './output.js'` is, so this is the class in use.
  const fromInk = createRequire(pkgPath);
  const tokenizerPkg = fromInk.resolve('@alcalzone/ansi-tokenize/package.json');
  const tokenizerJson = JSON.parse(readFileSync(tokenizerPkg, 'utf8')) as { version: string; exports: { '.': { import: string } } };
  const [output, tokenizer, stringWidth, sliceAnsi] = await Promise.all([
    importFile(join(dirname(pkgPath), 'build', 'output.js')),
    importFile(join(dirname(tokenizerPkg), tokenizerJson.exports['.'].import)),
    importFile(fromInk.resolve('string-width')),
    importFile(fromInk.resolve('slice-ansi')),
  ]);
  const internals = {
    Output: output['default'],
    tokenize: tokenizer['tokenize'],
    styledCharsFromTokens: tokenizer['styledCharsFromTokens'],
    diffAnsiCodes: tokenizer['diffAnsiCodes'],
    ansiCodesToString: tokenizer['ansiCodesToString'],
    styledCharsToString: tokenizer['styledCharsToString'],
    tokenizerVersion: tokenizerJson.version,
    stringWidth: stringWidth['default'],
    sliceAnsi: sliceAnsi['default'],
  };
  const { Output, tokenizerVersion, ...functions } = internals;
  const complete =
    typeof (Output as { prototype?: { get?: unknown } } | undefined)?.prototype?.get === 'function' &&
    typeof tokenizerVersion === 'string' &&
    Object.values(functions).every((f) => typeof f === 'function');
  return complete ? (internals as InkOutputInternals) : null;
}

/**
 * A map that forgets: two generations of at most `limit` weight each; a hit in the old one moves
 * to the new one. Bounded, so a flood of unique log lines cannot grow it, and what the frames keep
 * drawing stays.
 */
class GenerationalCache<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  private weight = 0;
  constructor(
    private readonly limit: number,
    private readonly weigh: (key: string, value: V) => number,
  ) {}
  get(key: string, make: (key: string) => V): V {
    let value = this.young.get(key);
    if (value !== undefined) return value;
    value = this.old.get(key);
    if (value === undefined) value = make(key);
    this.weight += this.weigh(key, value);
    if (this.weight > this.limit) {
      this.old = this.young;
      this.young = new Map();
      this.weight = this.weigh(key, value);
    }
    this.young.set(key, value);
    return value;
  }
}

/** Two style sets with the same codes in the same order: Ink's diff between them is empty. */
function sameCodes(a: AnsiCode[], b: AnsiCode[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.code !== y.code || x.endCode !== y.endCode) return false;
  }
  return true;
}

const SPACE: StyledChar = { type: 'char', value: ' ', fullWidth: false, styles: [] };

/** Rows built and reused since start-up, for tests and benches. */
export const fastOutputStats = { frames: 0, rowsBuilt: 0, rowsReused: 0 };

/**
 * Styled cells kept per cache generation: one generation holds the rows an idle 120x40 frame
 * rebuilds (~1200 cells). A flood of unique log lines fills both: +0.9 MB of heap measured
 * (1024 cells: +0.3 MB but ~0.5 ms more per frame; 16K: +7.8 MB for ~0.1 ms less).
 */
const STYLED_CELLS_PER_GENERATION = 2048;
/** Distinct characters whose width is kept per generation. */
const WIDTHS_PER_GENERATION = 4096;

/**
 * A get() equivalent to Ink 6.8.0's Output.prototype.get, with its own memory of the last frame
 * (each call of this factory starts afresh).
 */
export function createFastGet(ink: InkOutputInternals): OutputGet {
  const { tokenize, styledCharsFromTokens, diffAnsiCodes, ansiCodesToString, stringWidth, sliceAnsi } = ink;
  const toString = ink.tokenizerVersion === CHECKED_TOKENIZER_VERSION ? rowString : ink.styledCharsToString;
  const styled = new GenerationalCache<StyledChar[]>(STYLED_CELLS_PER_GENERATION, (_k, chars) => chars.length + 1);
  const widths = new GenerationalCache<number>(WIDTHS_PER_GENERATION, () => 1);
  const styledChars = (line: string) => styled.get(line, (l) => styledCharsFromTokens(tokenize(l)));
  const charWidth = (value: string) => widths.get(value, stringWidth);

  /**
   * The tokenizer's styledCharsToString, without its diff (three Sets) between two neighbours of the
   * same style: the diff is empty then. Half of the row builder's time otherwise.
   */
  function rowString(chars: StyledChar[]): string {
    let ret = '';
    const last = chars.length - 1;
    for (let i = 0; i <= last; i++) {
      const char = chars[i]!;
      if (i === 0) {
        if (char.styles.length > 0) ret += ansiCodesToString(char.styles);
      } else {
        const before = chars[i - 1]!.styles;
        if (!sameCodes(before, char.styles)) ret += ansiCodesToString(diffAnsiCodes(before, char.styles));
      }
      ret += char.value;
      if (i === last && char.styles.length > 0) ret += ansiCodesToString(diffAnsiCodes(char.styles, []));
    }
    return ret;
  }

  /** One row as Ink builds it: blank cells, then each write in order, wide characters and all. */
  function buildRow(width: number, writes: (number | string)[]): string {
    if (writes.length === 0) return ''; // blank cells only: Ink's trimEnd leaves nothing
    const row: StyledChar[] = [];
    for (let x = 0; x < width; x++) row.push(SPACE);
    for (let i = 0; i < writes.length; i += 2) {
      let offsetX = writes[i] as number;
      for (const character of styledChars(writes[i + 1] as string)) {
        row[offsetX] = character;
        const characterWidth = Math.max(1, charWidth(character.value));
        for (let k = 1; k < characterWidth; k++) {
          row[offsetX + k] = { type: 'char', value: '', fullWidth: false, styles: character.styles };
        }
        offsetX += characterWidth;
      }
    }
    return toString(row.filter((item) => item !== undefined)).trimEnd();
  }

  let lastWidth = NaN;
  let lastWrites: (number | string)[][] = [];
  let lastRows: string[] = [];

  return function get(this: OutputFields) {
    const { width, height, operations } = this;
    // Per row, the writes that land in it: x, line, x, line, ...
    const writes: (number | string)[][] = [];
    for (let y = 0; y < height; y++) writes.push([]);
    // Ink's per-frame caches for the clipping maths (texts can be long: not kept across frames).
    const textWidths = new Map<string, number>();
    const textWidth = (text: string) => {
      let w = textWidths.get(text);
      if (w === undefined) textWidths.set(text, (w = stringWidth(text)));
      return w;
    };

    const clips: Clip[] = [];
    for (const operation of operations) {
      if (operation.type === 'clip') clips.push(operation.clip);
      if (operation.type === 'unclip') clips.pop();
      if (operation.type !== 'write') continue;
      const { text, transformers } = operation;
      let { x, y } = operation;
      let lines = text.split('\n');
      const clip = clips.at(-1);
      if (clip) {
        const clipHorizontally = typeof clip.x1 === 'number' && typeof clip.x2 === 'number';
        const clipVertically = typeof clip.y1 === 'number' && typeof clip.y2 === 'number';
        if (clipHorizontally) {
          let widest = 0;
          for (const line of lines) widest = Math.max(widest, textWidth(line));
          if (x + widest < clip.x1! || x > clip.x2!) continue;
        }
        if (clipVertically) {
          if (y + lines.length < clip.y1! || y > clip.y2!) continue;
        }
        if (clipHorizontally) {
          const x1 = clip.x1!;
          const x2 = clip.x2!;
          lines = lines.map((line) => {
            const from = x < x1 ? x1 - x : 0;
            const lineWidth = textWidth(line);
            const to = x + lineWidth > x2 ? x2 - x : lineWidth;
            return sliceAnsi(line, from, to);
          });
          if (x < x1) x = x1;
        }
        if (clipVertically) {
          const y1 = clip.y1!;
          const y2 = clip.y2!;
          const from = y < y1 ? y1 - y : 0;
          const to = y + lines.length > y2 ? y2 - y : lines.length;
          lines = lines.slice(from, to);
          if (y < y1) y = y1;
        }
      }
      let offsetY = 0;
      for (let index = 0; index < lines.length; index++) {
        // As in Ink: a line below the grid (or above it) is dropped and the next tries the same row.
        const row = writes[y + offsetY];
        if (!row) continue;
        let line = lines[index]!;
        for (const transformer of transformers) line = transformer(line, index);
        row.push(x, line);
        offsetY++;
      }
    }

    const reuse = width === lastWidth;
    const rows: string[] = [];
    for (let y = 0; y < writes.length; y++) {
      const row = writes[y]!;
      const before = reuse ? lastWrites[y] : undefined;
      if (before !== undefined && sameWrites(before, row)) {
        rows.push(lastRows[y]!);
        fastOutputStats.rowsReused++;
      } else {
        rows.push(buildRow(width, row));
        fastOutputStats.rowsBuilt++;
      }
    }
    lastWidth = width;
    lastWrites = writes;
    lastRows = rows;
    fastOutputStats.frames++;
    return { output: rows.join('\n'), height: writes.length };
  };
}

function sameWrites(a: (number | string)[], b: (number | string)[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Ink's own Output internals when the installed Ink is the pinned version, else null. */
export const inkOutput: InkOutputInternals | null = await loadInkOutput().catch(() => null);

const installed = new WeakSet<object>();

/**
 * Puts the fast get() on Ink's Output (once); false, and Ink untouched, when Ink is not the pinned
 * version or its internals could not be loaded.
 */
export function installFastOutput(ink: InkOutputInternals | null = inkOutput): boolean {
  if (!ink) return false;
  const proto = ink.Output.prototype;
  if (!installed.has(proto)) {
    proto.get = createFastGet(ink);
    installed.add(proto);
  }
  return true;
}
