// Where each pane goes for a terminal size. Pure, so the 80x24 budget is easy to check.
//
// Space by importance: what the admin acts on (the incident queue) and reads (the log) gets the
// rows; the probe panes at the top get what their lines need (the process table: title, header,
// master, a few workers, the limits line) and the memory history stays a title sparkline. Only a
// tall terminal (TALL_ROWS and more) spares rows for a line chart.

export const MIN_COLUMNS = 80;
export const MIN_ROWS = 24;
/** From this many rows the top panes grow and the memory pane draws its line chart. */
export const TALL_ROWS = 50;
/** Top panes without charts: title, table header, master + 4 workers, limits line. */
const COMPACT_TOP_ROWS = 8;

export interface Layout {
  /** The root box: one row shorter than the terminal (Ink 6 repaints everything, scrollback
   * included, when the output is as tall as the screen). */
  width: number;
  height: number;
  /** Rows between the header and the status line (overlays use all of them). */
  bodyHeight: number;
  top: {
    height: number;
    /** Three columns (memory over disk in the last one) or four side by side. */
    columns: 3 | 4;
    process: number;
    database: number;
    memory: number;
    disk: number;
    /** In the three-column layout: rows of the memory pane; disk gets the rest. */
    memoryHeight: number;
    /** Whether the memory pane may draw its history as a line chart (tall terminals only). */
    charts: boolean;
  };
  queueHeight: number;
  logHeight: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

export function tooSmall(columns: number, rows: number): boolean {
  return columns < MIN_COLUMNS || rows < MIN_ROWS;
}

export function computeLayout(columns: number, rows: number): Layout {
  const width = columns;
  const height = rows - 1;
  // header 1, status line 1, footer 1
  const bodyHeight = height - 3;
  const tall = rows >= TALL_ROWS;
  const topHeight = tall ? clamp(Math.floor(bodyHeight * 0.25), COMPACT_TOP_ROWS, 14) : clamp(bodyHeight - 13, 7, COMPACT_TOP_ROWS);
  const rest = bodyHeight - topHeight;
  const queueHeight = clamp(Math.floor(rest * 0.45), 6, 20);
  const logHeight = rest - queueHeight;

  const four = columns >= 120;
  const gaps = four ? 3 : 2;
  const usable = width - gaps;
  let process: number;
  let database: number;
  let memory: number;
  let disk: number;
  if (four) {
    process = Math.floor(usable * 0.3);
    database = Math.floor(usable * 0.24);
    memory = Math.floor(usable * 0.23);
    disk = usable - process - database - memory;
  } else {
    process = Math.floor(usable * 0.385);
    database = Math.floor((usable - process) / 2);
    memory = usable - process - database;
    disk = memory;
  }
  const memoryHeight = four ? topHeight : Math.ceil(topHeight / 2);
  return {
    width,
    height,
    bodyHeight,
    top: { height: topHeight, columns: four ? 4 : 3, process, database, memory, disk, memoryHeight, charts: tall },
    queueHeight,
    logHeight,
  };
}
