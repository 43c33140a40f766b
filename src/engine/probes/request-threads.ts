// Threaded mode (workers = 0): Odoo's werkzeug server starts one thread per HTTP connection
// (odoo/service/server.py ThreadedWSGIServerReloadable.process_request, which stamps the thread's
// start_time) and answers `Connection: close`, so a connection thread is one request. Its age from
// /proc is the age Odoo itself compares with limit_time_real: past it, Odoo logs "Thread ... virtual
// real time limit (...) reached." and restarts the whole server once no other request runs (or after
// 60 s), dropping what is in flight.
//
// What /proc can and cannot tell: Python before 3.14 does not give OS threads Python's names, so
// every thread's comm is the interpreter's. The server's own threads (main, the HTTP listener, the
// max_cron_threads cron threads) are started first, at start-up; every later thread is a connection.
// Websocket connections (and the bus dispatcher) are long-lived threads too, told apart only by where
// they wait (epoll, /proc/<tid>/syscall, readable by root or Odoo's user). Without that file the
// count includes them and no age warning is raised.
import type { Finding } from '../core/types.js';
import { CLOCK_TICKS, waitsInEpoll, type TaskInfo } from './proc.js';

export interface RequestThreads {
  /** Connection threads serving a request now. */
  count: number;
  /** Age of the oldest, seconds; null when none. */
  oldestSeconds: number | null;
  oldestTid: number | null;
  /** Threads left out: the server's own, and those waiting in epoll (websockets, bus dispatcher). */
  serverThreads: number;
  websockets: number;
  /** False when where threads wait is not readable: `count` then includes websocket threads. */
  exact: boolean;
}

/** The server's own threads at start-up: main, the HTTP listener, one per cron thread. */
export function serverThreadCount(maxCronThreads: number): number {
  return 2 + Math.max(0, maxCronThreads);
}

/**
 * The start tick up to which threads are the server's own: that of the Nth thread by start time
 * (N = serverThreadCount). Taken once per server process and kept: cron threads that die (threaded
 * mode after a PostgreSQL restart) must not turn the oldest request into a "server thread".
 */
export function serverCutoff(tasks: readonly TaskInfo[], maxCronThreads: number): number {
  const starts = tasks.map((t) => t.startTicks).sort((a, b) => a - b);
  return starts[Math.min(serverThreadCount(maxCronThreads), starts.length) - 1] ?? 0;
}

export function requestThreads(tasks: readonly TaskInfo[], cutoff: number, bootTimeMs: number, now: number, arch: string = process.arch): RequestThreads {
  const later = tasks.filter((t) => t.startTicks > cutoff);
  const waits = later.map((t) => waitsInEpoll(t.syscall, arch));
  const exact = waits.every((w) => w !== null);
  const requests = later.filter((_, i) => waits[i] !== true);
  const oldest = requests.reduce<TaskInfo | null>((a, b) => (a === null || b.startTicks < a.startTicks ? b : a), null);
  const startedAt = (t: TaskInfo) => bootTimeMs + (t.startTicks * 1000) / CLOCK_TICKS;
  return {
    count: requests.length,
    oldestSeconds: oldest ? Math.max(0, Math.round((now - startedAt(oldest)) / 1000)) : null,
    oldestTid: oldest?.tid ?? null,
    serverThreads: tasks.length - later.length,
    websockets: later.length - requests.length,
    exact,
  };
}

/** "A request thread older than limit_time_real" (a warning); null when none is, or when unsure. */
export function oldRequestFinding(t: RequestThreads, pid: number, limitTimeReal: number): Finding | null {
  if (!t.exact || limitTimeReal <= 0 || t.oldestSeconds === null || t.oldestSeconds <= limitTimeReal) return null;
  return {
    key: 'request-thread-old',
    severity: 'warning',
    title: `An Odoo request has run for ${t.oldestSeconds} s, past limit_time_real (${limitTimeReal} s)`,
    detail:
      `thread ${t.oldestTid} of pid ${pid} (threaded server, ${t.count} request thread${t.count === 1 ? '' : 's'} now) started ${t.oldestSeconds} s ago; ` +
      'Odoo logs "virtual real time limit ... reached" and restarts the whole server once no other request runs (at most 60 s later), dropping every request in flight',
    hint:
      'Find the slow request (its werkzeug line comes only when it ends; long queries show in the database pane). ' +
      'A production server should run prefork (workers > 0), where only the one worker is killed. See docs/checks/request-threads.md.',
    category: 'worker',
  };
}
