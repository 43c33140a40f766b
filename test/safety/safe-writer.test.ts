import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSafeWriter, readManifest, type BackupManifest } from '../../src/fixes/lib/safe-writer.js';
import { transpileModules, type TranspiledTree } from '../helpers/safety-child.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const isRoot = process.getuid?.() === 0;

describe('SafeWriter', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'odoo-heal-sw-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('backs up first, replaces atomically keeping mode and owner, restores byte-identically', async () => {
    const file = join(dir, 'ir_cron_data.xml');
    const original = Buffer.from('<odoo>\r\n  <record id="x"><field name="numbercall">-1</field></record>\n</odoo>\n\u00e9\u0000binary');
    writeFileSync(file, original);
    chmodSync(file, 0o640);
    if (isRoot) chownSync(file, 1234, 5678);
    const backupDir = join(dir, 'backups');
    const w = createSafeWriter({ backupDir, fixId: 'cron-deprecated-fields', incidentId: 'i-1234abcd', attemptId: 'a-20250101-000000-abcd' });

    const entry = await w.replaceFile(file, '<odoo/>\n');
    expect(readFileSync(file, 'utf8')).toBe('<odoo/>\n');
    const st = statSync(file);
    expect(st.mode & 0o7777).toBe(0o640);
    if (isRoot) expect([st.uid, st.gid]).toEqual([1234, 5678]);

    // The backup: byte copy + manifest with the metadata.
    expect(readFileSync(entry.copy).equals(original)).toBe(true);
    expect(entry).toMatchObject({ path: file, sha256: sha(original), mode: 0o640, size: original.length, fixId: 'cron-deprecated-fields', incidentId: 'i-1234abcd', attemptId: 'a-20250101-000000-abcd' });
    if (isRoot) expect([entry.uid, entry.gid]).toEqual([1234, 5678]);
    const manifest = await readManifest(backupDir, 'a-20250101-000000-abcd');
    expect(manifest?.entries).toEqual([entry]);

    // Someone changes mode and owner afterwards; restore brings back content, mode and owner.
    chmodSync(file, 0o777);
    if (isRoot) chownSync(file, 0, 0);
    await w.restore(entry);
    expect(sha(readFileSync(file))).toBe(sha(original));
    const st2 = statSync(file);
    expect(st2.mode & 0o7777).toBe(0o640);
    if (isRoot) expect([st2.uid, st2.gid]).toEqual([1234, 5678]);
  });

  it('restore recreates a deleted file and refuses a damaged backup copy', async () => {
    const file = join(dir, 'session-x');
    writeFileSync(file, 'session data');
    const w = createSafeWriter({ backupDir: join(dir, 'b2'), fixId: 'f', incidentId: 'i', attemptId: 'a-20250101-000000-0001' });
    const entry = await w.backup(file);
    rmSync(file);
    await w.restore(entry);
    expect(readFileSync(file, 'utf8')).toBe('session data');

    writeFileSync(entry.copy, 'tampered');
    await expect(w.restore(entry)).rejects.toThrow(/damaged: sha256/);
    expect(readFileSync(file, 'utf8')).toBe('session data');
  });

  it('refuses to write through a symlink or back up a non-regular file', async () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'keep');
    const link = join(dir, 'link');
    symlinkSync(target, link);
    const w = createSafeWriter({ backupDir: join(dir, 'b3'), fixId: 'f', incidentId: 'i', attemptId: 'a-20250101-000000-0002' });
    await expect(w.replaceFile(link, 'evil')).rejects.toThrow(/symbolic link/);
    await expect(w.backup(dir)).rejects.toThrow(/not a regular file/);
    expect(readFileSync(target, 'utf8')).toBe('keep');
  });
});

describe('SafeWriter under kill -9', () => {
  let tree: TranspiledTree;
  let dir: string;
  beforeAll(() => {
    tree = transpileModules(['src/engine/core/durable.ts', 'src/fixes/lib/safe-writer.ts']);
    dir = mkdtempSync(join(tmpdir(), 'odoo-heal-kill-'));
  });
  afterAll(() => {
    tree.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves the file wholly old or wholly new, and the backup in place, whenever the process dies', async () => {
    const SIZE = 2 * 1024 * 1024;
    const A = Buffer.alloc(SIZE, 'A');
    const B = Buffer.alloc(SIZE, 'B');
    A.write('version A\n');
    B.write('version B\n');
    const shaA = sha(A);
    const shaB = sha(B);
    const child = join(tree.dir, 'loop.mjs');
    // Attempt k writes B when k is odd, A when even; so before attempt k the file is A if k is odd.
    writeFileSync(
      child,
      `import { createSafeWriter } from ${JSON.stringify(tree.js('src/fixes/lib/safe-writer.ts'))};
       const [file, backupDir] = process.argv.slice(2);
       const A = Buffer.alloc(${SIZE}, 'A'); A.write('version A\\n');
       const B = Buffer.alloc(${SIZE}, 'B'); B.write('version B\\n');
       process.stdout.write('ready\\n');
       for (let k = 1; ; k++) {
         const id = 'att-' + String(k).padStart(4, '0');
         const w = createSafeWriter({ backupDir, fixId: 'kill-test', incidentId: 'i-0', attemptId: id });
         await w.replaceFile(file, k % 2 ? B : A);
       }`,
    );

    let sawOld = 0;
    let sawNew = 0;
    let sawMidway = 0;
    // Two workers in parallel (own file each), seven kills each: 14 random kill instants.
    const worker = async (w: number): Promise<void> => {
      const file = join(dir, `big-${w}.xml`);
      for (let run = 0; run < 7; run++) {
        writeFileSync(file, A);
        chmodSync(file, 0o640);
        const backupDir = join(dir, `backups-${w}-${run}`);
        const proc = spawn(process.execPath, [child, file, backupDir], { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise<void>((res) => proc.stdout.once('data', () => res()));
        await new Promise((r) => setTimeout(r, Math.random() * 150));
        proc.kill('SIGKILL');
        await new Promise((r) => proc.once('exit', r));

        const now = sha(readFileSync(file));
        expect([shaA, shaB]).toContain(now);
        expect(statSync(file).mode & 0o7777).toBe(0o640);
        const attempts = existsSync(backupDir) ? readdirSync(backupDir).sort() : [];
        // Every completed backup is intact.
        for (const id of attempts) {
          const m = (await readManifest(backupDir, id)) as BackupManifest | null;
          for (const e of m?.entries ?? []) expect(sha(readFileSync(e.copy))).toBe(e.sha256);
        }
        const last = attempts.at(-1);
        if (last) {
          const k = Number(last.slice(4));
          const before = k % 2 ? shaA : shaB;
          const m = await readManifest(backupDir, last);
          if (!m || m.entries.length === 0) {
            // Killed before the backup was durable: the file must not have been touched by this attempt.
            expect(now).toBe(before);
            sawOld++;
          } else {
            expect(m.entries[0]!.sha256).toBe(before);
            if (now === before) sawMidway++;
            else sawNew++;
          }
        }
        rmSync(backupDir, { recursive: true, force: true });
      }
    };
    await Promise.all([0, 1].map(worker));
    // Sanity: the kills did land while the loop ran (not all before it started).
    expect(sawOld + sawNew + sawMidway).toBeGreaterThan(0);
  });
});
