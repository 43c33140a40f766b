// The fleet view's state and its one controller: polls Prometheus on an interval, loads a host's
// incidents on request. A zustand vanilla store like the engine's; the UI reads it with selectors
// and calls the intents, never sets state itself.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { errorMessage } from '../core/errors.js';
import { hostIncidents, readFleet, type FleetSnapshot, type HostIncidentRow } from './fleet.js';
import { fetchHostIncidents, type RemoteIncident } from './host-incidents.js';

export type HostDetail =
  | { instance: string; state: 'loading' }
  | { instance: string; state: 'ready'; rows: HostIncidentRow[]; full: RemoteIncident[] | null; fullError: string | null }
  | { instance: string; state: 'error'; error: string };

export interface FleetState {
  snapshot: FleetSnapshot | null;
  /** The last read's failure (Prometheus down, bad URL); the previous snapshot stays shown. */
  error: string | null;
  reading: boolean;
  detail: HostDetail | null;
}

export interface FleetIntents {
  refresh(): void;
  openHost(instance: string): void;
  closeHost(): void;
}

export interface FleetOptions {
  prometheus: string;
  job: string;
  intervalMs: number;
  timeoutMs: number;
  /** Bearer token for the hosts' /incidents (the same token every host's http.token is set to). */
  hostToken: string | null;
  promToken: string | null;
}

export interface FleetController extends FleetIntents {
  store: StoreApi<FleetState>;
  start(): Promise<void>;
  stop(): void;
}

export function createFleet(opts: FleetOptions): FleetController {
  const store = createStore<FleetState>(() => ({ snapshot: null, error: null, reading: false, detail: null }));
  const prom = { timeoutMs: opts.timeoutMs, token: opts.promToken };
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  async function read(): Promise<void> {
    if (store.getState().reading) return;
    store.setState({ reading: true });
    try {
      const snapshot = await readFleet(opts.prometheus, opts.job, prom);
      if (!stopped) store.setState({ snapshot, error: null });
    } catch (err) {
      if (!stopped) store.setState({ error: errorMessage(err) });
    } finally {
      if (!stopped) store.setState({ reading: false });
    }
  }

  async function loadHost(instance: string): Promise<void> {
    store.setState({ detail: { instance, state: 'loading' } });
    try {
      const rows = await hostIncidents(opts.prometheus, opts.job, instance, prom);
      let full: RemoteIncident[] | null = null;
      let fullError: string | null = null;
      if (opts.hostToken) {
        try {
          full = await fetchHostIncidents(instance, opts.hostToken, opts.timeoutMs);
        } catch (err) {
          fullError = errorMessage(err);
        }
      }
      if (store.getState().detail?.instance === instance) store.setState({ detail: { instance, state: 'ready', rows, full, fullError } });
    } catch (err) {
      if (store.getState().detail?.instance === instance) store.setState({ detail: { instance, state: 'error', error: errorMessage(err) } });
    }
  }

  return {
    store,
    async start() {
      await read();
      const loop = () => {
        timer = setTimeout(() => void read().finally(() => !stopped && loop()), opts.intervalMs);
      };
      if (!stopped) loop();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    refresh() {
      void read();
      const d = store.getState().detail;
      if (d) void loadHost(d.instance);
    },
    openHost(instance) {
      void loadHost(instance);
    },
    closeHost() {
      store.setState({ detail: null });
    },
  };
}
