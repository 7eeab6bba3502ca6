/**
 * Holm's step-down adjustment of a family of p-values (Holm, "A simple sequentially rejective
 * multiple test procedure", Scandinavian Journal of Statistics 6:65-70, 1979; METRICS.md 4).
 *
 * Sorted p(1) <= ... <= p(m): p_adj(i) = max over j <= i of min(1, (m - j + 1) p(j)).
 */

/**
 * Holm-adjusted p-values, in the order given (not sorted). `null` entries (tests that could not be
 * run) are not part of the family: they stay null and do not count in m.
 * @example holm([0.01, 0.04, 0.03]) // [0.03, 0.06, 0.06]
 * @throws RangeError when a p-value is outside [0, 1] or not a number.
 */
export function holm(p: ReadonlyArray<number | null>): (number | null)[] {
  const idx: number[] = [];
  p.forEach((v, i) => {
    if (v === null) return;
    if (!(v >= 0 && v <= 1)) throw new RangeError(`holm: p-value ${v} at index ${i} is not in [0, 1]`);
    idx.push(i);
  });
  // Stable order: ties keep their input order, so equal p-values get the same adjusted value anyway.
  idx.sort((a, b) => (p[a] as number) - (p[b] as number) || a - b);
  const m = idx.length;
  const out: (number | null)[] = p.map(() => null);
  let running = 0;
  idx.forEach((i, j) => {
    running = Math.max(running, Math.min(1, (m - j) * (p[i] as number)));
    out[i] = running;
  });
  return out;
}
