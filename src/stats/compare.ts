/**
 * Run comparison: one row per run with where its update concentrates (the summary's statistics,
 * N_k first, on one probe set), its final loss on each probe set, and its attack success rates.
 */
import { AsrRow, attackSuccess, Interval as AsrInterval } from "../attacks/asr";
import type { AttackRecord } from "../attacks/load";
import { sqlIdent } from "../load/engine";
import type { TokenLogs } from "../load";
import type { IntervalMethod } from "./bca";
import { RunSummary, summary } from "./summary";

export interface CompareOptions {
  /** Metric of the update (default `loss`). */
  metric?: string;
  /** Early share counts positions < k (default 5). */
  k?: number;
  /** Bootstrap replicates (default 1000; 0 for no intervals). */
  bootstrap?: number;
  seed?: number;
  /** Interval method (default "bca"). */
  interval?: IntervalMethod;
  minPairs?: number;
  /** Label column naming each example's probe set (default `split`). */
  splitField?: string;
  /**
   * Probe set whose update the statistics describe. Default `"harmful"` when the logs have that value
   * of the split column (probes whose answer alignment must change: METRICS.md 6), else one row per
   * run and probe set; null for all tokens pooled.
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
  /**
   * 95% interval when `asr` is one condition's, by the rule of `attackSuccess` (METRICS 4): Wilson
   * with one record per example, the cluster bootstrap over examples with several; null for a mean
   * over several conditions.
   */
  ci: AsrInterval | null;
  /** How `ci` was computed (see `AsrRow.ci_method`); null with no interval. */
  ci_method: AsrRow["ci_method"];
}

export interface RunComparison extends RunSummary {
  /** Probe set of the update statistics (null: all tokens). */
  split: string | null;
  /** The run's last step, where `final_loss` is measured. */
  final_step: number;
  /** Token-weighted mean of `lossMetric` at the last step, per probe set (`all` when the logs have no split column). */
  final_loss: Record<string, number | null>;
  /** Attack success per attack (empty without attack records for the run). */
  asr: Record<string, AttackSummary>;
}

/**
 * Compares runs side by side: every statistic of `summary` (net share N_k first), the final loss per
 * probe set and the attack success rates. With a probe-set label and no `split`, the `harmful`
 * probes when the logs have them (where shallow alignment shows, METRICS.md 6), else one row per
 * run and probe set. Whether two runs differ is a paired test: `compareUpdates`.
 * @example
 * const rows = await compareRuns(logs, { k: 5, bootstrap: 1000, seed: 0, attacks: records });
 * rows.map((r) => [r.run, r.net_early_share, r.z90, r.final_loss.harmful, r.asr.prefill?.asr]);
 */
export async function compareRuns(logs: TokenLogs, opts: CompareOptions = {}): Promise<RunComparison[]> {
  const splitField = opts.splitField ?? "split";
  const hasSplit = logs.labels.includes(splitField);
  let split: string | null = null;
  if (opts.split !== undefined) split = opts.split;
  else if (hasSplit) {
    const r = await logs.engine.rows<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${logs.table} WHERE CAST(${sqlIdent(splitField)} AS VARCHAR) = $v`, { v: "harmful" });
    if (Number(r[0].n) > 0) split = "harmful";
  }
  const sums = await summary(logs, {
    metric: opts.metric,
    k: opts.k,
    bootstrap: opts.bootstrap,
    seed: opts.seed,
    minPairs: opts.minPairs,
    runs: opts.runs,
    interval: opts.interval,
    probeSetField: splitField,
    probeSets: opts.split === null ? "pooled" : "separate",
    where: split === null ? undefined : { [splitField]: split },
  });
  const finals = await finalLoss(logs, { lossMetric: opts.lossMetric ?? "loss", splitField: hasSplit ? splitField : null, runs: opts.runs });
  return sums.map((s) => ({
    ...s,
    split: s.probe_set,
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
      ci: rows.length === 1 ? rows[0].ci : null,
      ci_method: rows.length === 1 ? rows[0].ci_method : null,
    };
  }
  return out;
}
