/**
 * Run comparison: one row per run with where its update concentrates (E_k, d50, d90 with bootstrap
 * intervals, on one probe set), its final loss on each probe set, and its attack success rates.
 */
import { attackSuccess, Interval as AsrInterval, wilson } from "../attacks/asr";
import type { AttackRecord } from "../attacks/load";
import { sqlIdent } from "../load/engine";
import type { TokenLogs } from "../load";
import type { Interval } from "./bootstrap";
import { summary } from "./summary";

export interface CompareOptions {
  /** Metric of the update (default `loss`). */
  metric?: string;
  /** Early share counts positions < k (default 5). */
  k?: number;
  /** Bootstrap replicates (default 1000; 0 for no intervals). */
  bootstrap?: number;
  seed?: number;
  minPairs?: number;
  /** Label column naming each example's probe set (default `split`). */
  splitField?: string;
  /**
   * Probe set whose update E_k, d50 and d90 describe. Default `"refusal"` when the logs have that
   * value of the split column (shallow alignment shows on the refusal probes), else all tokens;
   * null for all tokens.
   */
  split?: string | null;
  /** Only these runs (default all). */
  runs?: string[];
  /** Metric averaged at the final step per probe set (default `loss`). */
  lossMetric?: string;
  /** Attack results to summarize per run (optional). */
  attacks?: readonly AttackRecord[];
  /** Prefilling depth reported for attacks whose records have `k` (default: the run's largest k). */
  prefillK?: number;
}

/** One attack's success for a run. */
export interface AttackSummary {
  attack: string;
  /** What `asr` is: `k=10` (one condition) or `mean over N conditions`. */
  condition: string;
  /** Conditions averaged. */
  conditions: number;
  /** Records behind it (pooled over the conditions). */
  n: number;
  harmful: number;
  /** ASR at the chosen k, or the unweighted mean of the per-condition ASRs. */
  asr: number | null;
  /** 95% Wilson interval when `asr` is one condition's; null for a mean over several. */
  ci: AsrInterval | null;
}

export interface RunComparison {
  run: string;
  /** Probe set of the update statistics (null: all tokens). */
  split: string | null;
  from: number;
  to: number;
  /** Examples paired between `from` and `to` in that probe set. */
  examples: number;
  early_share: number | null;
  d50: number | null;
  d90: number | null;
  ci: { early_share: Interval; d50: Interval; d90: Interval };
  /** The run's last step, where `final_loss` is measured. */
  final_step: number;
  /** Token-weighted mean of `lossMetric` at the last step, per probe set (`all` when the logs have no split column). */
  final_loss: Record<string, number | null>;
  /** Attack success per attack (empty without attack records for the run). */
  asr: Record<string, AttackSummary>;
}

/**
 * Compares runs side by side.
 * @example
 * const rows = await compareRuns(logs, { k: 5, bootstrap: 1000, seed: 0, attacks: records });
 * rows.map((r) => [r.run, r.early_share, r.d90, r.final_loss.refusal, r.asr.prefill?.asr]);
 */
export async function compareRuns(logs: TokenLogs, opts: CompareOptions = {}): Promise<RunComparison[]> {
  const splitField = opts.splitField ?? "split";
  const hasSplit = logs.labels.includes(splitField);
  let split: string | null = null;
  if (opts.split !== undefined) split = opts.split;
  else if (hasSplit) {
    const r = await logs.engine.rows<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${logs.table} WHERE CAST(${sqlIdent(splitField)} AS VARCHAR) = $v`, { v: "refusal" });
    if (r[0].n > 0) split = "refusal";
  }
  const sums = await summary(logs, {
    metric: opts.metric,
    k: opts.k,
    bootstrap: opts.bootstrap,
    seed: opts.seed,
    minPairs: opts.minPairs,
    runs: opts.runs,
    where: split === null ? undefined : { [splitField]: split },
  });
  const finals = await finalLoss(logs, { lossMetric: opts.lossMetric ?? "loss", splitField: hasSplit ? splitField : null, runs: opts.runs });
  return sums.map((s) => ({
    run: s.run,
    split,
    from: s.from,
    to: s.to,
    examples: s.examples,
    early_share: s.early_share,
    d50: s.d50,
    d90: s.d90,
    ci: s.ci,
    final_step: finals.get(s.run)?.step ?? s.to,
    final_loss: finals.get(s.run)?.loss ?? {},
    asr: opts.attacks ? attackSummaries(opts.attacks.filter((r) => r.run === s.run), opts.prefillK) : {},
  }));
}

/** Mean of a metric at each run's last step, per value of the split column. */
async function finalLoss(
  logs: TokenLogs,
  o: { lossMetric: string; splitField: string | null; runs?: string[] },
): Promise<Map<string, { step: number; loss: Record<string, number | null> }>> {
  const m = sqlIdent(logs.metric(o.lossMetric));
  const splitCol = o.splitField === null ? `'all'` : `COALESCE(CAST(x.${sqlIdent(o.splitField)} AS VARCHAR), '(none)')`;
  const rows = await logs.engine.rows<{ run: string; step: number; split: string; mean: number | null }>(
    `WITH last AS (SELECT run, max(step) AS step FROM ${logs.table} WHERE ${m} IS NOT NULL GROUP BY run)
     SELECT x.run, l.step, ${splitCol} AS split, avg(x.${m}) AS mean
     FROM ${logs.table} x JOIN last l ON x.run = l.run AND x.step = l.step WHERE x.${m} IS NOT NULL
     GROUP BY x.run, l.step, split ORDER BY x.run, split`,
  );
  const out = new Map<string, { step: number; loss: Record<string, number | null> }>();
  for (const r of rows) {
    if (o.runs && !o.runs.includes(r.run)) continue;
    const e = out.get(r.run) ?? { step: r.step, loss: {} };
    e.loss[r.split] = r.mean;
    out.set(r.run, e);
  }
  return out;
}

/**
 * One run's attack success per attack: for an attack whose records have `k` (prefilling), the ASR
 * at `prefillK` (default the largest k); otherwise the unweighted mean of the per-condition ASRs.
 */
export function attackSummaries(records: readonly AttackRecord[], prefillK?: number): Record<string, AttackSummary> {
  const out: Record<string, AttackSummary> = {};
  const attacks = [...new Set(records.map((r) => r.attack))].sort();
  for (const attack of attacks) {
    let mine = records.filter((r) => r.attack === attack);
    let condition: string | null = null;
    if (mine.some((r) => r.k !== null)) {
      const k = prefillK ?? Math.max(...mine.filter((r) => r.k !== null).map((r) => r.k as number));
      mine = mine.filter((r) => r.k === k);
      condition = `k=${k}`;
    }
    const rows = attackSuccess(mine);
    const n = rows.reduce((a, r) => a + r.n, 0);
    const harmful = rows.reduce((a, r) => a + r.harmful, 0);
    const asrs = rows.map((r) => r.asr).filter((a): a is number => a !== null);
    out[attack] = {
      attack,
      condition: condition !== null && rows.length <= 1 ? condition : rows.length === 1 ? "one condition" : `mean over ${rows.length} conditions${condition ? ` (${condition})` : ""}`,
      conditions: rows.length,
      n,
      harmful,
      asr: asrs.length ? asrs.reduce((a, b) => a + b, 0) / asrs.length : null,
      ci: rows.length === 1 ? wilson(harmful, n) : null,
    };
  }
  return out;
}
