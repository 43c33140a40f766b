// The entry point of the scripts that regenerate a committed, generated source file (the schema
// validators, the verified pattern list, the scan kernel): run as `node dist/.../x.js`, they write
// one file. One place so that each behaves the same: the file is replaced atomically (a failed or
// interrupted run leaves the old one whole), and a failure is one line and exit status 1, not a
// stack trace.
import { fileURLToPath } from 'node:url';
import { errorMessage } from './errors.js';
import { writeFileDurable } from './durable.js';

export interface GeneratedFile {
  path: string;
  text: string;
  /** Appended to the "wrote" line, e.g. what it was made from. */
  note?: string;
}

/** Runs `make` and writes its file when the module at `moduleUrl` is the script Node was started with. */
export function generateWhenRun(moduleUrl: string, make: () => GeneratedFile | Promise<GeneratedFile>): void {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== process.argv[1]) return;
  void (async () => {
    try {
      const out = await make();
      await writeFileDurable(out.path, out.text, { mode: 0o644 });
      process.stdout.write(`wrote ${out.path}${out.note ? ` (${out.note})` : ''}\n`);
    } catch (err) {
      process.stderr.write(`odoo-heal: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    }
  })();
}
