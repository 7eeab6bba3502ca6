/**
 * Per-example sufficient statistics (CSR layout): for every example, its entries (a position and one
 * or more values, e.g. the paired difference m_b - m_a and the starting value m_a). Bootstrap
 * replicates and jackknife deletions work on weighted sums over examples, never on token rows: a
 * replicate adds each drawn example's entries times its count, a deletion subtracts one example's.
 */

export interface ExampleTable {
  /** Example ids (as text); index = the example's number. Shared between tables that are resampled together. */
  ids: string[];
  /** offsets[e] .. offsets[e + 1] index example e's entries; length ids.length + 1. */
  offsets: Int32Array;
  /** Index into `positionValues` of each entry. */
  positionIndex: Int32Array;
  /** Distinct positions (0-based), ascending. */
  positionValues: number[];
  /** One array per value column, one value per entry. */
  columns: Float64Array[];
}

/**
 * Builds a table from rows (example, position, values...). `index` numbers the example ids; ids not
 * in it are added at the end (so tables built with one index share example numbers).
 */
export function exampleTable(
  examples: ArrayLike<string | number>,
  positions: ArrayLike<number>,
  columns: ArrayLike<number>[],
  index: Map<string, number> = new Map(),
): ExampleTable {
  const n = positions.length;
  const ex = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const id = String(examples[i]);
    let e = index.get(id);
    if (e === undefined) index.set(id, (e = index.size));
    ex[i] = e;
  }
  const nEx = index.size;
  const ids = new Array<string>(nEx);
  for (const [id, e] of index) ids[e] = id;
  const counts = new Int32Array(nEx + 1);
  for (let i = 0; i < n; i++) counts[ex[i] + 1]++;
  for (let e = 0; e < nEx; e++) counts[e + 1] += counts[e];
  const offsets = Int32Array.from(counts);
  const positionValues = [...new Set(Array.from(positions))].sort((a, b) => a - b);
  const posIdx = new Map(positionValues.map((p, i) => [p, i]));
  const fill = Int32Array.from(offsets.subarray(0, nEx));
  const positionIndex = new Int32Array(n);
  const cols = columns.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const j = fill[ex[i]]++;
    positionIndex[j] = posIdx.get(positions[i])!;
    for (let c = 0; c < columns.length; c++) cols[c][j] = columns[c][i];
  }
  return { ids, offsets, positionIndex, positionValues, columns: cols };
}

/** Per-position sums: `count[p]` = sum of weights, `sums[c][p]` = weighted sum of column c. */
export interface PositionSums {
  count: Float64Array;
  sums: Float64Array[];
}

export function emptySums(t: ExampleTable): PositionSums {
  const P = t.positionValues.length;
  return { count: new Float64Array(P), sums: t.columns.map(() => new Float64Array(P)) };
}

/**
 * Adds w times example e's entries to `out` (w = -1 removes it: a jackknife deletion).
 * Examples beyond the table's ids have no entries.
 */
export function addExample(t: ExampleTable, e: number, w: number, out: PositionSums): void {
  if (e >= t.ids.length) return;
  const { offsets, positionIndex, columns } = t;
  for (let j = offsets[e]; j < offsets[e + 1]; j++) {
    const p = positionIndex[j];
    out.count[p] += w;
    for (let c = 0; c < columns.length; c++) out.sums[c][p] += w * columns[c][j];
  }
}

/** Weighted sums over the examples with weights[e] != 0 (weights indexed by example number; null = every example once). */
export function weightedSums(t: ExampleTable, weights: ArrayLike<number> | null, out: PositionSums = emptySums(t)): PositionSums {
  const { count, sums } = out;
  count.fill(0);
  for (const s of sums) s.fill(0);
  const nEx = t.ids.length;
  const { offsets, positionIndex, columns } = t;
  const nw = weights === null ? 0 : weights.length;
  // The hot loop of every bootstrap replicate: one and two value columns get their own loops.
  if (columns.length === 2 && (weights === null || integral(weights))) {
    // Examples whose positions are consecutive (ragged sequences 0..len-1, the usual case) add
    // their values without the position index, and their counts through a difference array over
    // positions. Every sum still adds the same terms in the same (example) order, and counts are
    // sums of integers (exact in any order), so the result is bit for bit the general loop's.
    const first = consecutiveStarts(t);
    const c0 = columns[0];
    const c1 = columns[1];
    const s0 = sums[0];
    const s1 = sums[1];
    const P = count.length;
    const steps = new Float64Array(P + 1);
    for (let e = 0; e < nEx; e++) {
      const w = weights === null ? 1 : e < nw ? weights[e] : 0;
      if (w === 0) continue;
      const j0 = offsets[e];
      const j1 = offsets[e + 1];
      const k0 = first[e];
      if (k0 >= 0) {
        steps[k0] += w;
        steps[k0 + j1 - j0] -= w;
        const d = k0 - j0;
        for (let j = j0; j < j1; j++) {
          s0[j + d] += w * c0[j];
          s1[j + d] += w * c1[j];
        }
      } else
        for (let j = j0; j < j1; j++) {
          const p = positionIndex[j];
          count[p] += w;
          s0[p] += w * c0[j];
          s1[p] += w * c1[j];
        }
    }
    let level = 0;
    for (let p = 0; p < P; p++) count[p] += level += steps[p];
    return out;
  }
  if (columns.length === 2) {
    const c0 = columns[0];
    const c1 = columns[1];
    const s0 = sums[0];
    const s1 = sums[1];
    for (let e = 0; e < nEx; e++) {
      const w = weights === null ? 1 : e < nw ? weights[e] : 0;
      if (w === 0) continue;
      for (let j = offsets[e], end = offsets[e + 1]; j < end; j++) {
        const p = positionIndex[j];
        count[p] += w;
        s0[p] += w * c0[j];
        s1[p] += w * c1[j];
      }
    }
    return out;
  }
  for (let e = 0; e < nEx; e++) {
    const w = weights === null ? 1 : e < nw ? weights[e] : 0;
    if (w !== 0) addExample(t, e, w, out);
  }
  return out;
}

/** Whether every weight is an integer (bootstrap counts are). */
function integral(weights: ArrayLike<number>): boolean {
  for (let i = 0; i < weights.length; i++) if (!Number.isInteger(weights[i])) return false;
  return true;
}

const STARTS = new WeakMap<ExampleTable, Int32Array>();

/**
 * Per example: the index (into positionValues) of its first entry when its entries cover
 * consecutive position indices k0, k0 + 1, ... (in order), else -1 (also for no entries).
 * Computed once per table.
 */
export function consecutiveStarts(t: ExampleTable): Int32Array {
  let first = STARTS.get(t);
  if (first) return first;
  const nEx = t.ids.length;
  first = new Int32Array(nEx).fill(-1);
  for (let e = 0; e < nEx; e++) {
    const j0 = t.offsets[e];
    const j1 = t.offsets[e + 1];
    if (j1 <= j0) continue;
    const k0 = t.positionIndex[j0];
    let ok = true;
    for (let j = j0 + 1; j < j1 && ok; j++) ok = t.positionIndex[j] === k0 + (j - j0);
    if (ok) first[e] = k0;
  }
  STARTS.set(t, first);
  return first;
}

/** Example numbers that have at least one entry in any of the tables. */
export function examplesWithEntries(...tables: ExampleTable[]): number[] {
  const have = new Set<number>();
  for (const t of tables) for (let e = 0; e < t.ids.length; e++) if (t.offsets[e + 1] > t.offsets[e]) have.add(e);
  return [...have].sort((a, b) => a - b);
}
