// Child processes for the safety tests run real project modules: these are transpiled (types
// stripped, no bundling) into a temp dir that mirrors the repo layout, with node_modules linked in.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';

const REPO = resolve(import.meta.dirname, '../..');

export interface TranspiledTree {
  dir: string;
  /** Absolute path of the transpiled .js of a repo-relative .ts path. */
  js(relTs: string): string;
  cleanup(): void;
}

export function transpileModules(relPaths: string[]): TranspiledTree {
  const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-child-'));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  for (const rel of relPaths) {
    const src = readFileSync(join(REPO, rel), 'utf8');
    const out = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: rel,
    });
    const dest = join(dir, rel.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, out.outputText);
  }
  return {
    dir,
    js: (relTs) => join(dir, relTs.replace(/\.ts$/, '.js')),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
