/** The JSON contracts of validate, profile and summary, and the exit codes, through `main`. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "./run";

const fx = (name: string) => join(__dirname, "..", "fixtures", "core", name);


describe("aligndepth CLI", () => {
  it("summary --json follows the contract", async () => {
    const r = await run(["summary", fx("ragged-wide.jsonl"), "--k", "1", "--bootstrap", "50", "--json", "--no-progress"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(["schema", "metric", "k", "warnings", "runs", "recipes", "metric_rows"]);
    expect(j.schema).toBe(2);
    expect(j.warnings.join("\n")).toMatch(/ignore training randomness/);
    expect(j.metric).toBe("loss");
    expect(j.k).toBe(1);
    const s = j.runs[0];
    // Version 1's names keep their meaning; METRICS 5 adds the net statistics, references and ci_info.
    for (const key of ["run", "from", "to", "examples", "positions", "tokens", "early_share", "d50", "d90", "ci", "probe_set", "rows_used", "net_change", "net_early_share", "z50", "z90", "counter_movement", "headroom_early_share", "uniform_early_share", "ci_info"])
      expect(s).toHaveProperty(key);
    // deltas -5/3, 1/2, 2: D = 5/6, N1 = -2, C = -2, -1.4, 1: z50 = 2 + 1.9 / 2.4, z90 = 2 + 2.3 / 2.4, R = (5/3) / (25/6) = 0.4
    expect(s.net_change).toBeCloseTo(5 / 6, 12);
    expect(s.net_early_share).toBeCloseTo(-2, 12);
    expect(s.z50).toBeCloseTo(2 + 1.9 / 2.4, 12);
    expect(s.z90).toBeCloseTo(2 + 2.3 / 2.4, 12);
    expect(s.counter_movement).toBeCloseTo(0.4, 12);
    expect(s.uniform_early_share).toBeCloseTo(1 / 3, 12);
    expect(s.rows_used).toBe(12);
    expect(s.ci_info).toMatchObject({ method: "bca", B: 50, seed: 0 });
    expect(s).toMatchObject({ run: "r", from: 0, to: 10, examples: 3, positions: 3, tokens: 12, d50: 2, d90: 3 });
    expect(s.early_share).toBeCloseTo(0.4, 12);
    for (const v of [s.ci.early_share, s.ci.d50, s.ci.d90] as number[][]) {
      expect(v).toHaveLength(2);
      expect(typeof v[0]).toBe("number");
    }
  });
  it("summary --from/--to pick the steps", async () => {
    const r = await run(["summary", fx("ragged-long.jsonl"), "--from", "0", "--to", "5", "--bootstrap", "0", "--json"]);
    const s = JSON.parse(r.stdout).runs[0];
    expect(s).toMatchObject({ from: 0, to: 5, early_share: 1, d50: 1, d90: 1, tokens: 12 });
    expect(Object.values(s.ci).every((v) => v === null)).toBe(true);
  });
  it("profile --json rows carry n, mean, sd, se with nulls where undefined", async () => {
    const r = await run(["profile", fx("ragged-long.csv"), "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.metric).toBe("loss");
    expect(j.rows).toHaveLength(9);
    expect(Object.keys(j.rows[0])).toEqual(["run", "step", "position", "n", "mean", "sd", "se"]);
    expect(j.rows[2]).toEqual({ run: "r", step: 0, position: 2, n: 1, mean: 6, sd: null, se: null });
  });
  it("validate --json lists files, rows and errors", async () => {
    const r = await run(["validate", fx("ragged-long.jsonl"), "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ files: [{ path: fx("ragged-long.jsonl"), rows: 18, valid: true, errors: [] }] });
  });
  it("exit code 1 on invalid input, 2 on usage errors, 0 on --help", async () => {
    expect((await run(["summary", fx("missing.jsonl")])).code).toBe(1);
    const bad = await run(["summary", fx("ragged-long.jsonl"), "--metric", "kl"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no metric "kl"/);
    expect((await run(["summary", fx("ragged-long.jsonl"), "--k", "x"])).code).toBe(2);
    for (const k of ["-3", "0"]) {
      const r = await run(["summary", fx("ragged-long.jsonl"), "--k", k]);
      expect([k, r.code, r.stderr.trim()]).toEqual([k, 2, "error: summary: --k must be >= 1"]);
    }
    expect((await run(["frobnicate"])).code).toBe(2);
    for (const c of ["validate", "profile", "summary"]) {
      const h = await run([c, "--help"]);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/^usage: aligndepth /);
    }
  });
  it("readable tables without --json", async () => {
    const r = await run(["summary", fx("ragged-long.jsonl"), "--k", "1", "--bootstrap", "0"]);
    expect(r.stdout).toMatch(/N1/);
    expect(r.stdout).toMatch(/E1 \(abs\.\)/);
    expect(r.stdout).toMatch(/0\.4/);
  });
});
