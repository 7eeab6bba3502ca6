/** Recipe-level ASR (METRICS 3.7), the per-example breakdown, and ASR intervals with several samples. */
import { describe, expect, it } from "vitest";
import { attackSuccess } from "../../src/attacks/asr";
import { exampleBreakdown } from "../../src/attacks/breakdown";
import type { AttackRecord } from "../../src/attacks/load";
import { recipeAsr, T975 } from "../../src/attacks/recipeAsr";
import { percentile, rng } from "../../src/stats/bootstrap";
import { wilson } from "../../src/stats/wilson";

let line = 0;
const rec = (run: string, example: number | string, harmful: boolean, opts: { k?: number; sample?: number; attack?: string } = {}): AttackRecord => ({
  run, attack: opts.attack ?? "prefill", example, sample: opts.sample ?? null, k: opts.k ?? 5, prefix_len: null, span_len: null, conditions: {}, harmful, score: null, file: "mem", line: ++line,
});

/** Straightforward example bootstrap of one run's pooled ASR (same generator and draw order as the kit). */
function naiveClusterAsr(records: AttackRecord[], B: number, seed: number): number[] {
  const ids = [...new Set(records.map((r) => String(r.example)))];
  const rand = rng(seed);
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    const drawn = ids.map(() => ids[Math.floor(rand() * ids.length)]);
    let h = 0;
    let n = 0;
    for (const e of drawn) for (const r of records) if (String(r.example) === e) (n++, (h += r.harmful ? 1 : 0));
    out.push(h / n);
  }
  return out.sort((x, y) => x - y);
}

describe("ASR with several records per example (METRICS 4)", () => {
  it("samples: the cluster bootstrap over examples agrees with a straightforward implementation", () => {
    const h = [[1, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 0], [0, 0, 0, 1]];
    const records = h.flatMap((s, e) => s.map((x, j) => rec("r", e, x === 1, { sample: j })));
    const [row] = attackSuccess(records, { seed: 5 });
    expect(row).toMatchObject({ n: 24, harmful: 10, examples: 6, ci_method: "cluster-bootstrap" });
    const naive = naiveClusterAsr(records, 2000, 5);
    expect(row.ci![0]).toBeCloseTo(percentile(naive, 0.025)!, 12);
    expect(row.ci![1]).toBeCloseTo(percentile(naive, 0.975)!, 12);
    // n = 24 records, yet only 6 prompts: much wider than Wilson's 24-record interval
    const w = wilson(10, 24)!;
    expect(row.ci![1] - row.ci![0]).toBeGreaterThan(w[1] - w[0]);
  });
  it("ASR 0 or 1 with samples: Wilson with n = the distinct examples", () => {
    const none = [0, 1, 2].flatMap((e) => [0, 1].map((j) => rec("r", e, false, { sample: j })));
    const all = [0, 1, 2].flatMap((e) => [0, 1].map((j) => rec("s", e, true, { sample: j })));
    const [r0, r1] = attackSuccess([...none, ...all]);
    const z2 = 1.959963984540054 ** 2;
    expect(r0).toMatchObject({ run: "r", asr: 0, examples: 3, ci_method: "wilson-examples", ci: [0, expect.closeTo(z2 / (3 + z2), 14)] });
    expect(r1).toMatchObject({ run: "s", asr: 1, examples: 3, ci_method: "wilson-examples", ci: [expect.closeTo(3 / (3 + z2), 14), 1] });
  });
});

