// Can Odoo's user write where odoo.conf sends it? data_dir (Odoo creates it when missing), its
// sessions dir (Odoo asserts it is writable on the first request), each database's filestore, and
// the logfile (or the directory Odoo would create it in). Asked as that user with a real write test
// (write-test.ts, the permissions fix's own verification) when odoo-heal can take its identity, else
// computed from the mode bits for its uid and groups (ACLs and read-only mounts then go unseen).
import { existsSync, promises as fsp, readFileSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config, OdooConf } from '../config/types.js';
import { resolveOdooDataDir } from '../config/odoo-conf.js';
import { dbNames } from '../probes/pg-connect.js';
import { groupsOf, odooUser, type OdooUser } from '../probes/odoo-user.js';
import { writeTestsAs } from '../probes/write-test.js';

/** Filestores looked at when db_name does not name the databases (a bounded round). */
const MAX_FILESTORES = 5;

export interface PathAccess {
  /** The odoo.conf key the path comes from. */
  option: 'data_dir' | 'logfile';
  /** The path Odoo needs (may not exist yet). */
  path: string;
  /** What was tested: the path, or its nearest existing ancestor when Odoo would create it. */
  tested: string;
  /** `root:root 0755` of `tested`. */
  owner: string;
  writable: boolean;
  /** `write test` (as that user) or `mode bits` (odoo-heal could not take that user's identity). */
  how: 'write test' | 'mode bits';
  detail: string;
}

export interface WritablePaths {
  user: OdooUser;
  /** Every path checked; the rule reports those not writable. */
  paths: PathAccess[];
}

function names(path: string): Map<number, string> {
  const m = new Map<number, string>();
  try {
    for (const f of readFileSync(path, 'utf8').split('\n').map((l) => l.split(':'))) if (f.length >= 3) m.set(Number(f[2]), f[0]!);
  } catch {
    /* numeric ids then */
  }
  return m;
}

function ownerOf(st: Stats): string {
  const u = names('/etc/passwd').get(st.uid) ?? String(st.uid);
  const g = names('/etc/group').get(st.gid) ?? String(st.gid);
  return `${u}:${g} ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/** Write permission from the mode bits alone, the way the kernel picks the owner, group or other class. */
export function modeAllowsWrite(st: { uid: number; gid: number; mode: number }, uid: number, gids: readonly number[]): boolean {
  if (uid === 0) return true;
  if (st.uid === uid) return (st.mode & 0o200) !== 0;
  if (gids.includes(st.gid)) return (st.mode & 0o020) !== 0;
  return (st.mode & 0o002) !== 0;
}

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

async function checkAll(user: OdooUser, targets: Array<[PathAccess['option'], string, string]>): Promise<PathAccess[]> {
  const found: Array<{ option: PathAccess['option']; path: string; tested: string; st: Stats }> = [];
  for (const [option, path, tested] of targets) {
    const st = await fsp.stat(tested).catch(() => null);
    if (st) found.push({ option, path, tested, st });
  }
  const tests = await writeTestsAs(user, found.map((f) => ({ path: f.tested, isDir: f.st.isDirectory() })));
  const gids = groupsOf(user);
  return found.map(({ option, path, tested, st }, i) => {
    const test = tests[i]!;
    const owner = ownerOf(st);
    if (test.ok !== null) return { option, path, tested, owner, writable: test.ok, how: 'write test', detail: test.detail };
    const writable = modeAllowsWrite(st, user.uid, gids);
    return { option, path, tested, owner, writable, how: 'mode bits', detail: `${test.detail}; mode bits ${writable ? 'allow' : 'deny'} it` };
  });
}

async function filestores(dataDir: string, odoo: OdooConf): Promise<string[]> {
  const root = join(dataDir, 'filestore');
  const named = dbNames(odoo.dbName);
  if (named.length > 0) return named.slice(0, MAX_FILESTORES).map((db) => join(root, db)).filter((p) => existsSync(p));
  try {
    const entries = await fsp.readdir(root, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).slice(0, MAX_FILESTORES).map((e) => join(root, e.name));
  } catch {
    return [];
  }
}

/**
 * `odooPid`: the main process serving this odoo.conf (null: none runs). Null when Odoo's user cannot
 * be told (not configured, Odoo not running): nothing to judge against.
 */
export async function writablePaths(config: Config, odoo: OdooConf, odooPid: number | null): Promise<WritablePaths | null> {
  // The data dir's owner is what is judged here, so it cannot also say who Odoo's user is.
  const user = await odooUser({ config, odoo }, { dataDirOwner: false, pid: odooPid });
  if ('error' in user || user.uid === 0) return null;
  const targets: Array<[PathAccess['option'], string, string]> = [];
  const dataDir = resolveOdooDataDir(odoo, user.name);
  if (dataDir) {
    if (!existsSync(dataDir)) targets.push(['data_dir', dataDir, nearestExisting(dataDir)]);
    else {
      targets.push(['data_dir', dataDir, dataDir]);
      const sessions = join(dataDir, 'sessions');
      if (existsSync(sessions)) targets.push(['data_dir', sessions, sessions]);
      const root = join(dataDir, 'filestore');
      if (existsSync(root)) targets.push(['data_dir', root, root]);
      for (const fs of await filestores(dataDir, odoo)) targets.push(['data_dir', fs, fs]);
    }
  }
  if (odoo.logfile) {
    // Odoo makes the logfile's directory when missing, then opens the file for appending.
    targets.push(['logfile', odoo.logfile, existsSync(odoo.logfile) ? odoo.logfile : nearestExisting(dirname(odoo.logfile))]);
  }
  return { user, paths: await checkAll(user, targets) };
}
