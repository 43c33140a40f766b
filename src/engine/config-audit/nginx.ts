// Which location of an nginx site in front of Odoo handles the websocket route, and where it
// proxies to. In prefork the bus websocket (`/websocket`, Odoo 16+; `/longpolling` before) is served
// by the gevent process on gevent_port only: routed to the HTTP workers, Odoo logs "Couldn't bind the
// websocket. Is the connection opened on the evented port (8072)?" and the web client keeps
// reconnecting. Read-only and bounded: the site files of /etc/nginx (sites-enabled/*, conf.d/*.conf),
// a small tokenizer, nginx's own location choice (exact, longest prefix, `^~`, then regexes in order).
// `include` is not followed; a proxy_pass with variables is not judged.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

const MAX_FILES = 50;
const MAX_BYTES = 1024 * 1024;

interface Token {
  text: string;
  line: number;
}

interface Directive {
  name: string;
  args: string[];
  line: number;
  block: Directive[] | null;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) i++;
    else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      out.push({ text: c, line });
      i++;
    } else if (c === '"' || c === "'") {
      const start = line;
      let s = '';
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        if (text[i] === '\n') line++;
        s += text[i];
        i++;
      }
      i++;
      out.push({ text: s, line: start });
    } else {
      let s = '';
      while (i < text.length && !/[\s;{}]/.test(text[i]!)) s += text[i++];
      out.push({ text: s, line });
    }
  }
  return out;
}

function parse(tokens: Token[]): Directive[] {
  let i = 0;
  const block = (): Directive[] => {
    const list: Directive[] = [];
    while (i < tokens.length && tokens[i]!.text !== '}') {
      const name = tokens[i]!;
      const args: string[] = [];
      i++;
      while (i < tokens.length && !['{', ';', '}'].includes(tokens[i]!.text)) args.push(tokens[i++]!.text);
      if (tokens[i]?.text === '{') {
        i++;
        const inner = block();
        i++; // the closing brace
        list.push({ name: name.text, args, line: name.line, block: inner });
      } else {
        if (tokens[i]?.text === ';') i++;
        list.push({ name: name.text, args, line: name.line, block: null });
      }
    }
    return list;
  };
  const all: Directive[] = [];
  while (i < tokens.length) {
    all.push(...block());
    i++; // a stray closing brace
  }
  return all;
}

export interface NginxLocation {
  modifier: '' | '=' | '^~' | '~' | '~*';
  path: string;
  line: number;
  /** proxy_pass target, null when the location does not proxy. */
  proxyPass: string | null;
}

export interface NginxSite {
  file: string;
  /** Line of the `server {`. */
  line: number;
  locations: NginxLocation[];
}

export interface NginxConfig {
  sites: NginxSite[];
  /** upstream name → the ports of its servers. */
  upstreams: Map<string, number[]>;
}

function locationOf(d: Directive): NginxLocation | null {
  const [a, b] = d.args;
  if (a === undefined) return null;
  const modifier = (['=', '^~', '~', '~*'] as const).find((m) => m === a);
  const path = modifier ? b : a;
  if (path === undefined) return null;
  const proxy = d.block?.find((x) => x.name === 'proxy_pass')?.args[0] ?? null;
  return { modifier: modifier ?? '', path, line: d.line, proxyPass: proxy };
}

/** The site files' servers and upstreams (nginx's http context spans all files). */
export function parseNginx(files: ReadonlyArray<{ file: string; text: string }>): NginxConfig {
  const sites: NginxSite[] = [];
  const upstreams = new Map<string, number[]>();
  for (const { file, text } of files) {
    const walk = (list: Directive[]) => {
      for (const d of list) {
        if (d.name === 'upstream' && d.block && d.args[0]) {
          const ports = d.block.filter((x) => x.name === 'server' && x.args[0]).map((x) => portOf(x.args[0]!, 80));
          upstreams.set(d.args[0], ports.filter((p): p is number => p !== null));
        } else if (d.name === 'server' && d.block) {
          const locations = d.block.filter((x) => x.name === 'location' && x.block).map(locationOf).filter((l): l is NginxLocation => l !== null);
          sites.push({ file, line: d.line, locations });
        } else if (d.block) walk(d.block); // http { ... } in a conf.d file
      }
    };
    walk(parse(tokenize(text)));
  }
  return { sites, upstreams };
}

function portOf(hostPort: string, dflt: number): number | null {
  if (hostPort.startsWith('unix:')) return null;
  const m = /:(\d+)$/.exec(hostPort);
  return m ? Number(m[1]) : dflt;
}

/** The ports a proxy_pass target reaches; null when nginx decides at run time (variables). */
export function proxyPorts(target: string, upstreams: ReadonlyMap<string, number[]>): number[] | null {
  const m = /^(https?):\/\/([^/]+)/.exec(target);
  if (!m || target.includes('$')) return null;
  const host = m[2]!;
  const up = upstreams.get(host);
  if (up) return up;
  const port = portOf(host, m[1] === 'https' ? 443 : 80);
  return port === null ? null : [port];
}

/** nginx's choice of location for a request path (nested locations aside). */
export function locationFor(site: NginxSite, path: string): NginxLocation | null {
  const exact = site.locations.find((l) => l.modifier === '=' && l.path === path);
  if (exact) return exact;
  const prefixes = site.locations.filter((l) => (l.modifier === '' || l.modifier === '^~') && path.startsWith(l.path));
  const longest = prefixes.sort((a, b) => b.path.length - a.path.length)[0] ?? null;
  if (longest?.modifier === '^~') return longest;
  for (const l of site.locations) {
    if (l.modifier !== '~' && l.modifier !== '~*') continue;
    try {
      if (new RegExp(l.path, l.modifier === '~*' ? 'i' : '').test(path)) return l;
    } catch {
      /* a PCRE-only construct: cannot tell, skip it */
    }
  }
  return longest;
}

/** sites-enabled/* and conf.d/*.conf under `root`; empty when there is no nginx config to read. */
export async function readNginxSites(root = '/etc/nginx'): Promise<Array<{ file: string; text: string }>> {
  const files: string[] = [];
  for (const [dir, only] of [['sites-enabled', null], ['conf.d', '.conf']] as const) {
    const names = await fsp.readdir(join(root, dir)).catch(() => [] as string[]);
    for (const n of names.sort()) if (!n.startsWith('.') && (only === null || n.endsWith(only))) files.push(join(root, dir, n));
  }
  const out: Array<{ file: string; text: string }> = [];
  for (const file of files.slice(0, MAX_FILES)) {
    try {
      const st = await fsp.stat(file);
      if (!st.isFile() || st.size > MAX_BYTES) continue;
      out.push({ file, text: await fsp.readFile(file, 'utf8') });
    } catch {
      /* unreadable: skipped */
    }
  }
  return out;
}
