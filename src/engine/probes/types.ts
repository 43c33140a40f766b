// The contract of a probe: one bounded look at one part of the host.
import type { Config, OdooConf } from '../config/types.js';
import type { Finding, ProbeName, ProbeResult, Status } from '../core/types.js';

/** A probe's status from its findings: the worst severity, info counting as ok. */
export function statusOfFindings(findings: readonly Finding[]): Exclude<Status, 'unknown'> {
  if (findings.some((f) => f.severity === 'critical')) return 'critical';
  if (findings.some((f) => f.severity === 'warning')) return 'warning';
  return 'ok';
}

export interface ProbeContext {
  config: Config;
  odoo: OdooConf;
  now(): number;
  /** Odoo's main pid at the last process probe, when known (the version is asked again when it changes). */
  odooPid?: number | null;
  /** Something else suggests trouble (or a fix verifies): probes with their own interval run now. */
  urgent?: boolean;
  /** Called with each request sent to Odoo, so that its access line in Odoo's log is known as ours. */
  noteRequest?(method: 'GET' | 'POST', path: string): void;
}

/** What a probe's run returns; the runner adds name, timing and turns throws/timeouts into 'unknown'. */
export interface ProbeOutput<D> {
  status: Status;
  summary: string;
  findings: Finding[];
  data: D | null;
}

export interface Probe<D = unknown> {
  name: ProbeName;
  /** Must stop promptly when `signal` aborts (the runner's per-probe timeout). */
  run(ctx: ProbeContext, signal: AbortSignal): Promise<ProbeOutput<D>>;
  /** Releases long-lived resources (pg pool, sockets). */
  close?(): Promise<void>;
}

export type { ProbeResult };
