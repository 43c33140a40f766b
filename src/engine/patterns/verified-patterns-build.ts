// Regenerates verified-patterns.generated.ts from the bundled patterns/*.json:
//   npm run build && node dist/engine/patterns/verified-patterns-build.js
// Its own module so that verified-patterns.ts (which load.ts imports) never imports load.ts.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { generateWhenRun } from '../core/generated-file.js';
import { defaultPatternsDir, loadPatternFile, patternFiles } from './load.js';
import { verifiedGeneratedPath, verifiedSource } from './verified-patterns.js';

generateWhenRun(import.meta.url, async () => {
  const dir = defaultPatternsDir();
  const files = patternFiles(dir);
  // Every bundled file must pass the full checks; one that does not throws here.
  for (const f of files) loadPatternFile(f, { trustVerified: false });
  return {
    path: verifiedGeneratedPath(),
    text: verifiedSource(readFileSync(join(dir, 'schema.json'), 'utf8'), files.map((f) => readFileSync(f, 'utf8'))),
    note: files.map((f) => basename(f)).join(', '),
  };
});
