// Static analysis of pattern regexes, done once at load time and never by running them on input:
// (1) refuse regexes that can backtrack catastrophically, (2) find literals every match must
// contain, so the matcher can skip a record with a cheap `includes` before any regex runs.
import { createRequire } from 'node:module';

// safe-regex2 (and its parser) is loaded on first use: the matcher imports this module for
// requiredLiterals only, and a scan worker thread (scan-worker.ts) never checks regexes.
let safeRegexFn: ((re: string) => boolean) | null = null;
function safeRegex(src: string): boolean {
  safeRegexFn ??= createRequire(import.meta.url)('safe-regex2') as (re: string) => boolean;
  return safeRegexFn(src);
}

type Quant = 'none' | 'optional' | 'bounded' | 'unbounded';

interface Atom {
  kind: 'char' | 'class' | 'group' | 'zero';
  /** Source text of the atom without its quantifier (for `char`/`class`). */
  src: string;
  /** The literal character, for `char` atoms. */
  ch?: string;
  quant: Quant;
  /** Alternatives of a group. */
  alts?: Atom[][];
}

/** A tiny tokenizer for ECMAScript regex source: enough structure for the two analyses below. */
function parse(src: string): Atom[][] {
  let i = 0;
  function parseAlts(): Atom[][] {
    const alts: Atom[][] = [[]];
    while (i < src.length) {
      const c = src[i]!;
      if (c === ')') return alts;
      if (c === '|') {
        alts.push([]);
        i++;
        continue;
      }
      const atom = parseAtom();
      if (atom) {
        atom.quant = parseQuant();
        alts[alts.length - 1]!.push(atom);
      }
    }
    return alts;
  }
  function parseAtom(): Atom | null {
    const c = src[i]!;
    if (c === '(') {
      i++;
      let zero = false;
      if (src.startsWith('?:', i)) i += 2;
      else if (src.startsWith('?=', i) || src.startsWith('?!', i)) {
        i += 2;
        zero = true;
      } else if (src.startsWith('?<=', i) || src.startsWith('?<!', i)) {
        i += 3;
        zero = true;
      } else if (src.startsWith('?<', i)) {
        const end = src.indexOf('>', i);
        i = end < 0 ? src.length : end + 1;
      }
      const alts = parseAlts();
      i++; // ')'
      return zero ? { kind: 'zero', src: '', quant: 'none' } : { kind: 'group', src: '', quant: 'none', alts };
    }
    if (c === '[') {
      const start = i;
      i++;
      if (src[i] === '^') i++;
      if (src[i] === ']') i++;
      while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
      i++;
      return { kind: 'class', src: src.slice(start, i), quant: 'none' };
    }
    if (c === '\\') {
      const e = src[i + 1] ?? '';
      i += 2;
      if ('bB'.includes(e)) return { kind: 'zero', src: '', quant: 'none' };
      if ('dDwWsS'.includes(e)) return { kind: 'class', src: `\\${e}`, quant: 'none' };
      if (/[1-9k]/.test(e)) {
        // Backreference: unknown content.
        if (e === 'k') i = src.indexOf('>', i) + 1 || src.length;
        return { kind: 'class', src: '[^]', quant: 'none' };
      }
      if ('nrtfv0'.includes(e)) {
        const ch = ({ n: '\n', r: '\r', t: '\t', f: '\f', v: '\v', '0': '\0' } as Record<string, string>)[e]!;
        return { kind: 'char', src: `\\${e}`, ch, quant: 'none' };
      }
      if (e === 'x' || e === 'u' || e === 'c' || e === 'p' || e === 'P') {
        // Rare in patterns: treat as an unknown single character (never part of a literal).
        const len = e === 'x' ? 2 : e === 'u' ? (src[i] === '{' ? src.indexOf('}', i) - i + 1 : 4) : e === 'c' ? 1 : src.indexOf('}', i) - i + 1;
        i += Math.max(0, len);
        return { kind: 'class', src: '[^]', quant: 'none' };
      }
      return { kind: 'char', src: `\\${e}`, ch: e, quant: 'none' };
    }
    i++;
    if (c === '^' || c === '$') return { kind: 'zero', src: c, quant: 'none' };
    if (c === '.') return { kind: 'class', src: '.', quant: 'none' };
    return { kind: 'char', src: c, ch: c, quant: 'none' };
  }
  function parseQuant(): Quant {
    const c = src[i];
    let q: Quant = 'none';
    if (c === '*') {
      q = 'unbounded';
      i++;
    } else if (c === '+') {
      q = 'unbounded';
      i++;
    } else if (c === '?') {
      q = 'optional';
      i++;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
      if (!m) return 'none';
      i += m[0].length;
      const min = Number(m[1]);
      if (m[2] === undefined) q = 'bounded';
      else if (m[3] === '') q = 'unbounded';
      else q = min === 0 ? 'optional' : 'bounded';
      if (min === 0 && q === 'bounded') q = 'optional';
    }
    if (q !== 'none' && src[i] === '?') i++; // lazy
    return q;
  }
  const alts = parseAlts();
  return alts;
}

