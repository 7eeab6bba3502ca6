/**
 * Concentration over training (METRICS.md 3.8): for each checkpoint s after the first, the net early
 * share N_k and interpolated depth z50, and version 1's early share E_k and depths d50/d90, of the
 * update from the first checkpoint to s (per run).
 */
import { RowFilter, metricQuery, stepOr } from "./source";
import type { TokenLogs } from "../load";
import { MassOptions, updateMass } from "./updateMass";
import { netShare } from "./netShare";

export interface ConcentrationRow {
  run: string;
  from: number;
  step: number;
  /** Net early share N_k (METRICS.md 3.4); null when the net change is 0. */
  netEarlyShare: number | null;
  /** Interpolated depth z50 of the net change. */
  z50: number | null;
  /** Version 1's absolute early share E_k (biased toward late positions by noise). */
  earlyShare: number | null;
  d50: number | null;
  d90: number | null;
  /** Examples with at least one pair. */
  examples: number;
}

export interface StepUpdateRow {
  run: string;
  from: number;
  step: number;
  position: number;
  n: number;
  delta: number;
}

/** Mean update from each run's first step (or `from`) to every later step, per position. */
export async function updateByStep(logs: TokenLogs, opts: { metric?: string; runs?: string[]; from?: number; where?: RowFilter } = {}): Promise<StepUpdateRow[]> {
  const { m, params, source: t, runFilter, has } = metricQuery(logs, opts);
  const from = stepOr(opts.from, "from", "min(step)", params);
  return logs.engine.rows<StepUpdateRow>(
    `WITH first AS (SELECT run, ${from} AS f FROM ${t} WHERE ${has()} ${runFilter} GROUP BY run),
     base AS (SELECT x.run, x.example, x."position", x.${m} AS va, f FROM ${t} x JOIN first USING (run) WHERE x.step = first.f AND ${has(`x.${m}`)}),
     later AS (SELECT x.run, x.step, x.example, x."position", x.${m} AS vb FROM ${t} x JOIN first USING (run) WHERE x.step > first.f AND ${has(`x.${m}`)})
     SELECT later.run, any_value(base.f) AS "from", later.step, later."position", count(*)::BIGINT AS n, avg(vb - va) AS delta
     FROM later JOIN base ON later.run = base.run AND later.example = base.example AND later."position" = base."position"
     GROUP BY later.run, later.step, later."position" ORDER BY later.run, later.step, later."position"`,
    params,
  );
}

/** Early share and depths per checkpoint, from `updateByStep` rows (pure). */
export function concentrationFromUpdates(rows: StepUpdateRow[], opts: MassOptions = {}): Omit<ConcentrationRow, "examples">[] {
  const groups = new Map<string, StepUpdateRow[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.run, r.step]);
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()].map((g) => {
    const mass = updateMass(g, opts);
    const used = g.filter((r) => r.n >= (opts.minPairs ?? 1)).sort((a, b) => a.position - b.position);
    const net = netShare(used.map((r) => r.position), used.map((r) => r.delta), opts.k ?? 5);
    return { run: g[0].run, from: g[0].from, step: g[0].step, netEarlyShare: net.netEarlyShare, z50: net.z50, earlyShare: mass.earlyShare, d50: mass.d50, d90: mass.d90 };
  });
}

/**
 * Concentration over training.
 * @example const rows = await concentration(logs, { k: 5 }); // E_5 and d50 of first -> s, for every s
 */
export async function concentration(logs: TokenLogs, opts: MassOptions & { metric?: string; runs?: string[]; from?: number; where?: RowFilter } = {}): Promise<Omit<ConcentrationRow, "examples">[]> {
  return concentrationFromUpdates(await updateByStep(logs, opts), opts);
}
