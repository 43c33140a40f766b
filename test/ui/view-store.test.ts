// The console's view of the engine store: log storms reach the panes coalesced, everything else at
// once. A real engine store; the frame interval is shortened so the test stays fast.
import { describe, expect, it } from 'vitest';
import type { EngineState } from '../../src/engine/state/store.js';
import { createViewStore } from '../../src/ui/view-store.js';
import { newStore, rawRecord } from './harness.js';

const FRAME_MS = 40;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function logFlush(store: ReturnType<typeof newStore>, seq: number): void {
  store.setState((s) => ({
    tail: [...s.tail, { seq, record: rawRecord(`line ${seq}`) }],
    counters: { linesRead: seq, records: seq, matches: 0, unclassified: 0 },
  }));
}

describe('view store', () => {
  it('shows the first log flush at once, then coalesces a burst into one frame with the latest state', async () => {
    const store = newStore();
    const view = createViewStore(store, FRAME_MS);
    const seen: EngineState[] = [];
    const unsubscribe = view.subscribe((s) => seen.push(s));
    logFlush(store, 1);
    expect(seen).toHaveLength(1);
    expect(view.getState().counters.linesRead).toBe(1);
    for (let seq = 2; seq <= 6; seq++) logFlush(store, seq);
    expect(seen).toHaveLength(1);
    expect(view.getState().counters.linesRead).toBe(1);
    await wait(FRAME_MS * 3);
    expect(seen).toHaveLength(2);
    expect(view.getState()).toBe(store.getState());
    expect(view.getState().tail.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    unsubscribe();
  });

  it('passes everything else through at once, with any log flush still pending', async () => {
    const store = newStore();
    const view = createViewStore(store, FRAME_MS);
    let notified = 0;
    const unsubscribe = view.subscribe(() => notified++);
    logFlush(store, 1);
    logFlush(store, 2); // pending
    store.setState((s) => ({ filters: { ...s.filters, tailPaused: true } }));
    expect(notified).toBe(2);
    expect(view.getState().filters.tailPaused).toBe(true);
    expect(view.getState().counters.linesRead).toBe(2);
    // A snooze or dismiss changes incidents only: not a log flush, shown at once.
    logFlush(store, 3); // pending again (within the frame)
    store.setState({ incidents: {} });
    expect(notified).toBe(3);
    expect(view.getState().counters.linesRead).toBe(3);
    unsubscribe();
  });

  it('follows the engine store only while someone listens', async () => {
    const store = newStore();
    const view = createViewStore(store, FRAME_MS);
    const unsubscribe = view.subscribe(() => {});
    logFlush(store, 1);
    logFlush(store, 2);
    unsubscribe();
    // Unsubscribed: reads go straight to the engine store and no timer is left behind.
    expect(view.getState()).toBe(store.getState());
    logFlush(store, 3);
    expect(view.getState().counters.linesRead).toBe(3);
  });
});
