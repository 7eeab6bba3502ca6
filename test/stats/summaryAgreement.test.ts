/**
 * summary's point estimates against a separate straightforward implementation of METRICS.md v2
 * 3.3-3.5 written here, on a generated log the kit has not seen: ragged lengths, mixed signs,
 * examples missing at one step, two runs (fixed seed).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokenLogs, rng, updateSummary } from "../../src/index";

type Row = { run: string; step: number; example: string; position: number; loss: number };

function generate(): Row[] {
  const rand = rng(42);
  const rows: Row[] = [];
  for (const run of ["a", "b"])
    for (let e = 0; e < 12; e++) {
      const len = 3 + Math.floor(rand() * 8);
      const skipLate = rand() < 0.2; // missing at the last step: no pairs
      for (let p = 0; p < len; p++) {
        const start = 1 + 3 * rand();
        const change = (run === "a" ? -1.2 * Math.exp(-p) : 0.4 * Math.sin(p)) + 0.3 * (rand() - 0.5);
        rows.push({ run, step: 0, example: `e${e}`, position: p, loss: start });
        if (!skipLate || p < 2) rows.push({ run, step: 50, example: `e${e}`, position: p, loss: Math.max(0, start + change) });
      }
    }
  return rows;
}

function naive(rows: Row[], run: string, k: number) {
  const at = (step: number) => new Map(rows.filter((r) => r.run === run && r.step === step).map((r) => [`${r.example}|${r.position}`, r.loss]));
  const a = at(0);
  const b = at(50);
  const byPos = new Map<number, { d: number[]; va: number[] }>();
  for (const [key, va] of a) {
    const vb = b.get(key);
    if (vb === undefined) continue;
    const p = Number(key.split("|")[1]);
    const g = byPos.get(p) ?? { d: [], va: [] };
    g.d.push(vb - va);
    g.va.push(va);
    byPos.set(p, g);
  }
  const ps = [...byPos.keys()].sort((x, y) => x - y);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const delta = ps.map((p) => mean(byPos.get(p)!.d));
  const start = ps.map((p) => mean(byPos.get(p)!.va));
  const D = delta.reduce((s, x) => s + x, 0);
  const N = ps.reduce((s, p, i) => s + (p < k ? delta[i] : 0), 0) / D;
  const z = (alpha: number) => {
    let c = 0;
    for (let i = 0; i < ps.length; i++) {
      const prev = c;
      c += delta[i] / D;
      if (c >= alpha) return ps[i] + (alpha - prev) / (c - prev);
    }
    return null;
  };
  const pos = delta.filter((x) => x > 0).reduce((s, x) => s + x, 0);
  const neg = -delta.filter((x) => x < 0).reduce((s, x) => s + x, 0);
  const abs = delta.map(Math.abs);
  const A = abs.reduce((s, x) => s + x, 0);
  const E = ps.reduce((s, p, i) => s + (p < k ? abs[i] : 0), 0) / A;
  const d = (alpha: number) => {
    let c = 0;
    for (let i = 0; i < ps.length; i++) if ((c += abs[i] / A) >= alpha - 1e-12) return ps[i] + 1;
    return null;
  };
  const H = D < 0 ? ps.reduce((s, p, i) => s + (p < k ? start[i] : 0), 0) / start.reduce((s, x) => s + x, 0) : null;
  return { D, N, z50: z(0.5), z90: z(0.9), R: Math.min(pos, neg) / (pos + neg), E, d50: d(0.5), d90: d(0.9), H, uniform: Math.min(k, ps.length) / ps.length };
}

describe("summary agrees with a straightforward implementation", () => {
  it("on a ragged, mixed-sign log with missing pairs (point estimates to 1e-9)", async () => {
    const rows = generate();
    const dir = mkdtempSync(join(tmpdir(), "agree-"));
    const f = join(dir, "log.jsonl");
    writeFileSync(f, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const logs = await loadTokenLogs([f], { progress: false });
    try {
      const s = await updateSummary(logs, { k: 2, bootstrap: 0 });
      expect(s.runs.map((r) => r.run)).toEqual(["a", "b"]);
      for (const r of s.runs) {
        const n = naive(rows, r.run, 2);
        expect(r.net_change).toBeCloseTo(n.D, 9);
        expect(r.net_early_share).toBeCloseTo(n.N, 9);
        expect(r.z50).toBeCloseTo(n.z50!, 9);
        expect(r.z90).toBeCloseTo(n.z90!, 9);
        expect(r.counter_movement).toBeCloseTo(n.R, 9);
        expect(r.early_share).toBeCloseTo(n.E, 9);
        expect(r.d50).toBe(n.d50);
        expect(r.d90).toBe(n.d90);
        expect(r.uniform_early_share).toBeCloseTo(n.uniform, 12);
        if (n.H === null) expect(r.headroom_early_share).toBeNull();
        else expect(r.headroom_early_share).toBeCloseTo(n.H, 9);
      }
      // run a falls (headroom defined), run b moves both ways (counter-movement)
      expect(s.runs[0].headroom_early_share).not.toBeNull();
      expect(s.runs[1].counter_movement!).toBeGreaterThan(0.1);
    } finally {
      logs.close();
    }
  });
});
