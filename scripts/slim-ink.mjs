#!/usr/bin/env node
// postinstall: makes Ink 6.8.0 import the one es-toolkit function it uses instead of the whole
// `es-toolkit/compat` barrel.
//
// Why: `import { throttle } from 'es-toolkit/compat'` (ink/build/ink.js, its only use of es-toolkit)
// loads ~415 modules to get one function: +3 MB of heap kept for the life of the console and ~3 MB
// more RSS (bench/RESULTS.md), against a 90 MB budget. `es-toolkit/compat/throttle` is the very
// same function (the barrel re-exports it from there).
//
// Safe by construction: only the pinned Ink version is touched, only when the exact import line is
// there, the file is replaced atomically (temp file + rename), and running it again changes
// nothing. In every other case Ink is left as installed — correct, only heavier — and one line
// says why. Nothing here can fail an install.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PINNED_INK_VERSION = '6.8.0';
export const BARREL_IMPORT = "import { throttle } from 'es-toolkit/compat';";
export const DIRECT_IMPORT = "import throttle from 'es-toolkit/compat/throttle';";

/**
 * Rewrites the import in `<inkDir>/build/ink.js`. Returns what happened: 'patched', 'already'
 * (nothing to do), or why Ink was left alone.
 */
export function slimInk(inkDir) {
  const pkg = JSON.parse(readFileSync(join(inkDir, 'package.json'), 'utf8'));
  if (pkg.version !== PINNED_INK_VERSION) return `left alone: ink ${pkg.version} is not ${PINNED_INK_VERSION}`;
  const file = join(inkDir, 'build', 'ink.js');
  const text = readFileSync(file, 'utf8');
  if (text.includes(DIRECT_IMPORT) && !text.includes(BARREL_IMPORT)) return 'already';
  // The es-toolkit Ink resolves must have the module the new import names (1.x has had it for long;
  // package-lock pins 1.53.2), or the patched Ink would not load.
  const esToolkit = dirname(createRequire(join(inkDir, 'package.json')).resolve('es-toolkit/package.json'));
  if (!existsSync(join(esToolkit, 'compat', 'throttle.mjs'))) return 'left alone: es-toolkit has no compat/throttle module';
  const at = text.indexOf(BARREL_IMPORT);
  if (at < 0 || text.indexOf(BARREL_IMPORT, at + 1) >= 0) return `left alone: ${file} does not have the expected import once`;
  const tmp = `${file}.odoo-heal-${process.pid}.tmp`;
  writeFileSync(tmp, text.slice(0, at) + DIRECT_IMPORT + text.slice(at + BARREL_IMPORT.length));
  renameSync(tmp, file);
  return 'patched';
}

/** Ink's package directory as this project resolves it (its "exports" only has "."). */
export function inkDirOf(fromFile) {
  let dir = dirname(createRequire(fromFile).resolve('ink'));
  for (;;) {
    try {
      if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === 'ink') return dir;
    } catch {
      // no package.json here: look further up
    }
    if (dirname(dir) === dir) throw new Error('ink/package.json not found');
    dir = dirname(dir);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const result = slimInk(inkDirOf(fileURLToPath(import.meta.url)));
    if (result !== 'already') process.stdout.write(`odoo-heal postinstall: ink ${result}\n`);
  } catch (err) {
    process.stdout.write(`odoo-heal postinstall: ink left alone (${err instanceof Error ? err.message : String(err)})\n`);
  }
}
