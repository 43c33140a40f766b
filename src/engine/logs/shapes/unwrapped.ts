// What a wrapper-reader hands back: its own module so unwrap.ts and journal-json.ts share it
// without importing each other.
export type ShapeKind = 'compose' | 'docker' | 'cri' | 'journal' | 'syslog' | 'json' | 'synology';

export interface Unwrapped {
  kind: ShapeKind;
  /** The line as the program wrote it. Journal JSON messages may hold several lines (`\n`). */
  text: string;
  /** Epoch ms the collector stamped, or null. */
  time: number | null;
  /** The interleaved stream the line belongs to, unique within the source ('' for the only one). */
  stream: string;
  /** The text continues in the stream's next line (CRI `P`, docker json-file lines over 16 KiB). */
  partial: boolean;
}
