/**
 * A metric logged at some checkpoints only (METRICS 1.2), at a step where it is not measured:
 * test/fixtures/cases/logger-sparse-kl.jsonl has kl at steps 0 and 100 only (loss at 0, 50, 100),
 * examples p0 and p1, positions 0-2. kl deltas 0 -> 100: (0.56088 - 0.998336 + 2.24731 - 0.445105) / 2
 * = 0.6823745, (0.464603 - 0.365151 + 0.895582 - 0.36505) / 2 = 0.314992, (1.56887 - 1.51028 +
 * 1.17561 - 0.589013) / 2 = 0.3225935: D = 1.31996.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "./run";

const fx = join(__dirname, "..", "fixtures", "cases", "logger-sparse-kl.jsonl");

describe("summary of a metric not measured at the chosen step", () => {
  it("--from 50: says plainly that kl is not measured there, once, and gives the right reason for n/a", async () => {
    const r = await run(["summary", fx, "--metric", "kl", "--from", "50", "--bootstrap", "50", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.warnings).toEqual([
      "kl is not measured at step 50 of run sft (measured at steps 0, 100): nothing to pair there",
      "sft (split = refusal): no example has kl at both step 50 and step 100: no pairs, every statistic is n/a",
      expect.stringMatching(/^one run per recipe/),
    ]);
    expect(j.runs[0]).toMatchObject({ from: 50, to: 100, examples: 0, net_change: null, headroom_reason: "no pairs: net change undefined" });
    expect(j.warnings.join("\n")).not.toMatch(/no interval: no interval/);
    const text = await run(["summary", fx, "--metric", "kl", "--from", "50", "--bootstrap", "50"]);
    expect(text.stdout).toMatch(/n\/a \(no pairs: net change undefined\)/);
    expect(text.stdout).not.toMatch(/net change is not negative/);
  });
  it("--to 50 warns too (it gave no warning before)", async () => {
    const r = await run(["summary", fx, "--metric", "kl", "--to", "50", "--bootstrap", "50"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: kl is not measured at step 50 of run sft (measured at steps 0, 100): nothing to pair there\n");
    expect(r.stderr).toContain("warning: sft (split = refusal): no example has kl at both step 0 and step 50: no pairs, every statistic is n/a\n");
  });
  it("steps where kl is measured: no such warning, and D by hand", async () => {
    const r = await run(["summary", fx, "--metric", "kl", "--from", "0", "--to", "100", "--bootstrap", "0", "--json"]);
    const j = JSON.parse(r.stdout);
    expect(j.warnings.join("\n")).not.toMatch(/not measured/);
    expect(j.runs[0].net_change).toBeCloseTo(0.6823745 + 0.314992 + 0.3225935, 9);
    expect(j.runs[0].examples).toBe(2);
  });
});
