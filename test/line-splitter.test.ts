import { describe, expect, it } from 'vitest';
import { LineSplitter, truncationMarker } from '../src/engine/logs/line-splitter.js';

const b = (s: string | number[]): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));

describe('LineSplitter', () => {
  it('returns complete lines and keeps the partial last line until its newline arrives', () => {
    const s = new LineSplitter();
    expect(s.push(b('one\ntwo\nthr'))).toEqual(['one', 'two']);
    expect(s.hasPartial).toBe(true);
    expect(s.push(b('ee'))).toEqual([]);
    expect(s.push(b('\n\nfour\n'))).toEqual(['three', '', 'four']);
    expect(s.hasPartial).toBe(false);
  });

  it('strips \\r of \\r\\n line ends, also when \\r and \\n arrive in different chunks', () => {
    const s = new LineSplitter();
    expect(s.push(b('a\r\nb\r'))).toEqual(['a']);
    expect(s.push(b('\nc\n'))).toEqual(['b', 'c']);
  });

  it('decodes multi-byte UTF-8 split across chunks', () => {
    const s = new LineSplitter();
    const text = b('café ✓ 😀 Odoo\n');
    const out: string[] = [];
    // Feed byte by byte: every boundary inside every character is exercised.
    for (const byte of text) out.push(...s.push(Buffer.from([byte])));
    expect(out).toEqual(['café ✓ 😀 Odoo']);
  });

  it('turns binary garbage into replacement characters and strips NUL bytes', () => {
    const s = new LineSplitter();
    const out = s.push(Buffer.concat([b([0xff, 0xfe, 0x00, 0x41, 0xc3]), b('\nnext\0 line\n')]));
    expect(out).toEqual(['\uFFFD\uFFFDA\uFFFD', 'next line']);
  });

  it('truncates a line longer than the cap with a marker counting the dropped bytes, then carries on', () => {
    const s = new LineSplitter(100);
    const out: string[] = [];
    out.push(...s.push(b('x'.repeat(60))));
    out.push(...s.push(b('y'.repeat(1000))));
    out.push(...s.push(b('\nafter\n')));
    expect(out).toEqual(['x'.repeat(60) + 'y'.repeat(40) + truncationMarker(960), 'after']);
  });

  it('truncates within a single chunk and does not count the \\r of \\r\\n as dropped text', () => {
    const s = new LineSplitter(16);
    expect(s.push(b('a'.repeat(20) + '\r\nok\r\n'))).toEqual(['a'.repeat(16) + truncationMarker(4), 'ok']);
  });

  it('cuts a truncated line at a character boundary', () => {
    const s = new LineSplitter(16);
    // 15 ASCII bytes + a 2-byte é: the cap falls inside é, which is dropped whole.
    const [line] = s.push(b('a'.repeat(15) + 'é' + 'b'.repeat(3) + '\n'));
    expect(line).toBe('a'.repeat(15) + truncationMarker(5));
  });

  it('does not count NUL padding (copytruncate holes) towards the cap', () => {
    const s = new LineSplitter(16);
    expect(s.push(Buffer.concat([Buffer.alloc(5000), b('real line\n')]))).toEqual(['real line']);
  });

  it('flushPartial returns the pending partial line once', () => {
    const s = new LineSplitter();
    s.push(b('cut mid-li'));
    expect(s.flushPartial()).toEqual(['cut mid-li']);
    expect(s.flushPartial()).toEqual([]);
    expect(s.push(b('ne\n'))).toEqual(['ne']);
  });

  it('skipToNextLine drops bytes through the next newline, across chunks', () => {
    const s = new LineSplitter();
    s.skipToNextLine();
    expect(s.push(b('tail of a line'))).toEqual([]);
    expect(s.push(b(' still\nwhole\n'))).toEqual(['whole']);
  });

  it('does not reuse the caller buffer for the partial line', () => {
    const s = new LineSplitter();
    const buf = b('abc');
    s.push(buf);
    buf.fill(0x7a);
    expect(s.push(b('\n'))).toEqual(['abc']);
  });
});
