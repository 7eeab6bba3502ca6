/**
 * S_k and X_k against an independent computation: a random influence log (random shape, random
 * missing cells, signed values) written to a file, loaded, and both statistics recomputed here
 * from the raw records with plain loops over a dictionary, agreeing to 1e-12.
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
