// Generates schema-validator.generated.ts: the config schema compiled by Ajv ahead of time, as for
// the pattern schema (src/engine/patterns/schema-standalone.ts). Why: importing Ajv and compiling
// this schema cost every command ~16 MB of RSS and tens of ms of start-up (the console's idle RSS
// target is 90 MB). load.ts uses the generated validator only while its hash matches the schema,
// and compiles with Ajv otherwise; test/config-schema-standalone.test.ts fails when it is stale.
//
// Regenerate after editing src/engine/config/schema.json:
//   npm run build && node dist/engine/config/schema-standalone.js
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateWhenRun } from '../core/generated-file.js';
import { schemaHash, standaloneModule } from '../patterns/schema-standalone.js';

/** The options load.ts compiles the schema with; the generated code must come from the same. */
export const CONFIG_AJV_OPTIONS = { allErrors: false, verbose: true, strict: true } as const;
/** Annotation only: the wording used in error messages for fields whose pattern says little to a human. */
export const CONFIG_KEYWORDS = [{ keyword: 'x-expected', schemaType: 'string' }];

/** Hash of the parsed schema (the loader imports it as JSON, so it hashes the object, not the file). */
export function configSchemaHash(schema: object): string {
  return schemaHash(JSON.stringify(schema));
}

export function configStandaloneSource(schema: object): string {
  return standaloneModule(schema, {
    ajvOptions: CONFIG_AJV_OPTIONS,
    keywords: CONFIG_KEYWORDS,
    generator: 'src/engine/config/schema-standalone.ts',
    source: 'src/engine/config/schema.json',
    hash: configSchemaHash(schema),
  });
}

export function configGeneratedPath(): string {
  return fileURLToPath(new URL('../../../src/engine/config/schema-validator.generated.ts', import.meta.url));
}

export function configSchemaPath(): string {
  return fileURLToPath(new URL('../../../src/engine/config/schema.json', import.meta.url));
}

generateWhenRun(import.meta.url, () => ({
  path: configGeneratedPath(),
  text: configStandaloneSource(JSON.parse(readFileSync(configSchemaPath(), 'utf8')) as object),
}));
