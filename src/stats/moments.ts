/**
 * Mergeable moments of a set of values: count, mean and M2 (sum of squared deviations from the
 * mean). Moments of disjoint sets merge (Chan et al.) into the moments of their union, so that
 * aggregates computed per file (per shard) combine into the aggregate of all files.
 */

export interface Moments {
  n: number;
  mean: number;
  m2: number;
}

/** Summary statistics of a set of values, per METRICS.md: sd uses n - 1 and is null when n < 2. */
export interface Summary {
  n: number;
  mean: number | null;
  sd: number | null;
  se: number | null;
}

export const EMPTY_MOMENTS: Moments = { n: 0, mean: 0, m2: 0 };

/** Moments of an array of values (Welford's update). */
export function momentsOf(values: ArrayLike<number>): Moments {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    n++;
    const d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }
  return { n, mean, m2 };
}

/** Moments of the union of two disjoint sets. */
export function mergeMoments(a: Moments, b: Moments): Moments {
  if (a.n === 0) return { ...b };
  if (b.n === 0) return { ...a };
  const n = a.n + b.n;
  const d = b.mean - a.mean;
  return { n, mean: a.mean + (d * b.n) / n, m2: a.m2 + b.m2 + (d * d * a.n * b.n) / n };
}

/** n, mean, sample sd (n - 1; null when n < 2) and se = sd / sqrt(n). */
export function summarize(m: Moments): Summary {
  if (m.n === 0) return { n: 0, mean: null, sd: null, se: null };
  if (m.n < 2) return { n: m.n, mean: m.mean, sd: null, se: null };
  const sd = Math.sqrt(Math.max(0, m.m2) / (m.n - 1));
  return { n: m.n, mean: m.mean, sd, se: sd / Math.sqrt(m.n) };
}
