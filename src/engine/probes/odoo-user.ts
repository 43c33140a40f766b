// Odoo's OS user: who Odoo's files must belong to and who must be able to write them. Shared by the
// permissions fix (whose files to hand back) and the config audit (can that user write data_dir and
// the logfile). Read from /etc/passwd, /etc/group and /proc only.
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import type { Config, OdooConf } from '../config/types.js';

export interface OdooUser {
  name: string | null;
  uid: number;
  gid: number;
  /** Where the answer came from: `config odoo.user`, `owner of <data dir>`, `running Odoo process <pid>`. */
  source: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function readColonFile(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .filter((f) => f.length >= 4);
  } catch {
    return [];
  }
}

function readPasswd(): PasswdEntry[] {
  return readColonFile('/etc/passwd').map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) }));
}

/** The user's primary group and the groups /etc/group lists them in (what the kernel grants at login). */
export function groupsOf(user: OdooUser): number[] {
  const gids = new Set([user.gid]);
  if (user.name !== null) {
    for (const f of readColonFile('/etc/group')) {
      if (f[3]!.split(',').includes(user.name)) gids.add(Number(f[2]));
    }
  }
  return [...gids];
}

/**
 * Odoo's OS user: config.odoo.user, else the data dir's owner (unless root; skipped with
 * `dataDirOwner: false` when the data dir's ownership is what is being judged), else Odoo's process:
 * `pid`, the main process serving this odoo.conf when the caller knows it (null: none runs), else the
 * first non-root Odoo process found in /proc.
 */
export async function odooUser(
  ctx: { config: Config; odoo: OdooConf },
  opts: { dataDirOwner?: boolean; pid?: number | null } = {},
): Promise<OdooUser | { error: string }> {
  const passwd = readPasswd();
  const configured = ctx.config.odoo.user;
  if (configured) {
    const e = passwd.find((p) => p.name === configured) ?? (/^\d+$/.test(configured) ? passwd.find((p) => p.uid === Number(configured)) : undefined);
    if (!e) return { error: `odoo.user ${configured} is not a user on this host (/etc/passwd)` };
    return { name: e.name, uid: e.uid, gid: e.gid, source: 'config odoo.user' };
  }
  if (ctx.odoo.dataDir && opts.dataDirOwner !== false) {
    try {
      const st = statSync(ctx.odoo.dataDir);
      if (st.uid !== 0) {
        return { name: passwd.find((p) => p.uid === st.uid)?.name ?? null, uid: st.uid, gid: st.gid, source: `owner of ${ctx.odoo.dataDir}` };
      }
    } catch {
      /* fall through */
    }
  }
  const proc = opts.pid === undefined ? await odooProcessOwner() : opts.pid === null ? null : await ownerOf(String(opts.pid));
  if (proc) return { name: passwd.find((p) => p.uid === proc.uid)?.name ?? null, uid: proc.uid, gid: proc.gid, source: `running Odoo process ${proc.pid}` };
  return { error: "cannot tell Odoo's user: set odoo.user in the odoo-heal config" };
}

async function odooProcessOwner(): Promise<{ uid: number; gid: number; pid: number } | null> {
  let pids: string[];
  try {
    pids = (await fsp.readdir('/proc')).filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  for (const pid of pids) {
    try {
      const cmd = (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      if (!cmd.some((a) => /(^|\/)(odoo-bin|odoo)$/.test(a))) continue;
      const owner = await ownerOf(pid);
      if (owner) return owner;
    } catch {
      /* gone or not ours to read */
    }
  }
  return null;
}

/** The process's real uid/gid; null when gone, or root's (never taken for Odoo's user: no file is handed to root). */
async function ownerOf(pid: string): Promise<{ uid: number; gid: number; pid: number } | null> {
  try {
    const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    const gid = /^Gid:\s+(\d+)/m.exec(status)?.[1];
    return uid !== undefined && gid !== undefined && uid !== '0' ? { uid: Number(uid), gid: Number(gid), pid: Number(pid) } : null;
  } catch {
    return null;
  }
}
