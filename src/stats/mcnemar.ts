/**
 * McNemar's exact test for paired binary outcomes (McNemar, Psychometrika 12:153-157, 1947, in its
 * exact conditional form; METRICS.md 4). Of the n pairs, b are positive under A only and c under B
 * only; under the null hypothesis each of the b + c discordant pairs is A-only with probability 1/2.
 */

/**
 * P(X <= k) for X ~ Binomial(n, 1/2), summed exactly in log space (no overflow for large n).
 * @throws RangeError when n or k is not an integer >= 0.
 */
export function binomCdfHalf(k: number, n: number): number {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(k)) throw new RangeError(`binomCdfHalf: n and k must be integers, n >= 0 (got k ${k}, n ${n})`);
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (n <= 1000) {
    // C(n, i) as doubles: exact integers while below 2^53, and 2^n is exact: small tables come out exact.
    let c = 1;
    let s = 1;
    for (let i = 1; i <= k; i++) {
      c = (c * (n - i + 1)) / i;
      s += c;
    }
    return Math.min(1, s / 2 ** n);
  }
  // Large n: log C(n, i) term by term, summed relative to the largest term.
  const logs: number[] = [];
  let lc = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) lc += Math.log(n - i + 1) - Math.log(i);
    logs.push(lc - n * Math.LN2);
  }
  const max = Math.max(...logs);
  let s = 0;
  for (const l of logs) s += Math.exp(l - max);
  return Math.min(1, s * Math.exp(max));
}

/**
 * The two-sided exact McNemar p-value: min(1, 2 BinomCDF(min(b, c); b + c, 1/2)); 1 when b + c = 0.
 * @param b pairs positive under A only (discordant)
 * @param c pairs positive under B only (discordant)
 * @example mcnemarExact(1, 7) // 2 * (1 + 8) / 256 = 0.0703125
 * @throws RangeError for counts that are not integers >= 0.
 */
export function mcnemarExact(b: number, c: number): number {
  for (const v of [b, c]) if (!Number.isInteger(v) || v < 0) throw new RangeError(`mcnemarExact: counts must be integers >= 0, got ${v}`);
  if (b + c === 0) return 1;
  return Math.min(1, 2 * binomCdfHalf(Math.min(b, c), b + c));
}
