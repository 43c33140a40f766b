// State of the services Odoo needs (config.services: PostgreSQL, Redis, nginx by default).
// A protocol answer beats any process list: PostgreSQL gets an SSLRequest (answered 'S'/'N' before
// any authentication, and not logged), Redis a PING, others a TCP connect. Unit state comes from
// systemd only when systemd is PID 1; otherwise process names from /proc/*/comm. A service that is
// not installed at all (no unit, no process, nothing listening, no binary) is 'absent', not down.
import { execFile } from 'node:child_process';
import { access, constants, readdir, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { ServiceSpec } from '../config/types.js';
import type { Finding } from '../core/types.js';
import { netReason, parseHostPort, tcpExchange } from './network.js';
import { createOdooScanner, type OdooScanner } from './odoo-scan.js';
import { statusOfFindings } from './types.js';
import { PROC_ROOT } from './proc.js';
import type { Probe, ProbeContext, ProbeOutput } from './types.js';

export type ServiceState = 'running' | 'stopped' | 'failed' | 'absent';

export type ProtocolKind = 'postgres' | 'redis' | 'tcp';

export interface ProtocolCheck {
  kind: ProtocolKind;
  target: string;
  ok: boolean;
  latencyMs: number | null;
  detail: string;
}

export interface UnitState {
  load: string;
  active: string;
  sub: string;
}

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  /** What decided the state. */
  via: 'systemd' | 'process' | 'protocol' | 'binary';
  unit: UnitState | null;
  pids: number[];
  check: ProtocolCheck | null;
  detail: string;
}

export interface ServicesData {
  systemd: boolean;
  services: ServiceStatus[];
}

export interface ServicesProbeOptions {
  /** Its existence means systemd is PID 1 (sd_booted(3) checks the same directory). */
  systemdDir?: string;
  /** systemctl executable; tests pass a stand-in script. */
  systemctl?: string;
  procRoot?: string;
  /** The round's shared /proc scan (hostProbes passes the one the process and memory probes use). */
  scanner?: OdooScanner;
  /** Where to look for a service's binary when nothing runs; default: PATH plus sbin and PostgreSQL dirs. */
  binDirs?: string[];
}

function protocolOf(spec: ServiceSpec): ProtocolKind {
  const words = [spec.name, spec.unit, ...spec.processes].join(' ').toLowerCase();
  if (words.includes('redis')) return 'redis';
  if (words.includes('postgres')) return 'postgres';
  return 'tcp';
}

/** SSLRequest: length 8, code 80877103. The server answers one byte before asking for credentials. */
const PG_SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export async function protocolCheck(kind: ProtocolKind, target: string, timeoutMs: number, signal: AbortSignal): Promise<ProtocolCheck> {
  const hp = parseHostPort(target);
  if (!hp) return { kind, target, ok: false, latencyMs: null, detail: `not host:port: ${target}` };
  try {
    if (kind === 'redis') {
      const r = await tcpExchange(hp, { payload: 'PING\r\n', done: (b) => b.includes('\r\n'), timeoutMs, signal });
      const line = r.received.toString('utf8').split('\r\n', 1)[0] ?? '';
      if (line === '+PONG') return { kind, target, ok: true, latencyMs: r.latencyMs, detail: 'PING: +PONG' };
      // -NOAUTH / -DENIED still prove a live Redis: it parsed our command.
      if (line.startsWith('-')) return { kind, target, ok: true, latencyMs: r.latencyMs, detail: `PING: ${line.slice(0, 80)}` };
      return { kind, target, ok: false, latencyMs: r.latencyMs, detail: `PING answered ${JSON.stringify(line.slice(0, 40))}, not Redis` };
    }
    if (kind === 'postgres') {
      const r = await tcpExchange(hp, { payload: PG_SSL_REQUEST, done: (b) => b.length >= 1, timeoutMs, signal });
      const c = String.fromCharCode(r.received[0] ?? 0);
      if (c === 'S' || c === 'N') return { kind, target, ok: true, latencyMs: r.latencyMs, detail: `SSLRequest answered '${c}'` };
      return { kind, target, ok: false, latencyMs: r.latencyMs, detail: 'SSLRequest got no PostgreSQL answer' };
    }
    const r = await tcpExchange(hp, { timeoutMs, signal });
    return { kind, target, ok: true, latencyMs: r.latencyMs, detail: 'TCP connect ok' };
  } catch (err) {
    return { kind, target, ok: false, latencyMs: null, detail: netReason(err) };
  }
}

