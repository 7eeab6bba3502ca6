/**
 * weightedSums' fast path (examples with consecutive positions, integer weights) must give bit for
 * bit what the plain loop over entries gives: the same terms added in the same example order.
 */
import { describe, expect, it } from "vitest";
import { ExampleTable, PositionSums, consecutiveStarts, exampleTable, weightedSums } from "../../src/stats/exampleTable";
import { rng } from "../../src/stats/bootstrap";
import { drawCounts } from "../../src/stats/runIntervals";

/** The plain loop (the definition): every entry of every example with weight != 0, in order. */
function plain(t: ExampleTable, weights: ArrayLike<number> | null): PositionSums {
  const P = t.positionValues.length;
  const out = { count: new Float64Array(P), sums: t.columns.map(() => new Float64Array(P)) };
  for (let e = 0; e < t.ids.length; e++) {
    const w = weights === null ? 1 : e < weights.length ? weights[e] : 0;
    if (w === 0) continue;
    for (let j = t.offsets[e]; j < t.offsets[e + 1]; j++) {
      const p = t.positionIndex[j];
      out.count[p] += w;
      t.columns.forEach((c, k) => (out.sums[k][p] += w * c[j]));
    }
  }
  return out;
}

function sameBits(a: PositionSums, b: PositionSums): void {
  const all = (s: PositionSums) => [...s.count, ...s.sums.flatMap((x) => [...x])];
  const x = all(a);
  const y = all(b);
  expect(x.length).toBe(y.length);
  x.forEach((v, i) => expect(Object.is(v, y[i]), `${i}: ${v} vs ${y[i]}`).toBe(true));
}

describe("weightedSums", () => {
  // Examples: consecutive from 0 (ragged), consecutive from 2, one with a gap, one out of order, one empty.
  const rand = rng(11);
  const ex: string[] = [];
  const pos: number[] = [];
  const shapes = [[0, 1, 2, 3], [0, 1], [2, 3, 4], [0, 2, 3], [5], [1, 0], [0, 1, 2, 3, 4, 5]];
  for (let rep = 0; rep < 30; rep++)
    shapes.forEach((ps, s) => {
      for (const p of ps) (ex.push(`e${rep}-${s}`), pos.push(p));
    });
  const diff = Float64Array.from(pos, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 6 - 3));
  const start = Float64Array.from(pos, () => rand() * 3);
  const index = new Map<string, number>([["empty", 0]]);
  const t = exampleTable(ex, pos, [diff, start], index);

  it("marks examples whose positions are consecutive (and only those)", () => {
    const first = consecutiveStarts(t);
    expect(first[0]).toBe(-1); // "empty": no entries
    expect([...first.slice(1, 8)]).toEqual([0, 0, 2, -1, 5, -1, 0]);
  });

  it("equals the plain loop bit for bit: every example once, bootstrap counts, integer weights with zeros", () => {
    sameBits(weightedSums(t, null), plain(t, null));
    const pool = Int32Array.from({ length: t.ids.length }, (_, i) => i);
    const counts = new Float64Array(t.ids.length);
    const r = rng(3);
    for (let b = 0; b < 50; b++) {
      drawCounts(pool, counts, r);
      sameBits(weightedSums(t, counts), plain(t, counts));
    }
    sameBits(weightedSums(t, [0, 2, 0, 3]), plain(t, [0, 2, 0, 3]));
  });

  it("fractional weights take the general loop (same result as the plain loop)", () => {
    const w = Float64Array.from({ length: t.ids.length }, (_, i) => (i % 3) * 0.37);
    sameBits(weightedSums(t, w), plain(t, w));
  });

  it("hand-computed: two examples, weights 2 and 1", () => {
    const small = exampleTable(["a", "a", "b"], [0, 1, 1], [Float64Array.from([1, 2, 4]), Float64Array.from([0.5, 0.5, 1])]);
    const s = weightedSums(small, [2, 1]);
    expect([...s.count]).toEqual([2, 3]);
    expect([...s.sums[0]]).toEqual([2, 8]); // 2*1; 2*2 + 4
    expect([...s.sums[1]]).toEqual([1, 2]);
  });
});
