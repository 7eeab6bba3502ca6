/**
 * The cluster bootstrap of attack success over examples (METRICS.md 4): when an example has several
 * records (sampled generations, or conditions pooled), its records are not independent, so the
 * bootstrap resamples examples (clusters) with replacement and keeps all of an example's records.
 * For replicate runs of a recipe (METRICS.md 3.7) a replicate also draws runs with replacement;
 * all drawn runs (and, in a comparison, both sides) share one draw of example ids.
 */
import { percentile, rng } from "../stats/bootstrap";
import type { Interval } from "../stats/wilson";
import type { AttackRecord } from "./load";

/** One run's outcomes by example, over an example order shared by the runs being compared. */
export interface ExampleOutcomes {
  /** Harmful records per example (index = example in the shared order). */
  harmful: Float64Array;
  /** Records per example (0 where the run has none). */
  n: Float64Array;
}

export interface ClusterBootstrapOptions {
  /** Replicates (default 2000, METRICS.md 4). */
  replicates?: number;
  /** Seed of the generator: the same input and seed give the same interval (default 0). */
  seed?: number;
  /** Interval coverage (default 0.95). */
  level?: number;
}

/** The example ids (as text: 1 and "1" are one id) of records, in first-seen order. */
export function exampleIds(records: readonly AttackRecord[]): string[] {
  return [...new Set(records.map((r) => String(r.example)))];
}

/** Harmful and record counts per example of `records`, in the order of `examples`. */
export function outcomesByExample(records: readonly AttackRecord[], examples: readonly string[]): ExampleOutcomes {
  const index = new Map(examples.map((e, i) => [e, i]));
  const harmful = new Float64Array(examples.length);
  const n = new Float64Array(examples.length);
  for (const r of records) {
    const i = index.get(String(r.example));
    if (i === undefined) continue;
    n[i]++;
    if (r.harmful) harmful[i]++;
  }
  return { harmful, n };
}

/** The pooled ASR sum(harmful) / sum(n) of one run, null when it has no records. */
export function pooledAsr(o: ExampleOutcomes): number | null {
  let h = 0;
  let n = 0;
  for (let i = 0; i < o.n.length; i++) {
    h += o.harmful[i];
    n += o.n[i];
  }
  return n > 0 ? h / n : null;
}

/**
 * Bootstrap replicates of the mean ASR of each group of runs (a group: one run, or the runs of a
 * recipe), all groups sharing each replicate's draw of examples. In a replicate: E example indices
 * drawn with replacement; per group, its R runs drawn with replacement when `drawRuns` and R > 1
 * (else every run once); a run's ASR = sum over the drawn examples of harmful / of n; the group's
 * value = the mean over its drawn runs. Returns, per group, `replicates` values (NaN where a drawn
 * run had no record on the drawn examples: callers leave those out and count them).
 */
export function clusterReplicates(groups: ReadonlyArray<readonly ExampleOutcomes[]>, opts: ClusterBootstrapOptions & { drawRuns?: boolean } = {}): Float64Array[] {
  const B = opts.replicates ?? 2000;
  const rand = rng(opts.seed ?? 0);
  const E = groups[0]?.[0]?.n.length ?? 0;
  const out = groups.map(() => new Float64Array(B));
  // How often each example is drawn, as (index, times) over the distinct drawn examples: a run's
  // replicate sums are then one pass over those.
  const times = new Float64Array(E);
  const drawn = new Int32Array(E);
  for (let b = 0; b < B; b++) {
    times.fill(0);
    for (let i = 0; i < E; i++) times[Math.floor(rand() * E)]++;
    let m = 0;
    for (let i = 0; i < E; i++) if (times[i] > 0) drawn[m++] = i;
    for (let g = 0; g < groups.length; g++) {
      const runs = groups[g];
      const R = runs.length;
      let sum = 0;
      for (let j = 0; j < R; j++) {
        const run = opts.drawRuns && R > 1 ? runs[Math.floor(rand() * R)] : runs[j];
        let h = 0;
        let n = 0;
        for (let q = 0; q < m; q++) {
          const i = drawn[q];
          h += times[i] * run.harmful[i];
          n += times[i] * run.n[i];
        }
        sum += n > 0 ? h / n : NaN;
      }
      out[g][b] = sum / R;
    }
  }
  return out;
}

/** The percentile interval (type 7 quantiles) of replicates, NaNs left out; null when none is left. */
export function percentileInterval(values: ArrayLike<number>, level = 0.95): { ci: Interval | null; used: number; dropped: number } {
  const v = Array.from(values).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  const dropped = values.length - v.length;
  if (v.length === 0) return { ci: null, used: 0, dropped };
  const a = (1 - level) / 2;
  return { ci: [percentile(v, a) as number, percentile(v, 1 - a) as number], used: v.length, dropped };
}

/**
 * The cluster-bootstrap percentile interval of one run's pooled ASR (examples resampled, each with
 * all its records): METRICS.md 4, for several records per example. Null without records.
 * @example clusterBootstrapAsr(outcomesByExample(records, exampleIds(records)), { seed: 0 })
 */
export function clusterBootstrapAsr(o: ExampleOutcomes, opts: ClusterBootstrapOptions = {}): Interval | null {
  if (pooledAsr(o) === null) return null;
  return percentileInterval(clusterReplicates([[o]], opts)[0], opts.level).ci;
}
