// What the dependency model (correlation/model.ts) needs to know about this host, from the probes'
// latest results and odoo.conf: its file systems, where Odoo writes, where PostgreSQL keeps its data.
import { dirname } from 'node:path';
import type { OdooConf } from '../config/types.js';
import type { ProbeName, ProbeResult } from '../core/types.js';
import type { Deployment } from '../correlation/model.js';
import type { DatabaseData } from '../probes/database.js';
import type { DiskData } from '../probes/disk.js';

export function deploymentOf(probes: Partial<Record<ProbeName, ProbeResult>>, odoo: OdooConf): Deployment {
  const disk = probes.disk?.data as DiskData | null | undefined;
  const db = probes.database?.data as DatabaseData | null | undefined;
  const odooWrites = [odoo.dataDir, odoo.logfile ? dirname(odoo.logfile) : null].filter((p): p is string => p !== null);
  return { mounts: disk?.filesystems.map((f) => f.mountPoint) ?? [], odooWrites, postgresData: db?.dataDirectory ?? null };
}