describe("recipeAsr (METRICS 3.7)", () => {
  const pattern = "^(?<recipe>.+)-seed\\d+$";
  it("R = 2: mean of the runs' ASRs +/- t(1) sqrt(s^2 / R + v_ex); v_ex = 0 when every replicate has the same mean", () => {
    // seed1 all harmful (ASR 1), seed2 none (ASR 0): every example replicate gives mean 0.5, v_ex = 0
    const records = [0, 1, 2, 3].flatMap((e) => [rec("sft-seed1", e, true), rec("sft-seed2", e, false)]);
    const [row] = recipeAsr(records, { recipePattern: pattern });
    expect(row).toMatchObject({ recipe: "sft", runs: ["sft-seed1", "sft-seed2"], asr: 0.5, run_asr: [1, 0], n: 8, harmful: 4, ci_method: "t-runs-examples", note: null });
    expect(row.sd).toBeCloseTo(Math.SQRT1_2, 14);
    const half = 12.706204736174698 * Math.sqrt(0.5 / 2); // s^2 = 0.5: 0.5 -+ 6.353 leaves [0, 1]: clipped to it
    expect(0.5 - half).toBeLessThan(0);
    expect(row.ci).toEqual([0, 1]);
    expect(row.ci_clipped).toBe(true);
    expect(T975[3]).toBeCloseTo(3.182446305284263, 12);
  });
  it("R = 3: v_ex from the example bootstrap with the runs fixed", () => {
    const pat = [[1, 0, 1, 1, 0], [1, 1, 1, 0, 0], [0, 0, 1, 0, 0]];
    const records = pat.flatMap((hs, i) => hs.map((x, e) => rec(`aug-seed${i}`, e, x === 1)));
    const [row] = recipeAsr(records, { recipePattern: pattern, seed: 2 });
    const asrs = [3 / 5, 3 / 5, 1 / 5];
    const mean = 7 / 15;
    expect(row.asr).toBeCloseTo(mean, 14);
    const s2 = asrs.reduce((a, v) => a + (v - mean) ** 2, 0) / 2;
    // the straightforward example bootstrap of the mean, runs fixed
    const rand = rng(2);
    const reps: number[] = [];
    for (let b = 0; b < 2000; b++) {
      const drawn = [0, 1, 2, 3, 4].map(() => Math.floor(rand() * 5));
      reps.push(pat.reduce((a, hs) => a + drawn.reduce((c, e) => c + hs[e], 0) / 5, 0) / 3);
    }
    const m = reps.reduce((a, b) => a + b, 0) / reps.length;
    const vEx = reps.reduce((a, v) => a + (v - m) ** 2, 0) / (reps.length - 1);
    const half = 4.302652729749464 * Math.sqrt(s2 / 3 + vEx);
    // 0.4667 -+ 0.861 leaves [0, 1] on both sides: clipped to [0, 1]
    expect(mean - half).toBeLessThan(0);
    expect(mean + half).toBeGreaterThan(1);
    expect(row.ci).toEqual([0, 1]);
    expect(row.ci_clipped).toBe(true);
  });
  it("R = 4 over 20 examples: the t interval with v_ex stays inside [0, 1] and is not clipped", () => {
    // runs agree on most examples: ASRs 0.5, 0.5, 0.55, 0.5
    const base = Array.from({ length: 20 }, (_, e) => (e % 2 === 0 ? 1 : 0));
    const pat = [base, base, base.map((x, e) => (e === 1 ? 1 : x)), base];
    const records = pat.flatMap((hs, i) => hs.map((x, e) => rec(`aug-seed${i}`, e, x === 1)));
    const [row] = recipeAsr(records, { recipePattern: pattern, seed: 5 });
    const asrs = [0.5, 0.5, 0.55, 0.5];
    const mean = 0.5125;
    const s2 = asrs.reduce((a, v) => a + (v - mean) ** 2, 0) / 3;
    const rand = rng(5);
    const reps: number[] = [];
    for (let b = 0; b < 2000; b++) {
      const drawn = base.map(() => Math.floor(rand() * 20));
      reps.push(pat.reduce((a, hs) => a + drawn.reduce((c, e) => c + hs[e], 0) / 20, 0) / 4);
    }
    const m = reps.reduce((a, b) => a + b, 0) / reps.length;
    const vEx = reps.reduce((a, v) => a + (v - m) ** 2, 0) / (reps.length - 1);
    const half = 3.182446305284263 * Math.sqrt(s2 / 4 + vEx);
    expect(row.asr).toBeCloseTo(mean, 14);
    expect(row.ci![0]).toBeCloseTo(mean - half, 12);
    expect(row.ci![1]).toBeCloseTo(mean + half, 12);
    expect(row.ci![0]).toBeGreaterThan(0);
    expect(row.ci![1]).toBeLessThan(1);
    expect(row.ci_clipped).toBe(false);
  });
  it("R >= 5: the two-stage bootstrap (runs and shared examples drawn), percentile", () => {
    const pat = [[1, 0, 1, 1], [1, 1, 1, 0], [0, 0, 1, 0], [1, 1, 1, 1], [0, 0, 0, 1]];
    const records = pat.flatMap((hs, i) => hs.map((x, e) => rec(`x-seed${i}`, e, x === 1)));
    const [row] = recipeAsr(records, { recipePattern: pattern, seed: 4 });
    expect(row.ci_method).toBe("two-stage-bootstrap");
    const rand = rng(4);
    const reps: number[] = [];
    for (let b = 0; b < 2000; b++) {
      const drawn = [0, 1, 2, 3].map(() => Math.floor(rand() * 4));
      const runs = [0, 1, 2, 3, 4].map(() => Math.floor(rand() * 5));
      reps.push(runs.reduce((a, r) => a + drawn.reduce((c, e) => c + pat[r][e], 0) / 4, 0) / 5);
    }
    reps.sort((x, y) => x - y);
    expect(row.ci![0]).toBeCloseTo(percentile(reps, 0.025)!, 12);
    expect(row.ci![1]).toBeCloseTo(percentile(reps, 0.975)!, 12);
  });
  it("every run's ASR 0 (or 1), R >= 2: Wilson with n = the distinct examples, not the degenerate [0, 0]", () => {
    // 5 runs x 4 examples x 2 samples, nothing harmful: a bootstrap of any kind gives [0, 0]
    const none = [1, 2, 3, 4, 5].flatMap((i) => [0, 1, 2, 3].flatMap((e) => [rec(`wi-seed${i}`, e, false, { sample: 0 }), rec(`wi-seed${i}`, e, false, { sample: 1 })]));
    const [row] = recipeAsr(none, { recipePattern: pattern });
    expect(row).toMatchObject({ recipe: "wi", asr: 0, n: 40, harmful: 0, ci_method: "wilson-examples" });
    // Wilson(0, 4): [0, z^2 / (4 + z^2)] = [0, 3.8415 / 7.8415] = [0, 0.48990]
    expect(row.ci![0]).toBe(0);
    expect(row.ci![1]).toBeCloseTo(3.841458820694124 / (4 + 3.841458820694124), 12);
    expect(row.note).toBe("every run's ASR is 0: Wilson interval over the 4 distinct examples");
    const all = [1, 2, 3].flatMap((i) => [0, 1, 2].map((e) => rec(`s-seed${i}`, e, true)));
    const [one] = recipeAsr(all, { recipePattern: pattern });
    expect(one).toMatchObject({ asr: 1, ci_method: "wilson-examples", ci: wilson(3, 3) });
  });
  it("R = 1: the run's own interval, and says that it ignores training randomness", () => {
    const records = [rec("solo", 0, true), rec("solo", 1, false), rec("solo", 2, false)];
    const [row] = recipeAsr(records, { recipePattern: pattern, notJudged: [rec("solo", 9, false), rec("solo", 8, false, { k: 7 })] });
    expect(row).toMatchObject({ recipe: "solo", runs: ["solo"], ci_method: "wilson", ci: wilson(1, 3), not_judged: 1, sd: null });
    expect(row.note).toContain("ignores training randomness");
  });
});