// ---------------------------------------------------------------------------------------------
// Catastrophic backtracking
// ---------------------------------------------------------------------------------------------

const PROBES = ['0', '7', 'a', 'z', 'A', 'Z', '_', ' ', '\t', '\n', '-', '.', '/', ':', "'", '"', '(', ')', '[', ']', ',', '=', '#', '@', 'é', '\u0000'];

/** Whether two single-character atoms can match a common character (probe-based approximation:
 * each atom alone is compiled and tried on a set of sample characters, plus the literals around). */
function overlaps(a: Atom, b: Atom, extra: string[]): boolean {
  const ra = new RegExp(`^(?:${a.src})$`);
  const rb = new RegExp(`^(?:${b.src})$`);
  for (const p of PROBES.concat(extra)) if (ra.test(p) && rb.test(p)) return true;
  return false;
}

/** First single-character atoms an alternative can start with (through groups and optional atoms). */
function firstAtoms(seq: Atom[]): Atom[] {
  const out: Atom[] = [];
  for (const a of seq) {
    if (a.kind === 'zero') continue;
    if (a.kind === 'group') for (const alt of a.alts ?? []) out.push(...firstAtoms(alt));
    else out.push(a);
    if (a.quant !== 'optional') break;
  }
  return out;
}

function findOverlapProblem(alts: Atom[][], extra: string[]): string | null {
  for (const seq of alts) {
    for (let k = 0; k < seq.length; k++) {
      const a = seq[k]!;
      const b = seq[k + 1];
      // `\s*\s+`, `.*.*`, `\d+\w*`: two adjacent unbounded runs over overlapping characters split a
      // long run in O(n²) ways.
      if (b && a.quant === 'unbounded' && b.quant === 'unbounded' && a.kind !== 'group' && b.kind !== 'group' && overlaps(a, b, extra)) {
        return `adjacent quantifiers over overlapping characters (${a.src}…${b.src})`;
      }
      if (a.kind === 'group' && a.alts) {
        // `(a|ab)*`: a repeated group whose alternatives can start alike tries every split.
        if (a.quant === 'unbounded' && a.alts.length > 1) {
          const firsts = a.alts.map(firstAtoms);
          for (let x = 0; x < firsts.length; x++) {
            for (let y = x + 1; y < firsts.length; y++) {
              for (const fa of firsts[x]!) for (const fb of firsts[y]!) {
                if (overlaps(fa, fb, extra)) return `repeated group with overlapping alternatives (${fa.src}|${fb.src})`;
              }
            }
          }
        }
        const inner = findOverlapProblem(a.alts, extra);
        if (inner) return inner;
      }
    }
  }
  return null;
}

