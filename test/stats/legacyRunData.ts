// The per-row loadRunData before it moved typed columns (kept as the reference the typed path must equal bit for bit).
/**
 * The per-example data every update statistic is computed from, fetched once per analysis: for
 * each run, the paired differences (m_b - m_a) and starting values m_a by (example, position), and,
 * for a level share, the level metric's values at one checkpoint. Example ids share one numbering
 * across runs, so replicate runs and paired comparisons can draw the same example ids.
 */
import { sqlIdent } from "../../src/load/engine";
import type { TokenLogs } from "../../src/load";
import { ExampleTable, exampleTable, examplesWithEntries } from "../../src/stats/exampleTable";
import { clampLevelValues } from "../../src/stats/levelShare";
import type { RunData } from "../../src/stats/runIntervals";
import { RowFilter, metricQuery } from "../../src/stats/source";
import { UpdateOptions, pairsSql } from "../../src/stats/updateProfile";

export interface LoadedRun {
  run: string;
  from: number;
  to: number;
  data: RunData;
  /** Token rows with the metric at the two steps. */
  tokens: number;
  /** Rows that entered the statistics: two per pair. */
  rowsUsed: number;
  /** Every value of the metric at both steps is >= 0 (the headroom reference needs it). */
  nonNegative: boolean;
  /** Sums of squared differences per position of the pair table (for se). */
  squares: Float64Array;
  /** Level share: the checkpoint used, values set to 0 as float noise, or why it was refused. */
  level?: { metric: string; step: number; clamped: number; refused: string | null; rows: number };
}

export interface RunDataOptions extends UpdateOptions {
  /** A non-negative metric whose level share (METRICS.md 3.5) is computed at `levelStep` (default each run's `to` step). */
  levelMetric?: string;
  levelStep?: number;
}

/**
 * Fetches the per-example data of every run (or `opts.runs`) for the rows `opts.where` selects.
 * @returns runs in name order, and the example numbering they share.
 */
export async function legacyLoadRunData(logs: TokenLogs, opts: RunDataOptions = {}): Promise<{ runs: LoadedRun[]; index: Map<string, number> }> {
  const { sql, boundsSql, params, source, has } = pairsSql(logs, opts);
  const cols = await logs.engine.columns(
    `${sql} SELECT run, CAST(example AS VARCHAR) AS example, "position", diff, va, vb FROM pairs ORDER BY run, example, "position"`,
    params,
  );
  const m = sqlIdent(logs.metric(opts.metric ?? "loss"));
  const bounds = await logs.engine.rows<{ run: string; s_from: number; s_to: number; tokens: number }>(
    `${boundsSql}
     SELECT b.run, b.s_from, b.s_to, count(x.run)::BIGINT AS tokens
     FROM bounds b LEFT JOIN ${source} x ON x.run = b.run AND (x.step = b.s_from OR x.step = b.s_to) AND ${has(`x.${m}`)}
     GROUP BY b.run, b.s_from, b.s_to ORDER BY b.run`,
    params,
  );
  let level: Record<string, unknown[]> | null = null;
  if (opts.levelMetric !== undefined) {
    const lq = metricQuery(logs, { metric: opts.levelMetric, where: opts.where, runs: opts.runs });
    const { params: bp } = pairsSql(logs, opts);
    Object.assign(lq.params, bp);
    if (opts.levelStep !== undefined) lq.params.level_step = opts.levelStep;
    const step = opts.levelStep !== undefined ? "CAST($level_step AS INTEGER)" : "b.s_to";
    level = await logs.engine.columns(
      `${boundsSql}
       SELECT x.run, CAST(x.example AS VARCHAR) AS example, x."position", x.${lq.m} AS value, ${step} AS step
       FROM ${lq.source} x JOIN bounds b ON x.run = b.run AND x.step = ${step} WHERE ${lq.has(`x.${lq.m}`)}
       ORDER BY x.run, example, x."position"`,
      lq.params,
    );
  }
  const index = new Map<string, number>();
  const runsCol = cols.run as string[];
  const out: LoadedRun[] = [];
  const slice = (c: Record<string, unknown[]>, run: string) => {
    const r = c.run as string[];
    const lo = r.indexOf(run);
    if (lo < 0) return [0, 0];
    let hi = lo;
    while (hi < r.length && r[hi] === run) hi++;
    return [lo, hi];
  };
  for (const b of bounds) {
    const [lo, hi] = slice(cols, b.run);
    const ex = (cols.example as string[]).slice(lo, hi);
    const pos = (cols.position as number[]).slice(lo, hi);
    const diff = Float64Array.from((cols.diff as number[]).slice(lo, hi));
    const va = (cols.va as number[]).slice(lo, hi);
    const vb = (cols.vb as number[]).slice(lo, hi);
    let nonNegative = true;
    for (let i = 0; i < va.length; i++) if (va[i] < 0 || vb[i] < 0) nonNegative = false;
    const pairs = exampleTable(ex, pos, [diff, Float64Array.from(va)], index);
    const squares = new Float64Array(pairs.positionValues.length);
    const at = new Map(pairs.positionValues.map((p, i) => [p, i]));
    for (let i = 0; i < pos.length; i++) squares[at.get(pos[i])!] += diff[i] * diff[i];
    let levelTable: ExampleTable | null = null;
    let levelInfo: LoadedRun["level"];
    if (level) {
      const [l0, l1] = slice(level, b.run);
      const values = Float64Array.from((level.value as number[]).slice(l0, l1));
      const c = clampLevelValues(values);
      const step = l1 > l0 ? Number((level.step as number[])[l0]) : (opts.levelStep ?? b.s_to);
      levelInfo = { metric: opts.levelMetric!, step, clamped: c.clamped, refused: null, rows: l1 - l0 };
      if (c.refused) levelInfo.refused = `${c.refused.count} values of ${opts.levelMetric} are negative (down to ${c.refused.min}), below -1e-6 max|m|: not a non-negative metric, no level share`;
      else levelTable = exampleTable((level.example as string[]).slice(l0, l1), (level.position as number[]).slice(l0, l1), [values], index);
    }
    out.push({ run: b.run, from: b.s_from, to: b.s_to, data: { pairs, level: levelTable, pool: new Int32Array(0) }, tokens: Number(b.tokens), rowsUsed: 2 * (hi - lo), nonNegative, squares, level: levelInfo });
  }
  // Tables built before later runs added ids: pad offsets so every table spans the whole numbering.
  for (const r of out) {
    r.data.pairs = pad(r.data.pairs, index);
    if (r.data.level) r.data.level = pad(r.data.level, index);
    r.data.pool = Int32Array.from(examplesWithEntries(r.data.pairs, ...(r.data.level ? [r.data.level] : [])));
  }
  return { runs: out, index };
}

/** The same table with ids (and empty offsets) for every example of the shared numbering. */
function pad(t: ExampleTable, index: Map<string, number>): ExampleTable {
  if (t.ids.length === index.size) return t;
  const ids = new Array<string>(index.size);
  for (const [id, e] of index) ids[e] = id;
  const offsets = new Int32Array(index.size + 1);
  offsets.set(t.offsets);
  offsets.fill(t.offsets[t.offsets.length - 1], t.offsets.length);
  return { ...t, ids, offsets };
}

export type { RowFilter };
