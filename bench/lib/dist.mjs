// Where the benches find the built code and the CLI. ODOO_HEAL_DIST points at another build.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dist = process.env.ODOO_HEAL_DIST ?? join(root, 'dist');
export const bin = join(root, 'bin', 'odoo-heal');
export const fixtures = join(root, 'test', 'fixtures');
export const patternsDir = join(root, 'patterns');

export async function distImport(rel) {
  const file = join(dist, rel);
  if (!existsSync(file)) throw new Error(`${file} not found: run \`npm run build\` first`);
  return import(pathToFileURL(file).href);
}
