// The full incidents of one host, from its own HTTP listener (GET /incidents, odoo-heal/incidents@1),
// when the fleet view has a token for it. The instance label Prometheus scrapes is host:port of that
// listener. Everything here came from another machine's logs: the view sanitizes it like log text.
import type { Severity } from '../core/types.js';

export interface RemoteIncident {
  id: string;
  title: string;
  severity: Severity;
  status: string;
  count: number;
  lastSeen: string;
  hint: string;
  rootId?: string | null;
}

const SEVERITIES = new Set(['critical', 'warning', 'info']);

export async function fetchHostIncidents(instance: string, token: string, timeoutMs = 3000): Promise<RemoteIncident[]> {
  // Only host:port: a label is data, never a URL with a path or credentials of its own.
  if (!/^[A-Za-z0-9.\-_[\]:]+$/.test(instance)) throw new Error(`instance ${JSON.stringify(instance)} is not host:port`);
  const res = await fetch(`http://${instance}/incidents`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`GET http://${instance}/incidents: HTTP ${res.status}`);
  const body = (await res.json()) as { format?: string; incidents?: unknown[] };
  if (!String(body.format ?? '').startsWith('odoo-heal/incidents@') || !Array.isArray(body.incidents)) {
    throw new Error(`GET http://${instance}/incidents: not an odoo-heal incidents document`);
  }
  return body.incidents
    .filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null)
    .map((x) => ({
      id: String(x['id'] ?? ''),
      title: String(x['title'] ?? ''),
      severity: (SEVERITIES.has(String(x['severity'])) ? x['severity'] : 'info') as Severity,
      status: String(x['status'] ?? ''),
      count: Number(x['count'] ?? 0),
      lastSeen: String(x['lastSeen'] ?? ''),
      hint: String(x['hint'] ?? ''),
      rootId: typeof x['rootId'] === 'string' ? x['rootId'] : null,
    }))
    .filter((i) => i.status !== 'resolved');
}
