// Pure text transformation behind the cron-deprecated-fields fix: find the `<field name="numbercall">`
// and `<field name="doall">` elements of `<record model="ir.cron">` records and cut exactly their bytes
// out of the file, leaving every other byte as it was.
//
// WHY a real XML parser (saxes) locates the elements instead of a regex: comments, CDATA, attributes in
// any order / quote style, self-closing and multi-line forms and nested records are all handled by the
// parser; we only use its offsets. The file is decoded as latin1 so that one JS char == one byte: the
// offsets then map 1:1 to bytes whatever the file's encoding (UTF-8, BOM, latin-1), and the bytes we
// keep are copied unchanged.
import { createRequire } from 'node:module';

// Loaded on first use: saxes' Unicode tables cost ~8 MB of RSS, which a console that never runs this
// fix should not carry (its idle target is 90 MB).
const requireLazily = createRequire(import.meta.url);
let saxes: typeof import('saxes') | null = null;
function newParser(): import('saxes').SaxesParser<{ position: true }> {
  saxes ??= requireLazily('saxes') as typeof import('saxes');
  return new saxes.SaxesParser({ position: true });
}

export const DEPRECATED_CRON_FIELDS: readonly string[] = ['numbercall', 'doall'];

/** One element to remove, with byte offsets into the file. */
export interface FieldSpan {
  field: string;
  /** Byte offset of the `<` of the start tag. */
  start: number;
  /** Byte offset just after the `>` of the end tag (or of `/>`). */
  end: number;
  /** 1-based line of the start tag. */
  line: number;
}

export interface CronFieldScan {
  /** Null when the document is well-formed, else the parser's message. */
  error: string | null;
  spans: FieldSpan[];
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Decodes for offset work (latin1: 1 char per byte). */
function asBytesString(content: Buffer): string {
  return content.toString('latin1');
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * Parses `text` (one char per byte) and returns the deprecated ir.cron field elements.
 * A field counts only as a direct child of `<record model="ir.cron">`: a field of the same name in
 * another model's record (or inside a nested record of another model) is that model's business.
 */
export function scanCronFields(text: string, fields: readonly string[] = DEPRECATED_CRON_FIELDS): CronFieldScan {
  const spans: FieldSpan[] = [];
  // saxes handles a BOM badly in a latin1 string (it would be 3 chars of text before the root).
  const skip = text.startsWith('\u00ef\u00bb\u00bf') ? 3 : 0;
  const body = skip ? text.slice(skip) : text;
  const parser = newParser();
  interface Open {
    name: string;
    model: string | null;
    start: number;
    target: string | null;
  }
  const stack: Open[] = [];
  let error: string | null = null;
  let tagStart = 0;
  parser.on('error', (err) => {
    error ??= err.message;
  });
  parser.on('opentagstart', () => {
    // At this event the parser has read `<name` plus one char: the `<` is the last one before.
    tagStart = body.lastIndexOf('<', parser.position - 1);
  });
  parser.on('opentag', (tag) => {
    const parent = stack[stack.length - 1];
    const nameAttr = tag.attributes['name'];
    const isTarget =
      tag.name === 'field' &&
      parent?.name === 'record' &&
      parent.model === 'ir.cron' &&
      typeof nameAttr === 'string' &&
      fields.includes(nameAttr);
    const model = tag.attributes['model'];
    stack.push({
      name: tag.name,
      model: typeof model === 'string' ? model : null,
      start: tagStart,
      target: isTarget ? (nameAttr as string) : null,
    });
  });
  parser.on('closetag', () => {
    const open = stack.pop();
    if (open?.target) {
      spans.push({ field: open.target, start: open.start + skip, end: parser.position + skip, line: 0 });
    }
  });
  try {
    parser.write(body).close();
  } catch (err) {
    error ??= err instanceof Error ? err.message : String(err);
  }
  for (const s of spans) s.line = lineAt(text, s.start);
  return { error, spans: error ? [] : spans };
}

const isHorizontalSpace = (c: string | undefined): boolean => c === ' ' || c === '\t';

/** Byte range to cut for a group of adjacent elements: whole lines when they are alone on their lines. */
function cutRange(text: string, start: number, end: number): [number, number] {
  let lineStart = start;
  while (lineStart > 0 && isHorizontalSpace(text[lineStart - 1])) lineStart--;
  const aloneBefore = lineStart === 0 || text[lineStart - 1] === '\n' || text[lineStart - 1] === '\r';
  let after = end;
  while (isHorizontalSpace(text[after])) after++;
  let lineEnd = -1;
  if (after === text.length) lineEnd = after;
  else if (text.startsWith('\r\n', after)) lineEnd = after + 2;
  else if (text[after] === '\n' || text[after] === '\r') lineEnd = after + 1;
  if (aloneBefore && lineEnd !== -1) return [lineStart, lineEnd];
  // Shares its line with other content: cut the element and the blanks that separated it.
  if (aloneBefore) return [start, after];
  return [lineStart, end];
}

export interface CronFieldEdit {
  /** The new file content (same bytes as the input outside the removed ranges). */
  content: Buffer;
  removed: FieldSpan[];
}

/**
 * Removes the deprecated ir.cron field elements. Throws when the input is not well-formed XML: a broken
 * file is not ours to guess at.
 */
export function removeCronFields(content: Buffer, fields: readonly string[] = DEPRECATED_CRON_FIELDS): CronFieldEdit {
  const text = asBytesString(content);
  const scan = scanCronFields(text, fields);
  if (scan.error) throw new Error(`not well-formed XML: ${scan.error}`);
  if (scan.spans.length === 0) return { content: Buffer.from(content), removed: [] };
  const spans = [...scan.spans].sort((a, b) => a.start - b.start);
  // Merge elements separated only by blanks on the same line, so two fields on one line leave no
  // blank line behind.
  const groups: Array<[number, number]> = [];
  for (const s of spans) {
    const last = groups[groups.length - 1];
    if (last && /^[ \t]*$/.test(text.slice(last[1], s.start))) last[1] = s.end;
    else groups.push([s.start, s.end]);
  }
  const pieces: Buffer[] = [];
  let from = 0;
  for (const [s, e] of groups) {
    const [cutStart, cutEnd] = cutRange(text, s, e);
    pieces.push(content.subarray(from, cutStart));
    from = cutEnd;
  }
  pieces.push(content.subarray(from));
  return { content: Buffer.concat(pieces), removed: spans };
}

/** Decodes for a check by the XML parser: UTF-8 when the bytes are UTF-8, else latin1. */
export function decodeXml(content: Buffer): string {
  const body = content.subarray(0, 3).equals(UTF8_BOM) ? content.subarray(3) : content;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return body.toString('latin1');
  }
}

/** What verify checks: well-formed (real parser) and no deprecated field left in ir.cron records. */
export function checkCronFile(content: Buffer, fields: readonly string[] = DEPRECATED_CRON_FIELDS): { ok: boolean; detail: string } {
  const scan = scanCronFields(decodeXml(content), fields);
  if (scan.error) return { ok: false, detail: `not well-formed XML: ${scan.error}` };
  if (scan.spans.length > 0) {
    const where = scan.spans.map((s) => `${s.field} (line ${s.line})`).join(', ');
    return { ok: false, detail: `deprecated ir.cron fields still present: ${where}` };
  }
  return { ok: true, detail: 'well-formed XML, no numbercall/doall field left in ir.cron records' };
}
