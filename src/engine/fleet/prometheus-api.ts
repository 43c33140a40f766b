// The few calls the fleet view makes to Prometheus's HTTP API (GET /api/v1/query): instant
// vectors only, each bounded by a timeout. Prometheus is the source of truth for the fleet; this
// module only reads it.

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export class PrometheusError extends Error {}

interface QueryAnswer {
  status: 'success' | 'error';
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  error?: string;
  errorType?: string;
}

export interface PromOptions {
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer` when Prometheus sits behind an authenticating proxy. */
  token?: string | null;
}

export async function instantQuery(base: string, promql: string, opts: PromOptions = {}): Promise<Sample[]> {
  const url = `${base.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(promql)}`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    const name = (err as Error).name;
    throw new PrometheusError(
      name === 'TimeoutError' ? `Prometheus at ${base} did not answer within ${opts.timeoutMs ?? 5000} ms` : `Prometheus at ${base}: ${cause ?? (err as Error).message}`,
    );
  }
  let body: QueryAnswer;
  try {
    body = (await res.json()) as QueryAnswer;
  } catch {
    throw new PrometheusError(`Prometheus at ${base}: HTTP ${res.status}, not a Prometheus API answer`);
  }
  if (body.status !== 'success' || !body.data) throw new PrometheusError(`Prometheus at ${base}: ${body.errorType ?? 'error'}: ${body.error ?? `HTTP ${res.status}`}`);
  if (body.data.resultType !== 'vector') throw new PrometheusError(`Prometheus at ${base}: expected a vector for ${promql}, got ${body.data.resultType}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}
