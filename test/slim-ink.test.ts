// The postinstall step (scripts/slim-ink.mjs) that makes Ink import es-toolkit's throttle directly
// instead of the whole `es-toolkit/compat` barrel (~415 modules, ~3 MB of the console's heap).
// It must change exactly that line, only for the pinned Ink, never twice, and never break Ink.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { BARREL_IMPORT, DIRECT_IMPORT, PINNED_INK_VERSION, inkDirOf, slimInk } from '../scripts/slim-ink.mjs';

const root = join(import.meta.dirname, '..');
const realEsToolkit = dirname(createRequire(join(inkDirOf(join(root, 'package.json')), 'package.json')).resolve('es-toolkit/package.json'));
const tmp = mkdtempSync(join(tmpdir(), 'oh-slim-ink-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ORIGINAL = `import process from 'node:process';\nimport React from 'react';\n${BARREL_IMPORT}\nimport ansiEscapes from 'ansi-escapes';\nconst t = throttle(() => {}, 10);\n`;
let n = 0;

/** A node_modules with an Ink of `version` whose build/ink.js is `text`, next to `esToolkit`. */
function fakeInstall(version: string, text: string, esToolkit = realEsToolkit): string {
  const modules = join(tmp, `i${n++}`, 'node_modules');
  const ink = join(modules, 'ink');
  mkdirSync(join(ink, 'build'), { recursive: true });
  writeFileSync(join(ink, 'package.json'), JSON.stringify({ name: 'ink', version }));
  writeFileSync(join(ink, 'build', 'ink.js'), text);
  symlinkSync(esToolkit, join(modules, 'es-toolkit'));
  return ink;
}
const inkJs = (ink: string) => readFileSync(join(ink, 'build', 'ink.js'), 'utf8');

describe('slim-ink postinstall', () => {
  it('replaces exactly the barrel import of the pinned Ink, and a second run changes nothing', () => {
    const ink = fakeInstall(PINNED_INK_VERSION, ORIGINAL);
    expect(slimInk(ink)).toBe('patched');
    const patched = inkJs(ink);
    expect(patched).toBe(ORIGINAL.replace(BARREL_IMPORT, DIRECT_IMPORT));
    expect(slimInk(ink)).toBe('already');
    expect(inkJs(ink)).toBe(patched);
  });

  it('leaves any other Ink version, an unexpected file and an es-toolkit without the module alone', () => {
    const other = fakeInstall('6.9.0', ORIGINAL);
    expect(slimInk(other)).toMatch(/left alone: ink 6\.9\.0/);
    expect(inkJs(other)).toBe(ORIGINAL);

    const twice = `${ORIGINAL}${BARREL_IMPORT}\n`;
    const odd = fakeInstall(PINNED_INK_VERSION, twice);
    expect(slimInk(odd)).toMatch(/left alone: .* once/);
    expect(inkJs(odd)).toBe(twice);

    const oldToolkit = join(tmp, 'old-es-toolkit');
    cpSync(join(realEsToolkit, 'package.json'), join(oldToolkit, 'package.json'));
    const old = fakeInstall(PINNED_INK_VERSION, ORIGINAL, oldToolkit);
    expect(slimInk(old)).toMatch(/no compat\/throttle/);
    expect(inkJs(old)).toBe(ORIGINAL);
  });

  it('swaps in the very same function the barrel exports', async () => {
    const barrel = (await import(join(realEsToolkit, 'dist', 'compat', 'index.mjs'))) as { throttle: unknown };
    const direct = (await import(join(realEsToolkit, 'compat', 'throttle.mjs'))) as { default: unknown };
    expect(typeof direct.default).toBe('function');
    expect(direct.default).toBe(barrel.throttle);
  });

  it('has run on this install (npm ci runs it as postinstall)', () => {
    const installed = inkJs(inkDirOf(join(root, 'package.json')));
    expect(installed).toContain(DIRECT_IMPORT);
    expect(installed).not.toContain(BARREL_IMPORT);
  });
});