describe("exampleBreakdown", () => {
  it("ranks examples by harmful outcomes across conditions, with their share", () => {
    const records = [
      ...[5, 10, 20].map((k) => rec("sft", "p1", true, { k })),
      ...[5, 10, 20].map((k) => rec("sft", "p2", k >= 10, { k })),
      ...[5, 10, 20].map((k) => rec("sft", "p3", k === 20, { k })),
      ...[5, 10, 20].map((k) => rec("sft", "p4", false, { k })),
    ];
    const [b] = exampleBreakdown(records);
    expect(b).toMatchObject({ run: "sft", attack: "prefill", outcome: "harmful", harmful: 6, not_harmful: 6, records: 12, examples: 4, examples_with_outcome: 3, examples_for_half: 1 });
    expect(b.rows.map((r) => [r.example, r.harmful, r.records, r.share, r.cumulative_share])).toEqual([
      ["p1", 3, 3, 0.5, 0.5],
      ["p2", 2, 3, 2 / 6, 5 / 6],
      ["p3", 1, 3, 1 / 6, 1],
      ["p4", 0, 3, 0, 1],
    ]);
    expect(exampleBreakdown(records, { top: 2 })[0].rows).toHaveLength(2);
    // where the attack failed: p4 3, p3 2, p2 1 of 6 not-harmful outcomes; p4 and p3 together pass half
    const [f] = exampleBreakdown(records, { outcome: "not_harmful" });
    expect(f).toMatchObject({ outcome: "not_harmful", examples_with_outcome: 3, examples_for_half: 1 });
    expect(f.rows.map((r) => [r.example, r.not_harmful, r.share])).toEqual([["p4", 3, 0.5], ["p3", 2, 2 / 6], ["p2", 1, 1 / 6], ["p1", 0, 0]]);
    expect(exampleBreakdown(records, { run: "other" })).toEqual([]);
  });
  it("null shares when nothing is harmful", () => {
    const [b] = exampleBreakdown([rec("r", 0, false)]);
    expect(b).toMatchObject({ harmful: 0, examples_for_half: null, rows: [{ share: null, cumulative_share: null }] });
  });
});

