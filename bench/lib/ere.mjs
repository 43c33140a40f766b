// The pattern database's regexes as POSIX ERE for `grep -E -f`, so the log-scan bench compares
// odoo-heal against grep doing "the same search". grep is line-based and has no named groups, lazy
// quantifiers or lookarounds; what cannot be expressed is dropped and counted.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ERE_SPECIAL = new Set(['.', '[', ']', '(', ')', '*', '+', '?', '{', '}', '|', '^', '$', '\\']);

/** JS regex source → ERE, or throws with the reason. `field` decides how `^` is read. */
export function toEre(src, field) {
  let out = '';
  let i = 0;
  // A message is in the middle of a log line (after `<time> <pid> <level> <db> <logger>: `), so a
  // leading `^` cannot mean "start of line" for grep: it is dropped (grep then matches a bit more).
  if (field === 'message' && src.startsWith('^')) i = 1;
  while (i < src.length) {
    const c = src[i];
    if (c === '\\') {
      const e = src[i + 1];
      i += 2;
      if (e === 'd') out += '[0-9]';
      else if (e === 's') out += '[[:space:]]';
      else if (e === 'S') out += '[^[:space:]]';
      else if (e === 'w') out += '[[:alnum:]_]';
      else if (e === 'b') out += '\\b'; // GNU extension, supported by grep -E
      else if (e === 'n' || e === 't' || e === 'r' || /[0-9kpuxcBDW]/.test(e)) throw new Error(`\\${e} has no ERE form`);
      else out += ERE_SPECIAL.has(e) ? `\\${e}` : e;
      continue;
    }
    if (c === '[') {
      // Character class: copy, translating escapes into bracket forms.
      let j = i + 1;
      let cls = '[';
      if (src[j] === '^') {
        cls += '^';
        j++;
      }
      for (; j < src.length && src[j] !== ']'; j++) {
        if (src[j] === '\\') {
          const e = src[++j];
          if (e === 'd') cls += '0-9';
          else if (e === 's') cls += '[:space:]';
          else if (e === 'w') cls += '[:alnum:]_';
          else if (e === 'n') cls += ''; // grep sees one line at a time: never a newline in it
          else if (e === ']' || e === '\\' || e === '^' || e === '-') throw new Error(`\\${e} in a class`);
          else cls += e;
        } else cls += src[j];
      }
      if (cls === '[') throw new Error('empty class');
      // `[^\n]` is "any character" for a line-based matcher.
      out += cls === '[^' ? '.' : `${cls}]`;
      i = j + 1;
      continue;
    }
    if (c === '(') {
      if (src.startsWith('(?:', i)) i += 3;
      else if (src.startsWith('(?=', i) || src.startsWith('(?!', i) || src.startsWith('(?<=', i) || src.startsWith('(?<!', i)) {
        throw new Error('lookaround');
      } else if (src.startsWith('(?<', i)) i = src.indexOf('>', i) + 1;
      else i++;
      out += '(';
      continue;
    }
    if ((c === '?' || c === '*' || c === '+' || c === '}') && src[i + 1] === '?') {
      // Lazy quantifier: a line matches lazily iff it matches greedily; grep -c only counts lines.
      out += c;
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Every message/exception/record regex of the pattern files, converted; `dropped` lists the rest. */
export function patternRegexes(dir) {
  const converted = [];
  const dropped = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json') && n !== 'schema.json').sort()) {
    const data = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    for (const p of data.patterns) {
      for (const field of ['message', 'exception', 'record']) {
        const src = p.match[field];
        if (src === undefined) continue;
        try {
          converted.push({ id: p.id, field, js: src, ere: toEre(src, field) });
        } catch (err) {
          dropped.push({ id: p.id, field, js: src, reason: err.message });
        }
      }
    }
  }
  return { converted, dropped };
}
