// Runs probes in parallel, each bounded by its own time budget. A probe that hangs or throws becomes
// an 'unknown' result with a one-line reason; it never delays the others or the caller.
import { errorMessage } from '../core/errors.js';
import type { ProbeName, ProbeResult } from '../core/types.js';
import { createDatabaseProbe } from './database.js';
import { createOdooDbProbe } from './odoo-db/probe.js';
import { createDiskProbe } from './disk.js';
import { createMemoryProbe } from './memory.js';
import { createNetworkProbe } from './network.js';
import { createOdooHttpProbe } from './odoo-http.js';
import { createOdooScanner, createProcessProbe } from './process.js';
import { createServicesProbe } from './services.js';
import type { Probe, ProbeContext, ProbeOutput } from './types.js';

class ProbeTimeout extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = 'ProbeTimeout';
  }
}

/** First line only: results are shown in one-line table cells and panes. */
function oneLine(s: string): string {
  const first = s.split('\n', 1)[0] ?? '';
  return first.trim() === '' ? 'probe failed without a message' : first.trim();
}

export async function runProbe<D>(probe: Probe<D>, ctx: ProbeContext, timeoutMs: number): Promise<ProbeResult<D>> {
  const checkedAt = ctx.now();
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new ProbeTimeout(timeoutMs);
      // Abort first so the probe releases sockets/children; we do not wait for it to notice.
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  let output: ProbeOutput<D>;
  try {
    // `.then` also catches a probe whose run() throws synchronously instead of rejecting.
    const work = Promise.resolve().then(() => probe.run(ctx, controller.signal));
    // A late rejection after the timeout must not become an unhandled rejection.
    work.catch(() => undefined);
    output = await Promise.race([work, deadline]);
  } catch (err) {
    output = { status: 'unknown', summary: oneLine(errorMessage(err)), findings: [], data: null };
  } finally {
    clearTimeout(timer);
  }
  return {
    probe: probe.name,
    status: output.status,
    summary: output.summary,
    checkedAt,
    durationMs: Math.round((performance.now() - started) * 10) / 10,
    findings: output.findings,
    data: output.data,
  };
}

export function runProbes(probes: readonly Probe[], ctx: ProbeContext, timeoutMs: number): Promise<ProbeResult[]> {
  // runProbe never rejects, so Promise.all returns as soon as the slowest budget is spent.
  return Promise.all(probes.map((p) => runProbe(p, ctx, timeoutMs)));
}

export interface HostProbeOptions {
  /** Directory whose presence means systemd is PID 1 (tests point it elsewhere). */
  systemdDir?: string;
  /** systemctl executable (tests use a stand-in script). */
  systemctl?: string;
}

/** The host probes (all but `database`), as fresh stateful instances. The process, memory and
 * services probes share one /proc scan per round. */
export function hostProbes(opts: HostProbeOptions = {}): Probe[] {
  const scanner = createOdooScanner();
  return [
    createProcessProbe({ scanner }),
    createDiskProbe(),
    createMemoryProbe({ scanner }),
    createServicesProbe({ ...opts, scanner }),
    createNetworkProbe(),
    createOdooHttpProbe(),
  ] as Probe[];
}

/** One fresh probe by name, for one-off runs (fixes' verification, `fix`): the odoo_db probe then
 * queries every run (no minute cache) and skips the filestore sample. */
export function probeNamed(name: ProbeName): Probe | undefined {
  if (name === 'database') return createDatabaseProbe() as Probe;
  if (name === 'odoo_db') return createOdooDbProbe({ filestore: 'off', everyRun: true }) as Probe;
  return hostProbes().find((p) => p.name === name);
}
