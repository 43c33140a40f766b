// odoo-heal's own version, from the package.json beside the build (dist/engine/ → ../../).
import { readFileSync } from 'node:fs';

let cached: string | null = null;

export function odooHealVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cached;
}
