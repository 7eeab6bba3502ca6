/**
 * A small, fixed-seed version of the coverage study (coverage/study.ts): a few simulated datasets
 * whose percentile and BCa intervals of N_5, and the coverage counts, are recomputed here by a
 * separate straightforward implementation (per-replicate loops over rows, jackknife by literally
 * leaving an example out). No timing, no randomness beyond the fixed seeds.
 */
import { describe, expect, it } from "vitest";
import { intervalsFrom, normalCdf, normalQuantile, rng, runBootstrap } from "../../src/index";
import { SCENARIOS, coverage, scenarioTruth, simulate } from "../../coverage/study";

type Row = { e: number; p: number; d: number };

/** N_5 from rows with example weights, the plain way. */
function naiveN5(rows: Row[], w: (e: number) => number): number {
  const sum = new Map<number, number>();
  const cnt = new Map<number, number>();
  for (const r of rows) {
    const k = w(r.e);
    if (!k) continue;
    sum.set(r.p, (sum.get(r.p) ?? 0) + k * r.d);
    cnt.set(r.p, (cnt.get(r.p) ?? 0) + k);
  }
  let D = 0;
  let early = 0;
  for (const [p, s] of sum) {
    const m = s / cnt.get(p)!;
    D += m;
    if (p < 5) early += m;
  }
  return early / D;
}

const q7 = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  return s[lo] + (h - lo) * (s[Math.min(lo + 1, s.length - 1)] - s[lo]);
};

function naiveIntervals(rows: Row[], n: number, B: number, seed: number) {
  const est = naiveN5(rows, () => 1);
  const rand = rng(seed);
  const reps: number[] = [];
  for (let b = 0; b < B; b++) {
    const c = new Array(n).fill(0);
    for (let i = 0; i < n; i++) c[Math.floor(rand() * n)]++;
    reps.push(naiveN5(rows, (e) => c[e]));
  }
  const jack = Array.from({ length: n }, (_, i) => naiveN5(rows.filter((r) => r.e !== i), () => 1));
  const jbar = jack.reduce((a, b) => a + b, 0) / n;
  const s2 = jack.reduce((a, x) => a + (jbar - x) ** 2, 0);
  const s3 = jack.reduce((a, x) => a + (jbar - x) ** 3, 0);
  const a = s3 / (6 * s2 ** 1.5);
  const z0 = normalQuantile((reps.filter((x) => x < est).length + reps.filter((x) => x === est).length / 2) / B);
  const lvl = (z: number) => normalCdf(z0 + (z0 + z) / (1 - a * (z0 + z)));
  return {
    est,
    percentile: [q7(reps, 0.025), q7(reps, 0.975)],
    bca: [q7(reps, lvl(normalQuantile(0.025))), q7(reps, lvl(normalQuantile(0.975)))],
  };
}

describe("coverage study (small, fixed seed)", () => {
  const sc = { ...SCENARIOS.find((s) => s.name === "null-late-64")!, examples: 20 };
  const datasets = 4;
  const B = 150;
  it("the kit's intervals equal a straightforward recomputation, and so do the coverage counts", () => {
    const truth = scenarioTruth(sc).net_early_share;
    expect(truth).toBeCloseTo(1, 12);
    const rand = rng(3);
    const covered = { bca: 0, percentile: 0 };
    for (let i = 0; i < datasets; i++) {
      const { runs } = simulate(sc, rand);
      const t = runs[0].pairs;
      const rows: Row[] = [];
      for (let e = 0; e < t.ids.length; e++) for (let j = t.offsets[e]; j < t.offsets[e + 1]; j++) rows.push({ e, p: t.positionValues[t.positionIndex[j]], d: t.columns[0][j] });
      const naive = naiveIntervals(rows, t.ids.length, B, i + 1);
      const boot = runBootstrap(runs[0], { B, seed: i + 1, k: 5 }, true);
      expect(boot.estimate[1]).toBeCloseTo(naive.est, 12);
      const p = intervalsFrom(boot, "percentile").ci.net_early_share!;
      const b = intervalsFrom(boot, "bca").ci.net_early_share!;
      expect(p[0]).toBeCloseTo(naive.percentile[0], 10);
      expect(p[1]).toBeCloseTo(naive.percentile[1], 10);
      expect(b[0]).toBeCloseTo(naive.bca[0], 9);
      expect(b[1]).toBeCloseTo(naive.bca[1], 9);
      if (naive.bca[0] <= truth && truth <= naive.bca[1]) covered.bca++;
      if (naive.percentile[0] <= truth && truth <= naive.percentile[1]) covered.percentile++;
    }
    const r = coverage(sc, { datasets, B, seed: 3 });
    expect(r.cells.bca.net_early_share.covered).toBe(covered.bca);
    expect(r.cells.percentile.net_early_share.covered).toBe(covered.percentile);
    expect(r.cells.bca.net_early_share.n).toBe(datasets);
  });
});
