/**
 * loadRunData moves the paired differences to JS as typed arrays streamed from DuckDB chunks (no
 * per-row objects). It must give exactly what the per-row path gave (kept in legacyRunData.ts):
 * the same example numbering, CSR tables, squares, pools, and so bit-identical bootstrap
 * intervals, on logs with ragged lengths, several runs, missing positions and ids such as "1" and
 * "1.0" (distinct strings), and with integer ids (text order, not numeric).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokenLogs, rng, updateSummary } from "../../src/index";
import type { TokenLogs } from "../../src/load";
import { LoadedRun, indexPositions, loadRunData } from "../../src/stats/runData";
import { runIntervals } from "../../src/stats/runIntervals";
import { pairedComparison } from "../../src/stats/pairedComparison";
import { legacyLoadRunData } from "./legacyRunData";

type Row = { run: string; step: number; example: string | number; position: number; loss: number; kl: number };

/** Three runs (names out of creation order), steps 0/10/20; examples missing from some runs, ragged, with gaps at the last step. */
function generate(ids: Array<string | number>): Row[] {
  const rand = rng(7);
  const rows: Row[] = [];
  for (const run of ["zeta", "alpha", "mid"])
    ids.forEach((example, i) => {
      // Each run lacks some examples (so later runs add ids to the shared numbering out of text order).
      if ((run === "alpha" && i % 4 === 1) || (run === "zeta" && i % 5 === 2) || (run === "mid" && i % 3 === 0)) return;
      const len = 1 + Math.floor(rand() * 9);
      const lastLen = rand() < 0.3 ? Math.max(0, len - 1 - Math.floor(rand() * 3)) : len; // shorter at the last step (or absent)
      // Some examples of "mid" start late (no row at step 0): they have level rows but no pairs.
      const lateStart = run === "mid" && i % 3 === 1;
      for (const step of [0, 10, 20])
        for (let p = 0; p < (step === 20 ? lastLen : step === 0 && lateStart ? 0 : len); p++) {
          const base = 1 + 2 * rand();
          rows.push({ run, step, example, position: p, loss: Math.max(0, base - (step / 20) * Math.exp(-p / (run === "alpha" ? 2 : 6)) + 0.2 * (rand() - 0.5)), kl: rand() * 0.3 });
        }
    });
  return rows;
}

async function logsOf(rows: Row[]): Promise<TokenLogs> {
  const dir = mkdtempSync(join(tmpdir(), "rundata-"));
  const f = join(dir, "log.jsonl");
  writeFileSync(f, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return loadTokenLogs([f], { progress: false, cache: false });
}

/** Equal bit for bit (NaN equal to NaN, 0 distinct from -0). */
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`${what}[${i}]: ${a[i]} !== ${b[i]}`);
}

function sameRuns(a: LoadedRun[], b: LoadedRun[]): void {
  expect(a.map((r) => r.run)).toEqual(b.map((r) => r.run));
  a.forEach((x, i) => {
    const y = b[i];
    expect([x.from, x.to, x.tokens, x.rowsUsed, x.nonNegative], x.run).toEqual([y.from, y.to, y.tokens, y.rowsUsed, y.nonNegative]);
    expect(x.level).toEqual(y.level);
    sameBits(x.squares, y.squares, `${x.run} squares`);
    sameBits(x.data.pool, y.data.pool, `${x.run} pool`);
    for (const [t, u, name] of [[x.data.pairs, y.data.pairs, "pairs"], [x.data.level, y.data.level, "level"]] as const) {
      if (t === null || u === null) {
        expect(t, name).toBe(u);
        continue;
      }
      expect(t.ids, `${x.run} ${name} ids`).toEqual(u.ids);
      expect(t.positionValues, `${x.run} ${name} positions`).toEqual(u.positionValues);
      sameBits(t.offsets, u.offsets, `${x.run} ${name} offsets`);
      sameBits(t.positionIndex, u.positionIndex, `${x.run} ${name} positionIndex`);
      expect(t.columns.length).toBe(u.columns.length);
      t.columns.forEach((c, k) => sameBits(c, u.columns[k], `${x.run} ${name} column ${k}`));
    }
  });
}

