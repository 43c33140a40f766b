// Unified diffs for plan previews (file edits). jsdiff does the work; this module fixes the format:
// `a/` and `b/` paths as git and patch(1) expect, 3 lines of context like diff -u.
import { createTwoFilesPatch } from 'diff';

/**
 * Unified diff of a text file, applicable with `patch -p1` from `/` (absolute path minus the slash).
 * Line endings are kept as they are (a CRLF file's diff carries the CRs), so the diff is exact.
 */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  const rel = path.replace(/^\/+/, '');
  if (before === after) return '';
  return createTwoFilesPatch(`a/${rel}`, `b/${rel}`, before, after, undefined, undefined, { context });
}
