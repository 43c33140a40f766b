// Unified diffs for plan previews (file edits). jsdiff does the work; this module fixes the format:
// `a/` and `b/` paths as git and patch(1) expect, 3 lines of context like diff -u.
import { createRequire } from 'node:module';

// Loaded on first use (a plan preview): ~3.5 MB of RSS the idle console does not need.
const requireLazily = createRequire(import.meta.url);
let jsdiff: typeof import('diff') | null = null;

/**
 * Unified diff of a text file, applicable with `patch -p1` from `/` (absolute path minus the slash).
 * Line endings are kept as they are (a CRLF file's diff carries the CRs), so the diff is exact.
 */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  const rel = path.replace(/^\/+/, '');
  if (before === after) return '';
  jsdiff ??= requireLazily('diff') as typeof import('diff');
  return jsdiff.createTwoFilesPatch(`a/${rel}`, `b/${rel}`, before, after, undefined, undefined, { context });
}
