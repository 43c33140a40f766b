// Durable small-file writes for state that must survive a crash (attempt records, escalation state,
// backup manifests): write-file-atomic (temp file in the same directory, fsync, rename) followed by an
// fsync of the directory, without which the rename itself may be lost on power failure.
import { constants, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import type writeFileAtomicFn from 'write-file-atomic';

type AtomicOptions = writeFileAtomicFn.Options;
let writeFileAtomic: typeof writeFileAtomicFn | null = null;

/**
 * write-file-atomic (temp file in the same directory, fsync, rename), loaded on the first write: a
 * process that only watches never writes, and the module costs ~5 MB of RSS (console target 90 MB).
 * Every atomic file write of odoo-heal goes through here.
 */
export async function writeFileAtomically(path: string, data: string | Buffer, options: AtomicOptions): Promise<void> {
  writeFileAtomic ??= (await import('write-file-atomic')).default;
  await writeFileAtomic(path, data, options);
}

/** fsync a directory so that entries created/renamed in it are on disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface DurableWriteOptions {
  mode?: number;
  chown?: { uid: number; gid: number };
}

/** Atomically replaces `path` with `data` (old or new content after a crash, never a mix) and makes
 * the rename durable. */
export async function writeFileDurable(path: string, data: string | Buffer, opts: DurableWriteOptions = {}): Promise<void> {
  const options: AtomicOptions = { fsync: true };
  if (opts.mode !== undefined) options.mode = opts.mode;
  if (opts.chown !== undefined) options.chown = opts.chown;
  await writeFileAtomically(path, data, options);
  await fsyncDir(dirname(path));
}

/** JSON state file: pretty-printed, newline-terminated, written durably. */
export async function writeJsonDurable(path: string, value: unknown, opts: DurableWriteOptions = {}): Promise<void> {
  await writeFileDurable(path, `${JSON.stringify(value, null, 2)}\n`, opts);
}

/** mkdir -p with a restrictive mode (state and backups may hold copies of secrets). */
export async function ensureDir(dir: string, mode = 0o700): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode });
}