/**
 * safe-regex2 counts `?` as a repetition, so it would refuse `(?: \(\d+\))?` (star height 2)
 * although an optional group is tried at most twice. We hand it the source with the `?` / `{0,1}`
 * of groups removed: real repetitions (`*`, `+`, `{n,m}`) are still counted.
 */
export function withoutOptionalGroups(src: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      out += c + (src[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') inClass = true;
    out += c;
    if (c === ')') {
      if (src[i + 1] === '?') {
        i += src[i + 2] === '?' ? 2 : 1;
      } else if (src.startsWith('{0,1}', i + 1)) {
        i += src[i + 6] === '?' ? 6 : 5;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Polynomial backtracking: chains of unbounded runs that can absorb each other
// ---------------------------------------------------------------------------------------------

/** Highest ambiguity degree a pattern regex may have: its worst case is O(n^degree) in the input
 * length, and the matcher bounds n (MAX_REGEX_INPUT in matcher.ts). 2 allows `foo.*bar` unanchored
 * and `^a.*b.*c` anchored; `foo.*bar.*baz` or `a.*a.*a.*b` (cubic and worse) are refused. */
export const MAX_AMBIGUITY_DEGREE = 2;

const ANY: Atom = { kind: 'class', src: '[^]', quant: 'unbounded' };

interface Chain {
  /** An unbounded run still able to absorb what followed it. */
  atom: Atom;
  /** How many runs the chain holds: each can split the same stretch of input with the others. */
  degree: number;
}

/**
 * The ambiguity degree of a regex: the longest chain of unbounded runs (`.*`, `[^"]+`, `\d+`...) in
 * which each run can also match everything between it and the next one, and the next one can
 * continue where it stopped. Each such run multiplies the ways a failing match is retried by n:
 * `a.*a.*a.*b` on "aaaa…" is O(n^4). An unanchored regex is tried at every start position, which
 * counts as one leading run. Approximate (overlap is tested on sample characters), conservative for
 * the shapes patterns use.
 */
export function ambiguityDegree(src: string): number {
  let tree: Atom[][];
  try {
    tree = parse(src);
  } catch {
    return 0;
  }
  const extra: string[] = [];
  const collect = (alts: Atom[][]): void => {
    for (const seq of alts) for (const a of seq) {
      if (a.ch) extra.push(a.ch);
      if (a.alts) collect(a.alts);
    }
  };
  collect(tree);
  const cache = new Map<string, boolean>();
  const overlap = (a: Atom, b: Atom): boolean => {
    const key = `${a.src}\u0000${b.src}`;
    let v = cache.get(key);
    if (v === undefined) cache.set(key, (v = a.src === '[^]' || b.src === '[^]' || overlaps(a, b, extra)));
    return v;
  };
  let worst = 0;
  const merge = (into: Chain[], add: Chain[]): Chain[] => {
    for (const c of add) {
      const same = into.find((x) => x.atom.src === c.atom.src);
      if (!same) into.push(c);
      else if (c.degree > same.degree) same.degree = c.degree;
    }
    return into;
  };
  const step = (chains: Chain[], a: Atom): Chain[] => {
    if (a.kind === 'zero') return chains;
    if (a.kind === 'group') {
      const once = (input: Chain[]): Chain[] => {
        const outs: Chain[] = [];
        for (const alt of a.alts ?? []) merge(outs, alt.reduce(step, input.map((c) => ({ ...c }))));
        return outs;
      };
      if (a.quant === 'none') return once(chains);
      // Optional or repeated: skipping it keeps every chain; twice through shows what repetition adds.
      const first = once(chains);
      return merge(merge(chains.map((c) => ({ ...c })), first), once(first));
    }
    const surviving = chains.filter((c) => overlap(c.atom, a));
    if (a.quant === 'unbounded') {
      const degree = 1 + surviving.reduce((m, c) => Math.max(m, c.degree), 0);
      worst = Math.max(worst, degree);
      return merge(surviving.map((c) => ({ ...c })), [{ atom: a, degree }]);
    }
    // An optional atom may be skipped: the chains broken by it survive too.
    return a.quant === 'optional' ? chains : surviving;
  };
  // A branch starting with ^ is tried at one position only (patterns never use the m flag).
  for (const seq of tree) seq.reduce(step, seq[0]?.kind === 'zero' && seq[0].src === '^' ? [] : [{ atom: ANY, degree: 1 }]);
  return worst;
}

/** Why `src` is refused, or null if it is acceptable. Assumes `src` compiles. */
export function backtrackingProblem(src: string): string | null {
  if (!safeRegex(withoutOptionalGroups(src))) {
    return 'can backtrack catastrophically (nested quantifiers: star height > 1)';
  }
  let tree: Atom[][];
  try {
    tree = parse(src);
  } catch {
    return null;
  }
  const extra: string[] = [];
  const walk = (alts: Atom[][]): void => {
    for (const seq of alts) for (const a of seq) {
      if (a.ch) extra.push(a.ch);
      if (a.alts) walk(a.alts);
    }
  };
  walk(tree);
  const p = findOverlapProblem(tree, extra);
  if (p) return `can backtrack catastrophically (${p})`;
  const degree = ambiguityDegree(src);
  if (degree > MAX_AMBIGUITY_DEGREE) {
    return `can backtrack polynomially (${degree} unbounded runs such as .* can split the same text: O(n^${degree}); at most ${MAX_AMBIGUITY_DEGREE} allowed — use a negated class like [^"]* that stops at the next delimiter)`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Required literals
// ---------------------------------------------------------------------------------------------

/** Longest run of literal characters that every match of `seq` must contain (groups that are not
 * repeated, optional or alternated are read through). */
function requiredRun(seq: Atom[]): string {
  let best = '';
  let run = '';
  const flush = (): void => {
    if (run.length > best.length) best = run;
    run = '';
  };
  const visit = (atoms: Atom[]): void => {
    for (const a of atoms) {
      if (a.kind === 'char' && (a.quant === 'none' || a.quant === 'unbounded' || a.quant === 'bounded')) {
        run += a.ch;
        if (a.quant !== 'none') flush();
      } else if (a.kind === 'group' && a.quant === 'none' && a.alts && a.alts.length === 1) {
        visit(a.alts[0]!);
      } else {
        flush();
      }
    }
  };
  visit(seq);
  flush();
  return best;
}

/** Literals of which at least one occurs in any text the regex matches; [] when none is known.
 * Alternation at the top level yields one literal per branch (any of them must be present). */
export function requiredLiterals(src: string, minLength = 3): string[] {
  let tree: Atom[][];
  try {
    tree = parse(src);
  } catch {
    return [];
  }
  // Single top-level alternative that is just one group with alternatives: use those branches.
  let branches = tree;
  if (tree.length === 1 && tree[0]!.length > 0) {
    const lit = requiredRun(tree[0]!);
    if (lit.length >= minLength) return [lit];
    const nonZero = tree[0]!.filter((a) => a.kind !== 'zero');
    const only = nonZero[0];
    if (nonZero.length === 1 && only && only.kind === 'group' && only.quant === 'none' && only.alts) branches = only.alts;
    else return [];
  }
  const lits: string[] = [];
  for (const seq of branches) {
    const lit = requiredRun(seq);
    if (lit.length < minLength) return [];
    lits.push(lit);
  }
  return lits;
}

/** Names of the named capture groups of a regex source. */
export function captureNames(src: string): string[] {
  const names: string[] = [];
  const re = /\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) {
    // Skip an escaped parenthesis (`\(?<x>` is not a group).
    let bs = 0;
    for (let k = m.index - 1; k >= 0 && src[k] === '\\'; k--) bs++;
    if (bs % 2 === 0 && m[1]) names.push(m[1]);
  }
  return names;
}
