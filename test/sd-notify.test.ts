// sd_notify through the real systemd-notify binary into a real AF_UNIX datagram socket (a small
// python3 receiver, since Node cannot bind one).
import { afterEach, describe, expect, it } from 'vitest';
import { createSdNotifier, watchdogIntervalMs } from '../src/engine/outputs/sd-notify.js';
import { haveNotifyTools, startNotifySocket, type NotifySocket } from './helpers/notify-socket.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function startReceiver(): Promise<NotifySocket> {
  const r = await startNotifySocket();
  cleanups.push(r.stop);
  return r;
}

describe('watchdogIntervalMs', () => {
  it('reads WATCHDOG_USEC and honours WATCHDOG_PID', () => {
    expect(watchdogIntervalMs({})).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' })).toBe(30_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1' }, 2)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'junk' })).toBeNull();
  });
});

describe.skipIf(!haveNotifyTools)('sd_notify via systemd-notify (needs systemd-notify and python3)', () => {
  it('sends READY with STATUS, watchdog pings at half the interval, then STOPPING and no more pings', async () => {
    const r = await startReceiver();
    const errors: string[] = [];
    const sd = createSdNotifier({ env: { ...process.env, NOTIFY_SOCKET: r.path, WATCHDOG_USEC: '400000' }, onError: (e) => errors.push(e) });
    expect(sd.active).toBe(true);
    await sd.ready('watching 1 log file');
    await r.waitFor((m) => m.some((x) => x.includes('WATCHDOG=1')) && m.filter((x) => x.includes('WATCHDOG=1')).length >= 2);
    await sd.stopping('bye');
    await r.waitFor((m) => m.some((x) => x.includes('STOPPING=1')));
    const first = r.messages.find((m) => m.includes('READY=1'))!;
    expect(first).toContain('STATUS=watching 1 log file');
    const stopAt = r.messages.findIndex((m) => m.includes('STOPPING=1'));
    expect(r.messages[stopAt]).toContain('STATUS=bye');
    // no ping after STOPPING (give a would-be timer two periods to fire)
    await new Promise((res) => setTimeout(res, 450));
    expect(r.messages.slice(stopAt + 1).filter((m) => m.includes('WATCHDOG=1'))).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('does nothing without NOTIFY_SOCKET (Type=simple)', async () => {
    const errors: string[] = [];
    const sd = createSdNotifier({ env: { PATH: process.env.PATH }, command: '/nonexistent/systemd-notify', onError: (e) => errors.push(e) });
    expect(sd.active).toBe(false);
    await sd.ready('x');
    await sd.stopping();
    expect(errors).toEqual([]);
  });

  it('reports a missing helper through onError instead of throwing', async () => {
    const r = await startReceiver();
    const errors: string[] = [];
    const sd = createSdNotifier({ env: { NOTIFY_SOCKET: r.path }, command: '/nonexistent/systemd-notify', onError: (e) => errors.push(e) });
    await sd.ready();
    expect(errors[0]).toMatch(/\/nonexistent\/systemd-notify READY=1: .*ENOENT/);
  });
});
