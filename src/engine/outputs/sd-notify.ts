// The sd_notify protocol (man 3 sd_notify): newline-separated KEY=VALUE assignments sent as one
// datagram to the AF_UNIX socket named by $NOTIFY_SOCKET.
//
// Node has no AF_UNIX datagram sockets (node:dgram is UDP only) and a native addon would need a
// compiler on every server, so we run systemd's own `systemd-notify` (always installed with
// systemd) via execFile — no shell, the assignments are argv. Consequences, handled here and in
// deploy/odoo-auto-heal.service:
//  * the datagram comes from the child's PID, not ours, so the unit needs NotifyAccess=all
//    (with the default NotifyAccess=main systemd would drop every message);
//  * systemd < 254 attributes a message to a unit by the sender's cgroup, looked up after the
//    fact; if systemd-notify has already exited the message can be lost (systemd issue #2739).
//    Watchdog pings go out at half of WatchdogSec so one lost ping never trips the watchdog, and
//    each ping repeats READY=1 (idempotent for systemd) so a lost READY only delays readiness by
//    one ping instead of failing the start.
// With $NOTIFY_SOCKET unset (Type=simple, a shell, a test) every call is a no-op.
import { execFile } from 'node:child_process';

export interface SdNotifier {
  /** Whether a notify socket is set (we run under systemd with Type=notify). */
  readonly active: boolean;
  /** READY=1 (+ STATUS), and from now on watchdog pings if $WATCHDOG_USEC asks for them. */
  ready(status?: string): Promise<void>;
  status(text: string): Promise<void>;
  /** STOPPING=1 and no more pings. */
  stopping(status?: string): Promise<void>;
  /** Stops the watchdog timer (also done by stopping()). */
  close(): void;
}

export interface SdNotifyOptions {
  env?: NodeJS.ProcessEnv;
  /** The helper binary; default `systemd-notify` from PATH. */
  command?: string;
  /** Reports a failed send (e.g. helper missing); the service keeps running. */
  onError?: (message: string) => void;
}

/** The watchdog interval systemd asks for, in ms, or null. WATCHDOG_PID, when set, must be us. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 1000));
}

/** Status text is one line in `systemctl status`; a newline would start a new assignment. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 400);
}

export function createSdNotifier(opts: SdNotifyOptions = {}): SdNotifier {
  const env = opts.env ?? process.env;
  const socket = env.NOTIFY_SOCKET;
  const command = opts.command ?? 'systemd-notify';
  const interval = watchdogIntervalMs(env);
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  // One send at a time keeps the order of READY / STATUS / STOPPING as written.
  let chain: Promise<void> = Promise.resolve();

  const send = (assignments: string[]): Promise<void> => {
    if (!socket) return Promise.resolve();
    chain = chain.then(
      () =>
        new Promise<void>((resolve) => {
          // --pid tells systemd which process the message speaks for (MAINPID) on versions that honour it.
          execFile(command, [`--pid=${process.pid}`, ...assignments], { env: { ...env, NOTIFY_SOCKET: socket }, timeout: 5000 }, (err, _out, stderr) => {
            if (err) opts.onError?.(`${command} ${assignments.join(' ')}: ${String(stderr).trim() || err.message}`);
            resolve();
          });
        }),
    );
    return chain;
  };

  const close = (): void => {
    if (timer) clearInterval(timer);
    timer = null;
  };

  return {
    active: Boolean(socket),
    async ready(status?: string): Promise<void> {
      if (stopped) return;
      await send(['READY=1', ...(status ? [`STATUS=${oneLine(status)}`] : [])]);
      if (interval !== null && socket && !timer) {
        // Half the interval, as sd_watchdog_enabled(3) recommends.
        timer = setInterval(() => void send(['READY=1', 'WATCHDOG=1']), Math.max(1, Math.floor(interval / 2)));
        // The ping proves the event loop is alive; it must not by itself keep the process alive.
        timer.unref();
      }
    },
    async status(text: string): Promise<void> {
      if (stopped) return;
      await send([`STATUS=${oneLine(text)}`]);
    },
    async stopping(status?: string): Promise<void> {
      if (stopped) return;
      stopped = true;
      close();
      await send(['STOPPING=1', ...(status ? [`STATUS=${oneLine(status)}`] : [])]);
    },
    close,
  };
}