describe("loadRunData (typed columns streamed from DuckDB)", () => {
  it("builds the CSR table of a tiny log by hand: ids '1' and '1.0' are two examples", async () => {
    const rows: Row[] = [
      { run: "r", step: 0, example: "1.0", position: 0, loss: 2, kl: 0 },
      { run: "r", step: 0, example: "1", position: 0, loss: 3, kl: 0 },
      { run: "r", step: 0, example: "1", position: 1, loss: 5, kl: 0 },
      { run: "r", step: 9, example: "1", position: 0, loss: 2.5, kl: 0 },
      { run: "r", step: 9, example: "1", position: 1, loss: 4, kl: 0 },
      { run: "r", step: 9, example: "1.0", position: 0, loss: 1, kl: 0 },
    ];
    const logs = await logsOf(rows);
    try {
      const { runs, index } = await loadRunData(logs, { metric: "loss" });
      expect([...index.entries()]).toEqual([["1", 0], ["1.0", 1]]);
      const t = runs[0].data.pairs;
      expect(t.ids).toEqual(["1", "1.0"]);
      expect([...t.offsets]).toEqual([0, 2, 3]);
      expect(t.positionValues).toEqual([0, 1]);
      expect([...t.positionIndex]).toEqual([0, 1, 0]);
      expect([...t.columns[0]]).toEqual([-0.5, -1, -1]); // m_b - m_a
      expect([...t.columns[1]]).toEqual([3, 5, 2]); // m_a
      expect([...runs[0].squares]).toEqual([0.25 + 1, 1]);
      expect(runs[0].rowsUsed).toBe(6);
      expect(runs[0].tokens).toBe(6);
      expect(runs[0].nonNegative).toBe(true);
      expect([...runs[0].data.pool]).toEqual([0, 1]);
    } finally {
      logs.close();
    }
  });

  for (const [name, ids] of [
    ["string ids such as '1', '1.0', '10', '2', 'B', 'a'", ["1", "1.0", "10", "2", "B", "a", "b-7", "x", "01", "1e0", "é", "Z"]],
    ["integer ids (numbered in text order: 10 before 2)", [1, 2, 10, 3, 20, 100, 7, 11, 0, 5, 12, 13]],
  ] as const)
    it(`equals the per-row path bit for bit, with bit-identical intervals: ${name}`, async () => {
      const logs = await logsOf(generate([...ids]));
      try {
        for (const opts of [{ metric: "loss" }, { metric: "loss", levelMetric: "kl" }, { metric: "loss", levelMetric: "kl", levelStep: 10, runs: ["alpha", "mid"] }, { metric: "loss", from: 10, to: 20, runs: ["mid", "zeta"] }]) {
          const typed = await loadRunData(logs, opts);
          const legacy = await legacyLoadRunData(logs, opts);
          expect([...typed.index.entries()]).toEqual([...legacy.index.entries()]);
          sameRuns(typed.runs, legacy.runs);
          for (let r = 0; r < typed.runs.length; r++) {
            const o = { k: 2, B: 200, seed: 3, method: "bca" as const, nonNegative: typed.runs[r].nonNegative };
            const x = runIntervals(typed.runs[r].data, o);
            const y = runIntervals(legacy.runs[r].data, o);
            sameBits(x.estimate, y.estimate, "estimate");
            expect(x.ci).toEqual(y.ci);
            expect(x.info).toEqual(y.info);
          }
          // A paired comparison of two runs (shared numbering) is identical too.
          const side = (l: LoadedRun[], i: number) => ({ name: l[i].run, runs: [l[i].run], data: [l[i].data] });
          const pc = (l: LoadedRun[]) => pairedComparison(side(l, 0), side(l, 1), { statistics: ["net_early_share", "early_share"], B: 300, seed: 1, k: 2 });
          expect(pc(typed.runs)).toEqual(pc(legacy.runs));
        }
        // The summary is deterministic on the typed path (a seeded bootstrap); intervals are there.
        const s = await updateSummary(logs, { k: 2, bootstrap: 200, seed: 5 });
        expect(s.runs.map((r) => r.run)).toEqual(["alpha", "mid", "zeta"]);
        expect(s.runs[0].ci.early_share).not.toBeNull();
      } finally {
        logs.close();
      }
    });

  it("a run with no pairs gives empty tables over the shared numbering", async () => {
    const rows = generate(["a", "b", "c"]).filter((r) => !(r.run === "mid" && r.step === 20));
    const logs = await logsOf(rows);
    try {
      const opts = { metric: "loss", to: 20 };
      const typed = await loadRunData(logs, opts);
      const legacy = await legacyLoadRunData(logs, opts);
      sameRuns(typed.runs, legacy.runs);
      const mid = typed.runs.find((r) => r.run === "mid")!;
      expect(mid.rowsUsed).toBe(0);
      expect(mid.data.pool.length).toBe(0);
      expect(mid.data.pairs.offsets.length).toBe(typed.index.size + 1);
    } finally {
      logs.close();
    }
  });
  it("no pairs in any run (a step no run has): empty tables, as before", async () => {
    const logs = await logsOf(generate(["a", "b"]));
    try {
      const opts = { metric: "loss", from: 3, to: 20, levelMetric: "kl", levelStep: 7 };
      const typed = await loadRunData(logs, opts);
      sameRuns(typed.runs, (await legacyLoadRunData(logs, opts)).runs);
      expect(typed.index.size).toBe(0);
      expect(typed.runs.map((r) => r.rowsUsed)).toEqual([0, 0, 0]);
    } finally {
      logs.close();
    }
  });
});

describe("indexPositions", () => {
  it("numbers distinct positions in ascending order (lookup array and Map paths agree)", () => {
    const small = indexPositions(Float64Array.from([5, 0, 5, 2, 0]));
    expect(small.positionValues).toEqual([0, 2, 5]);
    expect([...small.positionIndex]).toEqual([2, 0, 2, 1, 0]);
    const wide = indexPositions(Float64Array.from([2 ** 30, 0, 2 ** 30, 7]));
    expect(wide.positionValues).toEqual([0, 7, 2 ** 30]);
    expect([...wide.positionIndex]).toEqual([2, 0, 2, 1]);
    expect(indexPositions(new Float64Array(0)).positionValues).toEqual([]);
  });
});
