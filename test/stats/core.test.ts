/**
 * The core metrics against hand-computed values (METRICS.md). The fixture holds one run, three
 * examples of different lengths (ragged: 3, 2 and 1 tokens) at steps 0, 5 and 10:
 *
 *   step 0:  e1 [2, 4, 6]   e2 [1, 3]   e3 [5]
 *   step 5:  e1 [0, 4, 6]   e2 [1, 3]   e3 [5]
 *   step 10: e1 [1, 3, 8]   e2 [0, 5]   e3 [2]
 *
 * Update 0 -> 10, differences per example: e1 [-1, -1, +2], e2 [-1, +2], e3 [-3].
 *   position 0: pairs -1, -1, -3 -> n 3, delta -5/3, sd sqrt(4/3), se sqrt(4/3)/sqrt(3) = 2/3
 *   position 1: pairs -1, +2     -> n 2, delta 1/2, sd sqrt(4.5), se 1.5
 *   position 2: pair  +2         -> n 1, delta 2, sd null
 * |delta| = 5/3, 1/2, 2; total 25/6; shares 0.4, 0.12, 0.48.
 *   E_1 = 0.4, E_2 = 0.52, E_5 = 1; d50 = 2 (0.4 < 0.5 <= 0.52), d90 = 3.
 *   min_pairs 2: positions 0 and 1, shares 10/13 and 3/13: E_1 = 10/13, d50 = 1, d90 = 2.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import {
  TokenLogs,
  bootstrapMass,
  concentration,
  groupDiffs,
  loadTokenLogs,
  mergePositionMoments,
  mergeUpdateMoments,
  positionMoments,
  positionProfile,
  profileFromMoments,
  rng,
  summary,
  updateFromMoments,
  updateMass,
  updateMoments,
  updateProfile,
  updateSummary,
} from "../../src/index";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

const fx = (name: string) => join(__dirname, "..", "fixtures", "core", name);
void execFileSync;

describe("update mass (pure)", () => {
  const profile = [
    { position: 0, n: 3, delta: -5 / 3 },
    { position: 1, n: 2, delta: 0.5 },
    { position: 2, n: 1, delta: 2 },
  ];
  it("gives shares, early share and depths", () => {
    const m = updateMass(profile, { k: 1 });
    expect(m.shares[0]).toBeCloseTo(0.4, 12);
    expect(m.shares[1]).toBeCloseTo(0.12, 12);
    expect(m.shares[2]).toBeCloseTo(0.48, 12);
    expect(m.earlyShare).toBeCloseTo(0.4, 12);
    expect(updateMass(profile, { k: 2 }).earlyShare).toBeCloseTo(0.52, 12);
    expect(updateMass(profile).earlyShare).toBeCloseTo(1, 12);
    expect(m.d50).toBe(2);
    expect(m.d90).toBe(3);
  });
  it("drops positions with fewer than min_pairs pairs", () => {
    const m = updateMass(profile, { k: 1, minPairs: 2 });
    expect(m.positions).toEqual([0, 1]);
    expect(m.earlyShare).toBeCloseTo(10 / 13, 12);
    expect(m.d50).toBe(1);
    expect(m.d90).toBe(2);
  });
  it("is null when the total update is zero", () => {
    const m = updateMass([{ position: 0, n: 2, delta: 0 }, { position: 1, n: 2, delta: 0 }]);
    expect(m.earlyShare).toBeNull();
    expect(m.d50).toBeNull();
    expect(m.d90).toBeNull();
    expect(m.shares).toEqual([null, null]);
  });
  it("counts depth by position value, not by rank, when positions have gaps", () => {
    // positions 0 and 7 used (1..6 filtered out): d50 is 8 if position 7 carries the half
    const m = updateMass([{ position: 0, n: 1, delta: 1 }, { position: 7, n: 1, delta: 3 }], { k: 5 });
    expect(m.earlyShare).toBeCloseTo(0.25, 12);
    expect(m.d50).toBe(8);
  });
  it("reaches alpha exactly at a boundary despite rounding", () => {
    // shares 0.1 * 5 sum to 0.5 only up to rounding: d50 must be 5
    const m = updateMass([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((p) => ({ position: p, n: 1, delta: 0.1 })));
    expect(m.d50).toBe(5);
    expect(m.d90).toBe(9);
  });
});

for (const [label, file] of [
  ["long JSON Lines", "ragged-long.jsonl"],
  ["wide JSON Lines", "ragged-wide.jsonl"],
  ["CSV", "ragged-long.csv"],
] as const) {
  describe(`metrics on the ragged fixture (${label})`, () => {
    let logs: TokenLogs;
    beforeAll(async () => {
      logs = await loadTokenLogs(fx(file), { progress: false });
    });
    afterAll(() => logs.close());

    it("loads every token row", async () => {
      expect(logs.report.tokens).toBe(18);
      expect(await logs.counts()).toEqual({ runs: 1, steps: 3, examples: 3, tokens: 18 });
      expect(logs.metrics).toEqual(["loss"]);
    });

    it("position profile: n, mean, sd (n - 1), se; ragged positions not padded", async () => {
      const rows = await positionProfile(logs, { steps: [0] });
      expect(rows.map((r) => r.position)).toEqual([0, 1, 2]);
      const [p0, p1, p2] = rows;
      expect(p0.n).toBe(3);
      expect(p0.mean).toBeCloseTo(8 / 3, 12);
      expect(p0.sd).toBeCloseTo(Math.sqrt(78 / 18), 12);
      expect(p0.se).toBeCloseTo(Math.sqrt(78 / 18) / Math.sqrt(3), 12);
      expect(p1.n).toBe(2);
      expect(p1.mean).toBeCloseTo(3.5, 12);
      expect(p1.sd).toBeCloseTo(Math.SQRT1_2, 12);
      expect(p2).toEqual({ run: "r", step: 0, position: 2, n: 1, mean: 6, sd: null, se: null });
    });

    it("update profile pairs by example", async () => {
      const rows = await updateProfile(logs);
      expect(rows).toHaveLength(3);
      expect(rows[0]).toMatchObject({ run: "r", from: 0, to: 10, position: 0, n: 3 });
      expect(rows[0].delta).toBeCloseTo(-5 / 3, 12);
      expect(rows[0].sd).toBeCloseTo(Math.sqrt(4 / 3), 12);
      expect(rows[0].se).toBeCloseTo(2 / 3, 12);
      expect(rows[1].n).toBe(2);
      expect(rows[1].delta).toBeCloseTo(0.5, 12);
      expect(rows[1].sd).toBeCloseTo(Math.sqrt(4.5), 12);
      expect(rows[1].se).toBeCloseTo(1.5, 12);
      expect(rows[2]).toMatchObject({ position: 2, n: 1, delta: 2, sd: null, se: null });
      const mid = await updateProfile(logs, { from: 0, to: 5 });
      expect(mid[0].delta).toBeCloseTo(-2 / 3, 12);
      expect(mid[1].delta).toBe(0);
    });

    it("summary: E_k, depths and counts", async () => {
      const [s] = await summary(logs, { k: 1, bootstrap: 200, seed: 1 });
      expect(s).toMatchObject({ run: "r", from: 0, to: 10, examples: 3, positions: 3, tokens: 12, d50: 2, d90: 3 });
      expect(s.early_share).toBeCloseTo(0.4, 12);
      expect(s.ci.early_share).not.toBeNull();
      const [lo, hi] = s.ci.early_share!;
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      expect(lo).toBeLessThanOrEqual(hi);
      const [again] = await summary(logs, { k: 1, bootstrap: 200, seed: 1 });
      expect(again.ci).toEqual(s.ci);
      const [pairs2] = await summary(logs, { k: 1, minPairs: 2, bootstrap: 0 });
      expect(pairs2.positions).toBe(2);
      expect(pairs2.early_share).toBeCloseTo(10 / 13, 12);
      expect(pairs2.d50).toBe(1);
      expect(pairs2.d90).toBe(2);
    });

    it("warns when every position is below k (the early shares are then 1 by construction)", async () => {
      // the fixture's positions are 0, 1, 2
      const at3 = await updateSummary(logs, { k: 3, bootstrap: 0 });
      expect(at3.runs[0].net_early_share).toBeCloseTo(1, 12);
      expect(at3.warnings).toContain("r: every position (the last is 2) is below k = 3, so N_3 and E_3 are 1 by construction; choose k of at most 2");
      const at2 = await updateSummary(logs, { k: 2, bootstrap: 0 });
      expect(at2.warnings.some((w) => w.includes("by construction"))).toBe(false);
      // no update at all (D = 0, every share null): nothing is "1 by construction"
      const flat = join(mkdtempSync(join(tmpdir(), "ad-flat-")), "flat.jsonl");
      writeFileSync(flat, [0, 5].flatMap((step) => [0, 1].map((position) => JSON.stringify({ run: "f", step, example: "a", position, loss: 1 }))).join("\n") + "\n");
      const flatLogs = await loadTokenLogs(flat, { progress: false, cache: false });
      try {
        const f = await updateSummary(flatLogs, { k: 5, bootstrap: 0 });
        expect([f.runs[0].net_early_share, f.runs[0].early_share]).toEqual([null, null]);
        expect(f.warnings.some((w) => w.includes("by construction"))).toBe(false);
      } finally {
        flatLogs.close();
      }
    });

    it("restricts to rows with given label values (where)", async () => {
      const rows = await updateProfile(logs, { where: { token: "t1" } });
      expect(rows.map((r) => [r.position, r.n])).toEqual([[1, 2]]);
      expect(rows[0].delta).toBeCloseTo(0.5, 12);
      const [s] = await summary(logs, { k: 1, bootstrap: 0, where: { token: ["t0", "t2"] } });
      expect(s.tokens).toBe(8);
      expect(s.early_share).toBeCloseTo((5 / 3) / (5 / 3 + 2), 12);
      await expect(positionProfile(logs, { where: { nope: "x" } })).rejects.toThrow(/no such column/);
    });

    it("concentration over training", async () => {
      const rows = await concentration(logs, { k: 1 });
      expect(rows.map((r) => r.step)).toEqual([5, 10]);
      expect(rows[0].earlyShare).toBeCloseTo(1, 12);
      expect(rows[0].d50).toBe(1);
      expect(rows[1].earlyShare).toBeCloseTo(0.4, 12);
      expect(rows[1].d50).toBe(2);
      expect(rows[1].d90).toBe(3);
      // net (METRICS 3.8): step 5 deltas -2/3, 0, 0: N1 = 1, z50 = 0.5; step 10: D = 5/6, N1 = -2, z50 = 2 + 1.9 / 2.4
      expect(rows[0].netEarlyShare).toBeCloseTo(1, 12);
      expect(rows[0].z50).toBeCloseTo(0.5, 12);
      expect(rows[1].netEarlyShare).toBeCloseTo(-2, 12);
      expect(rows[1].z50).toBeCloseTo(2 + 1.9 / 2.4, 12);
    });
  });
}

describe("Parquet gives the same numbers", () => {
  it("long Parquet written from the JSON Lines fixture", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ad-pq-"));
    const out = join(dir, "ragged.parquet");
    const inst = await DuckDBInstance.create(":memory:");
    const c = await inst.connect();
    await c.run(`COPY (SELECT * FROM read_json('${fx("ragged-long.jsonl")}', format='newline_delimited')) TO '${out}' (FORMAT parquet)`);
    c.closeSync();
    const logs = await loadTokenLogs(out, { progress: false });
    const [s] = await summary(logs, { k: 1, bootstrap: 0 });
    expect(s.early_share).toBeCloseTo(0.4, 12);
    expect(s.d50).toBe(2);
    expect(s.tokens).toBe(12);
    logs.close();
  });
});

describe("shards merge exactly into the whole", () => {
  it("position and update moments of shard files merge into those of all files", async () => {
    const whole = await loadTokenLogs([fx("shard-a.jsonl"), fx("shard-b.jsonl")], { progress: false });
    const a = await loadTokenLogs(fx("shard-a.jsonl"), { progress: false });
    const b = await loadTokenLogs(fx("shard-b.jsonl"), { progress: false });
    const merged = profileFromMoments(mergePositionMoments(await positionMoments(a), await positionMoments(b)));
    const direct = await positionProfile(whole);
    expect(merged.length).toBe(direct.length);
    merged.forEach((m, i) => {
      const d = direct[i];
      expect([m.run, m.step, m.position, m.n]).toEqual([d.run, d.step, d.position, d.n]);
      expect(m.mean).toBeCloseTo(d.mean as number, 12);
      if (d.sd === null) expect(m.sd).toBeNull();
      else expect(m.sd).toBeCloseTo(d.sd, 12);
    });
    const mergedUpdate = updateFromMoments(mergeUpdateMoments(await updateMoments(a), await updateMoments(b)));
    const directUpdate = await updateProfile(whole);
    expect(mergedUpdate.map((r) => [r.position, r.n])).toEqual(directUpdate.map((r) => [r.position, r.n]));
    mergedUpdate.forEach((m, i) => expect(m.delta).toBeCloseTo(directUpdate[i].delta as number, 12));
    expect(updateMass(mergedUpdate, { k: 1 }).earlyShare).toBeCloseTo(0.4, 12);
    for (const l of [whole, a, b]) l.close();
  });
});

describe("bootstrap on sufficient statistics equals resampling token rows", () => {
  it("matches a row-level reference with the same draws", () => {
    // example, position, diff rows (the fixture's 0 -> 10 differences)
    const ex = ["e1", "e1", "e1", "e2", "e2", "e3"];
    const pos = [0, 1, 2, 0, 1, 0];
    const diff = [-1, -1, 2, -1, 2, -3];
    const data = groupDiffs(ex, pos, diff);
    const B = 300;
    const fast = bootstrapMass(data, { replicates: B, seed: 7, k: 1 });
    // Reference: resample example ids with the same generator, rebuild rows, recompute E_1.
    const ids = ["e1", "e2", "e3"];
    const rand = rng(7);
    const es: number[] = [];
    for (let b = 0; b < B; b++) {
      const counts = new Map<string, number>();
      for (let i = 0; i < ids.length; i++) {
        const id = ids[Math.floor(rand() * ids.length)];
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      const byPos = new Map<number, number[]>();
      ex.forEach((e, j) => {
        for (let c = 0; c < (counts.get(e) ?? 0); c++) byPos.set(pos[j], [...(byPos.get(pos[j]) ?? []), diff[j]]);
      });
      const prof = [...byPos].map(([p, v]) => ({ position: p, n: v.length, delta: v.reduce((s, x) => s + x, 0) / v.length }));
      const m = updateMass(prof, { k: 1 });
      if (m.earlyShare !== null) es.push(m.earlyShare);
    }
    es.sort((x, y) => x - y);
    const q = (p: number) => {
      const h = (es.length - 1) * p;
      const lo = Math.floor(h);
      return es[lo] + (h - lo) * (es[Math.min(lo + 1, es.length - 1)] - es[lo]);
    };
    expect(fast.replicates).toBe(es.length);
    expect(fast.early_share![0]).toBeCloseTo(q(0.025), 12);
    expect(fast.early_share![1]).toBeCloseTo(q(0.975), 12);
  });
  it("is deterministic for a seed", () => {
    const data = groupDiffs(["a", "a", "b", "c"], [0, 1, 0, 1], [1, 2, 3, 4]);
    expect(bootstrapMass(data, { seed: 3, replicates: 100 })).toEqual(bootstrapMass(data, { seed: 3, replicates: 100 }));
  });
});
