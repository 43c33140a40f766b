// Threaded Odoo's request threads from /proc: a copy of a real Odoo 18 threaded server's
// /proc/<pid>/task (test/fixtures/proc-threaded, see MANIFEST.md) taken while two
// /heal_probe/sleep requests and one websocket were open, with max_cron_threads = 1.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTasks } from '../src/engine/probes/proc.js';
import { oldRequestFinding, requestThreads, serverCutoff } from '../src/engine/probes/request-threads.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'proc-threaded');
const PID = 17478;
// /proc/stat btime and the clock when the copy was taken.
const BOOT_MS = 1796212941 * 1000;
const NOW = 1796217418411;

describe('request threads of a threaded Odoo 18, from a real /proc', () => {
  it('tells the server\'s own threads, the requests and the websocket apart, and ages the oldest request', async () => {
    const tasks = (await readTasks(PID, ROOT))!;
    expect(tasks.map((t) => t.tid).sort()).toEqual([17478, 17510, 17530, 17590, 17609, 17678]);
    const cutoff = serverCutoff(tasks, 1);
    const t = requestThreads(tasks, cutoff, BOOT_MS, NOW, 'x64');
    // main (clock_nanosleep), the HTTP listener (poll), the cron thread (pselect6); the websocket waits in epoll_wait.
    expect(t).toEqual({ count: 2, oldestSeconds: 9, oldestTid: 17590, serverThreads: 3, websockets: 1, exact: true });
  });

  it('past limit_time_real the oldest request is a warning; under it, or without the syscall files, none', async () => {
    const tasks = (await readTasks(PID, ROOT))!;
    const t = requestThreads(tasks, serverCutoff(tasks, 1), BOOT_MS, NOW, 'x64');
    const f = oldRequestFinding(t, PID, 5);
    expect(f).toMatchObject({ key: 'request-thread-old', severity: 'warning' });
    expect(f!.title).toBe('An Odoo request has run for 9 s, past limit_time_real (5 s)');
    expect(f!.detail).toContain('thread 17590 of pid 17478');
    expect(oldRequestFinding(t, PID, 120)).toBeNull();
    // limit_time_real = 0: no limit.
    expect(oldRequestFinding(t, PID, 0)).toBeNull();
    // Not root nor Odoo's user: where threads wait is unknown, a websocket could be the oldest.
    const blind = requestThreads(tasks.map((x) => ({ ...x, syscall: null })), serverCutoff(tasks, 1), BOOT_MS, NOW, 'x64');
    expect(blind).toMatchObject({ count: 3, exact: false });
    expect(oldRequestFinding(blind, PID, 5)).toBeNull();
  });

  it('a cron thread that died after the start does not turn a request into a server thread', async () => {
    const tasks = (await readTasks(PID, ROOT))!;
    const cutoff = serverCutoff(tasks, 1);
    const withoutCron = tasks.filter((t) => t.tid !== 17530);
    expect(requestThreads(withoutCron, cutoff, BOOT_MS, NOW, 'x64')).toMatchObject({ count: 2, oldestTid: 17590, serverThreads: 2 });
    // Computed afresh it would have taken the oldest request for the cron thread.
    expect(requestThreads(withoutCron, serverCutoff(withoutCron, 1), BOOT_MS, NOW, 'x64').count).toBe(1);
  });

  it('a gone process has no tasks', async () => {
    expect(await readTasks(999999999, ROOT)).toBeNull();
  });
});