/** `systemctl show` (not `is-active`): it also tells a missing unit (LoadState=not-found) apart. */
function systemctlShow(bin: string, unit: string, timeoutMs: number, signal: AbortSignal): Promise<UnitState | null> {
  return new Promise((resolve) => {
    execFile(
      bin,
      ['show', '--property=LoadState,ActiveState,SubState', '--', unit],
      { timeout: timeoutMs, signal, env: { ...process.env, SYSTEMD_PAGER: '', LC_ALL: 'C' } },
      (err, stdout) => {
        // systemctl failing to talk to PID 1 (container, no D-Bus) means "ask /proc instead".
        if (err) return resolve(null);
        const props = new Map(
          String(stdout)
            .split('\n')
            .map((l) => l.split('=', 2) as [string, string | undefined])
            .filter((kv): kv is [string, string] => kv[1] !== undefined),
        );
        const load = props.get('LoadState');
        const active = props.get('ActiveState');
        if (!load || !active) return resolve(null);
        resolve({ load, active, sub: props.get('SubState') ?? '' });
      },
    );
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function defaultBinDirs(): Promise<string[]> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  dirs.push('/usr/sbin', '/usr/local/sbin', '/sbin');
  // Debian/Ubuntu keep the PostgreSQL server binaries out of PATH.
  try {
    for (const v of await readdir('/usr/lib/postgresql')) dirs.push(join('/usr/lib/postgresql', v, 'bin'));
  } catch {
    /* no Debian PostgreSQL layout */
  }
  return [...new Set(dirs)];
}

async function hasBinary(names: readonly string[], dirs: readonly string[]): Promise<boolean> {
  for (const d of dirs)
    for (const n of names) {
      try {
        await access(join(d, n), constants.X_OK);
        return true;
      } catch {
        /* keep looking */
      }
    }
  return false;
}

/** pid lists per comm name (comm is truncated to 15 characters by the kernel). */
async function processesByComm(scanner: OdooScanner, names: ReadonlySet<string>): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (names.size === 0) return out;
  for (const [pid, p] of (await scanner.scan()).processes) {
    if (names.has(p.comm)) out.set(p.comm, [...(out.get(p.comm) ?? []), pid]);
  }
  return out;
}

/** How long an "is it installed?" answer is reused. It only tells "stopped" from "absent" for a
 * service with no unit, no process and no listener, and packages come and go rarely; an access()
 * per PATH directory for each such service, every round, showed in --auto's idle profile. */
const INSTALLED_RECHECK_MS = 5 * 60_000;

export function createServicesProbe(opts: ServicesProbeOptions = {}): Probe<ServicesData> {
  const systemdDir = opts.systemdDir ?? '/run/systemd/system';
  const systemctl = opts.systemctl ?? 'systemctl';
  const scanner = opts.scanner ?? createOdooScanner({ root: opts.procRoot ?? PROC_ROOT });
  const installed = new Map<string, { found: boolean; at: number }>();
  let binDirs: { dirs: string[]; at: number } | null = null;

  async function isInstalled(names: readonly string[]): Promise<boolean> {
    const key = names.join('\0');
    const known = installed.get(key);
    if (known && Date.now() - known.at < INSTALLED_RECHECK_MS) return known.found;
    if (!opts.binDirs && (!binDirs || Date.now() - binDirs.at >= INSTALLED_RECHECK_MS)) binDirs = { dirs: await defaultBinDirs(), at: Date.now() };
    const found = await hasBinary(names, opts.binDirs ?? binDirs?.dirs ?? []);
    installed.set(key, { found, at: Date.now() });
    return found;
  }

  return {
    name: 'services',
    async run(ctx: ProbeContext, signal: AbortSignal): Promise<ProbeOutput<ServicesData>> {
      const specs = ctx.config.services;
      const each = Math.max(100, Math.floor(ctx.config.probes.timeoutMs * 0.8));
      const systemd = await exists(systemdDir);
      const comms = new Set(specs.flatMap((s) => s.processes.map((p) => p.slice(0, 15))));
      const byComm = await processesByComm(scanner, comms);

      const services = await Promise.all(
        specs.map(async (spec): Promise<ServiceStatus> => {
          const [unit, check] = await Promise.all([
            systemd ? systemctlShow(systemctl, spec.unit, each, signal) : Promise.resolve(null),
            spec.tcp ? protocolCheck(protocolOf(spec), spec.tcp, each, signal) : Promise.resolve(null),
          ]);
          const pids = spec.processes.flatMap((p) => byComm.get(p.slice(0, 15)) ?? []).sort((a, b) => a - b);
          const base = { name: spec.name, unit, pids, check };
          const checkFailed = check !== null && !check.ok;
          const checkText = check ? `${check.target} ${check.detail}` : '';

          if (unit && unit.load !== 'not-found') {
            const unitText = `unit ${spec.unit} ${unit.active}${unit.sub ? ` (${unit.sub})` : ''}`;
            if (unit.active === 'active' || unit.active === 'reloading' || unit.active === 'activating') {
              if (checkFailed) return { ...base, state: 'failed', via: 'protocol', detail: `${unitText} but ${checkText}` };
              return { ...base, state: 'running', via: 'systemd', detail: check ? `${unitText}, ${checkText}` : unitText };
            }
            // Debian's `postgresql` unit is a wrapper; the cluster may run under postgresql@15-main.
            if (check?.ok) return { ...base, state: 'running', via: 'protocol', detail: `${checkText} (${unitText})` };
            return { ...base, state: unit.active === 'failed' ? 'failed' : 'stopped', via: 'systemd', detail: checkFailed ? `${unitText}, ${checkText}` : unitText };
          }

          if (check?.ok) return { ...base, state: 'running', via: 'protocol', detail: checkText };
          if (pids.length > 0) {
            if (checkFailed) return { ...base, state: 'failed', via: 'protocol', detail: `process ${pids.join(',')} runs but ${checkText}` };
            return { ...base, state: 'running', via: 'process', detail: `process ${spec.processes.join('/')} pid ${pids.join(',')}` };
          }
          if (await isInstalled(spec.processes)) {
            return { ...base, state: 'stopped', via: 'binary', detail: `installed but not running${check ? `; ${checkText}` : ''}` };
          }
          return { ...base, state: 'absent', via: 'binary', detail: 'not installed (no unit, process, listener or binary)' };
        }),
      );

      const findings: Finding[] = services
        .filter((s) => s.state === 'stopped' || s.state === 'failed')
        .map((s) => ({
          key: `service:${s.name}`,
          severity: 'critical',
          title: `${s.name} ${s.state === 'failed' ? 'is failing' : 'is not running'}`,
          detail: s.detail,
          hint: s.name.includes('postgres')
            ? 'Odoo cannot serve anything without PostgreSQL: check its log (disk full, bad config) before restarting.'
            : `Check the ${s.name} log, then restart it.`,
          category: s.name.includes('postgres') ? 'database' : 'other',
          fix: { id: 'restart-service', params: { service: s.name }, unattended: true },
        }));
      const summary = services.length === 0 ? 'no services configured' : services.map((s) => `${s.name} ${s.state}`).join(', ');
      return { status: statusOfFindings(findings), summary, findings, data: { systemd, services } };
    },
  };
}
