// A real $NOTIFY_SOCKET (AF_UNIX datagram) for sd_notify tests. Node cannot bind one, so a tiny
// python3 child binds it and prints each datagram as one line ("\n" inside shown as "|").
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const haveNotifyTools = spawnSync('systemd-notify', ['--help']).status === 0 && spawnSync('python3', ['-c', 'import socket']).status === 0;

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    data = s.recv(4096).decode()
    print(data.replace("\\n", "|"), flush=True)
`;

export interface NotifySocket {
  path: string;
  messages: string[];
  waitFor(pred: (m: string[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): void;
}

export async function startNotifySocket(): Promise<NotifySocket> {
  const dir = mkdtempSync(join(tmpdir(), 'sdn-'));
  const path = join(dir, 'notify.sock');
  const child = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  let buf = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      messages.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    for (const l of listeners) l();
  });
  const waitFor = (pred: (m: string[]) => boolean, timeoutMs = 8000) =>
    new Promise<void>((resolve, reject) => {
      if (pred(messages)) return resolve();
      const t = setTimeout(() => {
        listeners.delete(l);
        reject(new Error(`notify socket: timed out; got ${JSON.stringify(messages)}`));
      }, timeoutMs);
      const l = () => {
        if (pred(messages)) {
          clearTimeout(t);
          listeners.delete(l);
          resolve();
        }
      };
      listeners.add(l);
    });
  await waitFor((m) => m.includes('bound'));
  messages.splice(messages.indexOf('bound'), 1);
  return {
    path,
    messages,
    waitFor,
    stop: () => {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
