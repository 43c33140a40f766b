// A TCP server on 127.0.0.1 that accepts connections and never answers: what a stuck database (or
// anything else squatting its port) looks like to a client. `close()` drops every held socket.
import { createServer, type Server, type Socket } from 'node:net';

export interface HangServer {
  host: string;
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections still open (a client that gave up closes its side). */
  open(): number;
  close(): Promise<void>;
}

export async function startHangServer(): Promise<HangServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    // Read and discard whatever the client sends, and never write a byte back.
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('hang server: no TCP address');
  return {
    host: '127.0.0.1',
    port: addr.port,
    accepted: () => accepted,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
