// One sink in front of several channels: --auto hands the engine one AlertSink whatever the
// configured targets are (chat/webhook dispatcher, Alertmanager).
import type { AlertEvent, AlertSink } from '../../run/alert-sink.js';

export interface PendingSink extends AlertSink {
  pending(): number;
}

export function fanout(...sinks: PendingSink[]): PendingSink {
  return {
    notify(event: AlertEvent): void {
      for (const s of sinks) s.notify(event);
    },
    pending: () => sinks.reduce((n, s) => n + s.pending(), 0),
    async close(timeoutMs?: number): Promise<void> {
      await Promise.all(sinks.map((s) => s.close(timeoutMs)));
    },
  };
}
