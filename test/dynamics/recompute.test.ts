/**
 * S_k and X_k against an independent computation: a random influence log (random shape, random
 * missing cells, signed values) written to a file, loaded, and both statistics recomputed here
 * from the raw records with plain loops over a dictionary, agreeing to 1e-12. Then g(q) (level
 * share, z50, per token), the token share, the approximation check (r, ratio of sums, relative L2
 * error) and a recipe's mean S_k, recomputed from random gzipped logs read through `dynamicsSummary`.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDynamicsLogs } from "../../src/dynamics/load";
import { influenceMatrices } from "../../src/dynamics/influenceMatrix";
import { sourceEarlyShare } from "../../src/dynamics/sourceEarlyShare";
import { crossInfluence } from "../../src/dynamics/crossInfluence";
import { rng } from "../../src/stats/bootstrap";
import { dynamicsSummary } from "../../src/dynamics/summary";
import { gzipSync } from "node:zlib";

describe("S_k and X_k agree with an independent computation", () => {
  it("on a randomly generated log", async () => {
    const rand = rng(20261130);
    const lines: string[] = [];
    const raw: Array<{ run: string; step: number; split: string; p: number; q: number; v: number }> = [];
    for (const run of ["a-seed1", "b-seed2"])
      for (const step of [0, 3, 7])
        for (const split of ["harmful", "refusal"]) {
          const P = 2 + Math.floor(rand() * 12);
          const Q = 2 + Math.floor(rand() * 12);
          for (let p = 0; p < P; p++)
            for (let q = 0; q < Q; q++) {
              if (rand() < 0.1) continue;
              const v = (rand() - 0.7) * 10 ** (-1 - 3 * rand());
              raw.push({ run, step, split, p, q, v });
              lines.push(JSON.stringify({ run, step, split, position: p, source_position: q, influence: v }));
            }
        }
    const dir = mkdtempSync(join(tmpdir(), "aligndepth-dyn-"));
    const file = join(dir, "influence-random.jsonl");
    writeFileSync(file, lines.join("\n") + "\n");
    const logs = await loadDynamicsLogs(file);
    const ms = influenceMatrices(logs.influence);
    for (const k of [1, 3, 5]) {
      const s = sourceEarlyShare(ms, [], { k });
      const x = crossInfluence(ms, { k });
      expect(s).toHaveLength(12);
      for (let i = 0; i < s.length; i++) {
        let num = 0;
        let den = 0;
        let xnum = 0;
        let xden = 0;
        for (const r of raw) {
          if (r.run !== s[i].run || r.step !== s[i].step || r.split !== s[i].split) continue;
          den += r.v;
          if (r.q < k) num += r.v;
          if (r.p >= k) {
            xden += r.v;
            if (r.q < k) xnum += r.v;
          }
        }
        expect(s[i].source_early_share).not.toBeNull();
        expect(Math.abs((s[i].source_early_share as number) - num / den)).toBeLessThan(1e-12);
        if (xden === 0) expect(x[i].cross_influence).toBeNull();
        else expect(Math.abs((x[i].cross_influence as number) - xnum / xden)).toBeLessThan(1e-12);
      }
    }
  });
});

describe("g(q), the token share, z50 and the approximation check agree with an independent computation", () => {
  it("on random training-gradient, influence and probe-change logs (gzipped), through dynamicsSummary", async () => {
    const rand = rng(7);
    const dir = mkdtempSync(join(tmpdir(), "aligndepth-dyn-g-"));
    const lines = { influence: [] as string[], tg: [] as string[], pc: [] as string[] };
    // raw values kept here, by (run, step[, split])
    const tg = new Map<string, Array<{ q: number; g: number; n: number }>>();
    const inf = new Map<string, Map<number, number>>(); // predicted change per p: sum over q of I
    const pc = new Map<string, Map<number, number>>(); // measured change per p
    const runs = ["u-seed1", "u-seed2", "v-seed1", "v-seed2", "v-seed3"];
    for (const run of runs)
      for (const step of [0, 4, 9]) {
        const Q = 3 + Math.floor(rand() * 10);
        const rows = [];
        for (let q = 0; q < Q; q++) {
          const n = rand() < 0.2 ? 0 : 1 + Math.floor(rand() * 40);
          const g = n === 0 ? 0 : rand() * 3;
          rows.push({ q, g, n });
          lines.tg.push(JSON.stringify({ run, step, source_position: q, train_grad_norm: g, n_tokens: n }));
        }
        tg.set(JSON.stringify([run, step]), rows);
        for (const split of ["harmful", "refusal"]) {
          const P = 2 + Math.floor(rand() * 8);
          const pred = new Map<number, number>();
          const meas = new Map<number, number>();
          for (let p = 0; p < P; p++) {
            let sum = 0;
            for (let q = 0; q < Q; q++) {
              const v = (rand() - 0.6) * 0.01;
              sum += v;
              lines.influence.push(JSON.stringify({ run, step, split, position: p, source_position: q, influence: v }));
            }
            pred.set(p, sum);
            const before = 2 + rand();
            const after = before + sum * (0.5 + rand()) + (rand() - 0.5) * 0.002;
            meas.set(p, after - before);
            lines.pc.push(JSON.stringify({ run, step, split, position: p, loss_before: before, loss_after: after }));
          }
          inf.set(JSON.stringify([run, step, split]), pred);
          pc.set(JSON.stringify([run, step, split]), meas);
        }
      }
    const write = (name: string, ls: string[]) => {
      const f = join(dir, name);
      writeFileSync(f, gzipSync(ls.join("\n") + "\n"));
      return f;
    };
    const files = [write("influence-r.jsonl.gz", lines.influence), write("train-gradient-r.jsonl.gz", lines.tg), write("probe-change-r.jsonl.gz", lines.pc)];
    const k = 3;
    const s = dynamicsSummary(await loadDynamicsLogs(files), { k });

    expect(s.train_gradient).toHaveLength(15);
    for (const row of s.train_gradient) {
      const raw = tg.get(JSON.stringify([row.run, row.step]))!;
      let g = 0, gEarly = 0, n = 0, nEarly = 0;
      for (const r of raw) {
        g += r.g;
        n += r.n;
        if (r.q < k) (gEarly += r.g), (nEarly += r.n);
      }
      expect(row.level_early_share!).toBeCloseTo(gEarly / g, 12);
      expect(row.token_share!).toBeCloseTo(nEarly / n, 12);
      // z50: the first q with cumulative share >= 0.5, plus the interpolated fraction (METRICS 3.4)
      let c = 0;
      let z50 = NaN;
      for (const r of raw) {
        const next = c + r.g / g;
        if (next >= 0.5) {
          z50 = r.q + (0.5 - c) / (next - c);
          break;
        }
        c = next;
      }
      expect(row.level_z50!).toBeCloseTo(z50, 10);
      for (const [i, r] of raw.entries()) {
        expect(row.positions[i].train_grad_norm).toBe(r.g);
        if (r.n === 0) expect(row.positions[i].grad_norm_per_token).toBeNull();
        else expect(row.positions[i].grad_norm_per_token!).toBeCloseTo(r.g / r.n, 12);
      }
    }
    // the token share beside S_k is the step's, for every probe set
    for (const row of s.influence) {
      const raw = tg.get(JSON.stringify([row.run, row.step]))!;
      expect(row.token_share!).toBeCloseTo(raw.filter((r) => r.q < k).reduce((a, r) => a + r.n, 0) / raw.reduce((a, r) => a + r.n, 0), 12);
    }

    expect(s.approximation).toHaveLength(30);
    for (const row of s.approximation) {
      const key = JSON.stringify([row.run, row.step, row.split]);
      const pred = [...inf.get(key)!.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
      const meas = [...pc.get(key)!.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
      const n = pred.length;
      const mp = pred.reduce((a, b) => a + b, 0) / n;
      const mm = meas.reduce((a, b) => a + b, 0) / n;
      let sxy = 0, sxx = 0, syy = 0, err = 0, norm = 0;
      for (let i = 0; i < n; i++) {
        sxy += (pred[i] - mp) * (meas[i] - mm);
        sxx += (pred[i] - mp) ** 2;
        syy += (meas[i] - mm) ** 2;
        err += (pred[i] - meas[i]) ** 2;
        norm += meas[i] ** 2;
      }
      expect(row.n_positions).toBe(n);
      expect(row.pearson_r!).toBeCloseTo(sxy / Math.sqrt(sxx * syy), 10);
      expect(row.ratio_of_sums!).toBeCloseTo((mp * n) / (mm * n), 10);
      expect(row.relative_l2_error!).toBeCloseTo(Math.sqrt(err / norm), 10);
    }

    // a recipe's S_k at a step: the mean over its runs of sum over q < k of I / sum of I, from the raw lines
    const raw = lines.influence.map((l) => JSON.parse(l) as { run: string; step: number; split: string; source_position: number; influence: number });
    for (const r of s.recipes) {
      const shares = r.run_names.map((run) => {
        const mine = raw.filter((x) => x.run === run && x.step === r.step && x.split === r.split);
        return mine.filter((x) => x.source_position < k).reduce((a, x) => a + x.influence, 0) / mine.reduce((a, x) => a + x.influence, 0);
      });
      expect(r.recipe).toBe(r.run_names[0].replace(/-seed\d+$/, ""));
      expect(r.source_early_share.mean!).toBeCloseTo(shares.reduce((a, b) => a + b, 0) / shares.length, 10);
    }
  });
});
