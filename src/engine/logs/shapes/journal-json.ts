// One JSON object per line: `journalctl -o json` (the MESSAGE field; journald stores a message that
// is not valid UTF-8 as an array of bytes) and docker's json-file log driver (`{"log": "...\n",
// "stream": "stderr", "time": "..."}`, what /var/lib/docker/containers/*/*-json.log holds).
import type { Unwrapped } from './unwrapped.js';

/** A line longer than this is not parsed as JSON (the parser cuts lines at 64 KiB anyway). */
const MAX_JSON_CHARS = 256 * 1024;

type Json = Record<string, unknown>;

function parseObject(line: string): Json | null {
  if (line.length > MAX_JSON_CHARS || line.charCodeAt(line.length - 1) !== 125 /* } */) return null;
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

/** A journald field value as text: a string, or an array of bytes (non-UTF-8 or binary data). */
function fieldText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255)) {
    return Buffer.from(v as number[]).toString('utf8');
  }
  return null;
}

export function journalJsonLine(line: string): Unwrapped | null {
  // Cheap refusal before JSON.parse: every object we read names one of these fields.
  if (!line.includes('"MESSAGE"') && !line.includes('"log"')) return null;
  const o = parseObject(line);
  if (!o) return null;
  if ('MESSAGE' in o) {
    const text = fieldText(o.MESSAGE);
    if (text === null) return null;
    const us = typeof o.__REALTIME_TIMESTAMP === 'string' ? Number(o.__REALTIME_TIMESTAMP) : NaN;
    const ident = fieldText(o.SYSLOG_IDENTIFIER) ?? fieldText(o._COMM) ?? fieldText(o._SYSTEMD_UNIT) ?? '';
    const pid = fieldText(o._PID);
    const host = fieldText(o._HOSTNAME);
    return {
      kind: 'json',
      text: text.endsWith('\n') ? text.slice(0, -1) : text,
      time: Number.isFinite(us) ? Math.floor(us / 1000) : null,
      stream: `${host ?? ''} ${ident}${pid ? `[${pid}]` : ''}`,
      partial: false,
    };
  }
  if (typeof o.log === 'string') {
    const t = typeof o.time === 'string' ? Date.parse(o.time) : NaN;
    const whole = o.log.endsWith('\n');
    return {
      kind: 'json',
      text: whole ? o.log.slice(0, o.log.endsWith('\r\n') ? -2 : -1) : o.log,
      time: Number.isNaN(t) ? null : t,
      stream: typeof o.stream === 'string' ? o.stream : '',
      partial: !whole,
    };
  }
  return null;
}
