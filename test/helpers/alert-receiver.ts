// A real HTTP receiver on 127.0.0.1 for alert tests: records every POST (path + parsed JSON body),
// and can be told to answer with a status or to hang (accept, read the body, never answer).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  raw: string;
}

export interface AlertReceiver {
  url(path?: string): string;
  received: Received[];
  /** Requests whose answer is being withheld (mode 'hang'). */
  hanging(): number;
  /** 'ok' answers 200; a number answers that status; 'hang' never answers. */
  mode: 'ok' | 'hang' | number;
  /** Resolves once `n` requests (any status) have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<AlertReceiver> {
  const received: Received[] = [];
  const held = new Set<ServerResponse>();
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const state: { mode: AlertReceiver['mode'] } = { mode: 'ok' };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = null;
      try {
        body = JSON.parse(raw);
      } catch {
        body = null;
      }
      received.push({ path: req.url ?? '', headers: req.headers, body, raw });
      for (const w of waiters.splice(0)) (received.length >= w.n ? w.resolve : () => waiters.push(w))();
      if (state.mode === 'hang') {
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      res.statusCode = state.mode === 'ok' ? 200 : state.mode;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('receiver: no TCP address');
  return {
    url: (path = '/') => `http://127.0.0.1:${addr.port}${path}`,
    received,
    hanging: () => held.size,
    get mode() {
      return state.mode;
    },
    set mode(m) {
      state.mode = m;
    },
    waitFor(n, timeoutMs = 10_000) {
      if (received.length >= n) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`receiver: ${received.length} of ${n} requests after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(t), resolve(received)) });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of held) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
