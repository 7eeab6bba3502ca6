/**
 * Seeded bootstrap of the update mass. Replicates resample examples with replacement (an example
 * keeps all its positions and both steps). Each replicate works on per-example sufficient
 * statistics (the example's per-position differences), never on token rows, so 1000 replicates
 * over 10,000 examples take seconds.
 */
import { quantileSorted } from "./bca";
import { depth, earlyShare } from "./updateMass";

/** Per-example differences m_to - m_from, grouped by example (CSR layout). */
export interface ExampleDiffs {
  /** offsets[e] .. offsets[e + 1] index the entries of example e; length = examples + 1. */
  offsets: Int32Array;
  /** Index into `positionValues` of each entry. */
  positionIndex: Int32Array;
  diffs: Float64Array;
  /** Distinct positions, ascending. */
  positionValues: number[];
}

/** Groups (example, position, diff) rows into per-example diffs. Examples are any ids. */
export function groupDiffs(examples: ArrayLike<string | number>, positions: ArrayLike<number>, diffs: ArrayLike<number>): ExampleDiffs {
  const n = diffs.length;
  const key = (i: number) => String(examples[i]);
  // Rows from the engine come grouped by example already; sort only when they are not.
  let order: number[] | null = null;
  const closed = new Set<string>();
  for (let i = 1; i < n; i++) {
    if (key(i) !== key(i - 1)) {
      closed.add(key(i - 1));
      if (closed.has(key(i))) {
        order = Array.from({ length: n }, (_, j) => j).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
        break;
      }
    }
  }
  const at = (j: number) => (order ? order[j] : j);
  const positionValues = [...new Set(Array.from(positions as ArrayLike<number>))].sort((a, b) => a - b);
  const posIdx = new Map(positionValues.map((p, i) => [p, i]));
  const offsets: number[] = [0];
  const positionIndex = new Int32Array(n);
  const d = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const i = at(j);
    if (j > 0 && key(i) !== key(at(j - 1))) offsets.push(j);
    positionIndex[j] = posIdx.get(positions[i])!;
    d[j] = diffs[i];
  }
  if (n > 0) offsets.push(n);
  return { offsets: Int32Array.from(offsets), positionIndex, diffs: d, positionValues };
}

/** A small, fast, seeded generator (mulberry32): the same seed gives the same sequence everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Percentile (linear interpolation between order statistics, as numpy's default) of sorted values;
 * null when there are none. The same function as bca.ts `quantileSorted` (Hyndman-Fan type 7).
 */
export const percentile: (sorted: ArrayLike<number>, q: number) => number | null = quantileSorted;

export interface BootstrapOptions {
  replicates?: number;
  seed?: number;
  k?: number;
  minPairs?: number;
  /** Interval coverage, default 0.95. */
  level?: number;
}

export type Interval = [number, number] | null;

export interface MassIntervals {
  early_share: Interval;
  d50: Interval;
  d90: Interval;
  /** Replicates in which each statistic was defined (total update > 0). */
  replicates: number;
}

/**
 * Percentile intervals of E_k, d50 and d90 from B bootstrap replicates over examples.
 * Replicates where the statistic is undefined (a total update of 0) are left out of its interval.
 */
export function bootstrapMass(data: ExampleDiffs, opts: BootstrapOptions = {}): MassIntervals {
  const B = opts.replicates ?? 1000;
  const k = opts.k ?? 5;
  const minPairs = opts.minPairs ?? 1;
  const level = opts.level ?? 0.95;
  const nEx = data.offsets.length - 1;
  const P = data.positionValues.length;
  if (nEx <= 0 || B <= 0) return { early_share: null, d50: null, d90: null, replicates: 0 };
  const rand = rng(opts.seed ?? 0);
  const counts = new Int32Array(nEx);
  const W = new Float64Array(P);
  const S = new Float64Array(P);
  const es: number[] = [];
  const d50s: number[] = [];
  const d90s: number[] = [];
  const usedPos: number[] = [];
  const shares: number[] = [];
  for (let b = 0; b < B; b++) {
    counts.fill(0);
    for (let i = 0; i < nEx; i++) counts[Math.floor(rand() * nEx)]++;
    W.fill(0);
    S.fill(0);
    for (let e = 0; e < nEx; e++) {
      const w = counts[e];
      if (w === 0) continue;
      for (let j = data.offsets[e]; j < data.offsets[e + 1]; j++) {
        const p = data.positionIndex[j];
        W[p] += w;
        S[p] += w * data.diffs[j];
      }
    }
    usedPos.length = 0;
    shares.length = 0;
    let total = 0;
    for (let p = 0; p < P; p++) {
      if (W[p] >= minPairs && W[p] > 0) {
        const a = Math.abs(S[p] / W[p]);
        usedPos.push(data.positionValues[p]);
        shares.push(a);
        total += a;
      }
    }
    if (total === 0) continue;
    for (let i = 0; i < shares.length; i++) shares[i] /= total;
    es.push(earlyShare(usedPos, shares, k)!);
    d50s.push(depth(usedPos, shares, 0.5)!);
    d90s.push(depth(usedPos, shares, 0.9)!);
  }
  const lo = (1 - level) / 2;
  const iv = (xs: number[]): Interval => {
    if (xs.length === 0) return null;
    const s = Float64Array.from(xs).sort();
    return [percentile(s, lo)!, percentile(s, 1 - lo)!];
  };
  return { early_share: iv(es), d50: iv(d50s), d90: iv(d90s), replicates: es.length };
}