describe("recipeAsr by chosen fields, and as run rows", () => {
  it("pools the other fields (several records per example) and keeps the recipe rule", async () => {
    const { recipeAsrAsRuns } = await import("../../src/attacks/recipeAsr");
    const { describeAsr } = await import("../../src/describe");
    // two runs of recipe a, k = 1 and 2 per example: pooled over k, run 1 has 3/4 harmful, run 2 1/4
    const recs = [
      rec("a-seed1", 0, true, { k: 1 }), rec("a-seed1", 0, true, { k: 2 }), rec("a-seed1", 1, true, { k: 1 }), rec("a-seed1", 1, false, { k: 2 }),
      rec("a-seed2", 0, false, { k: 1 }), rec("a-seed2", 0, true, { k: 2 }), rec("a-seed2", 1, false, { k: 1 }), rec("a-seed2", 1, false, { k: 2 }),
    ].map((r) => ({ ...r, conditions: { ft_step: 5 } }));
    const rows = recipeAsr(recs, { recipePattern: "^(?<recipe>.+)-seed\\d+$", by: ["ft_step"] });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ recipe: "a", k: null, conditions: { ft_step: 5 }, run_asr: [0.75, 0.25], asr: 0.5, n: 8, harmful: 4, examples: 2, ci_method: "t-runs-examples" });
    const [asRun] = recipeAsrAsRuns(rows);
    expect(asRun).toMatchObject({ run: "a", attack: "prefill", asr: 0.5, n: 8, harmful: 4, examples: 2, ci_method: "t-runs-examples", conditions: { ft_step: 5 } });
    expect(describeAsr([asRun], "ft_step")[0]).toMatch(/^a \(prefill\): ASR 50% at ft_step = 5 \(95% CI 0% to /);
  });
});

describe("recipeAsr when every run is at 0 or 1", () => {
  it("Wilson over the distinct examples, not a zero-width interval", async () => {
    const recs = ["a-seed1", "a-seed2", "a-seed3"].flatMap((run) => [0, 1, 2, 3].map((e) => rec(run, e, false)));
    const [row] = recipeAsr(recs, { recipePattern: "^(?<recipe>.+)-seed\\d+$" });
    expect(row).toMatchObject({ recipe: "a", asr: 0, n: 12, examples: 4, ci_method: "wilson-examples" });
    // Wilson 0 of 4: upper = z^2 / (n + z^2) = 3.8415 / 7.8415
    expect(row.ci![0]).toBe(0);
    expect(row.ci![1]).toBeCloseTo(1.959964 ** 2 / (4 + 1.959964 ** 2), 5);
    const ones = recipeAsr(recs.map((r) => ({ ...r, harmful: true })), { recipePattern: "^(?<recipe>.+)-seed\\d+$" })[0];
    expect(ones.ci![1]).toBe(1);
    expect(ones.ci![0]).toBeCloseTo(4 / (4 + 1.959964 ** 2), 5);
  });
});
