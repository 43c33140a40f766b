// A bounded, sampled check of the filestore: do the files ir_attachment points to exist, with the
// size the database recorded? A database restored without its filestore, or a filestore copied
// half, shows here long before a user opens the attachment.
//
// The sample: the newest attachments (what users open) plus a few windows at random ids (the rest).
// Only `stat`: nothing is read or written, and a store_fname that would leave the filestore
// directory is reported as bad, never followed.
import { stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import type pg from 'pg';

export interface FilestoreSample {
  database: string;
  directory: string;
  sampled: number;
  missing: { id: number; storeFname: string }[];
  wrongSize: { id: number; storeFname: string; expected: number; actual: number }[];
  /** store_fname values that are not a plain relative path (never followed). */
  invalid: number;
}

const MAX_LISTED = 10;
const RANDOM_WINDOWS = 4;

interface Row {
  id: number;
  store_fname: string;
  file_size: number | null;
}

async function sampleRows(client: pg.ClientBase, size: number): Promise<Row[]> {
  const newest = Math.max(1, Math.ceil(size / 2));
  const rows = new Map<number, Row>();
  const res = await client.query<Row>(
    `select id, store_fname, file_size from ir_attachment where store_fname is not null order by id desc limit $1`,
    [newest],
  );
  for (const r of res.rows) rows.set(r.id, r);
  const bounds = await client.query<{ lo: number | null; hi: number | null }>(`select min(id) as lo, max(id) as hi from ir_attachment`);
  const lo = bounds.rows[0]?.lo ?? null;
  const hi = bounds.rows[0]?.hi ?? null;
  const per = Math.max(1, Math.floor((size - rows.size) / RANDOM_WINDOWS));
  if (lo !== null && hi !== null && hi > lo) {
    for (let i = 0; i < RANDOM_WINDOWS && rows.size < size; i++) {
      const from = lo + Math.floor(Math.random() * (hi - lo));
      const more = await client.query<Row>(
        `select id, store_fname, file_size from ir_attachment where store_fname is not null and id >= $1 order by id limit $2`,
        [from, per],
      );
      for (const r of more.rows) rows.set(r.id, r);
    }
  }
  return [...rows.values()].slice(0, size);
}

/** A store_fname is `ab/abcdef...` (sha1 prefix directory); anything else is not followed. */
function inside(directory: string, storeFname: string): string | null {
  if (storeFname === '' || isAbsolute(storeFname) || storeFname.includes('\0')) return null;
  const p = normalize(join(directory, storeFname));
  return p.startsWith(directory.endsWith(sep) ? directory : directory + sep) ? p : null;
}

/** `directory` is `<data_dir>/filestore/<database>`. */
export async function sampleFilestore(client: pg.ClientBase, database: string, directory: string, size: number): Promise<FilestoreSample> {
  const rows = await sampleRows(client, size);
  const out: FilestoreSample = { database, directory, sampled: rows.length, missing: [], wrongSize: [], invalid: 0 };
  for (const r of rows) {
    const path = inside(directory, r.store_fname);
    if (path === null) {
      out.invalid++;
      continue;
    }
    try {
      const st = await stat(path);
      // file_size is what Odoo wrote; 0/null means unknown (old rows), so only a mismatch counts.
      if (r.file_size && st.size !== r.file_size && out.wrongSize.length < MAX_LISTED) {
        out.wrongSize.push({ id: r.id, storeFname: r.store_fname, expected: r.file_size, actual: st.size });
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
        out.missing.push({ id: r.id, storeFname: r.store_fname });
      } else {
        throw err;
      }
    }
  }
  return out;
}
