/**
 * Text tables print each value once, correctly rounded (no rounding to 3 decimals before the table
 * rounds to 4), and tiny values in scientific notation instead of 0.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatCell } from "../../src/table";
import { run } from "./run";

describe("formatCell rounds once", () => {
  it("prints 4 correct decimals and tiny values in scientific notation", () => {
    expect(formatCell(0.5 / 0.9375)).toBe("0.5333"); // z50 of prompt-tokens-segment (was 0.5330)
    expect(formatCell(-4.40643)).toBe("-4.4064"); // (was -4.4060)
    expect(formatCell(5 / 23)).toBe("0.2174"); // uniform reference, k = 5 of 23 positions (was 0.2170)
    expect(formatCell(0.0004)).toBe("4.000e-4"); // (was 0)
    expect(formatCell(-0.00012346)).toBe("-1.235e-4");
    expect(formatCell(2 / 2001)).toBe("9.995e-4"); // the smallest bootstrap p with B = 2000 (compare rounded it to 0.0010)
    expect(formatCell(3)).toBe("3");
    expect(formatCell(null)).toBe("-");
  });
});

describe("summary and compare text tables", () => {
  it("summary prints z50 0.5333, not 0.5330 (prompt-tokens-segment: D -1.6, z50 0.5333, z90 0.96)", async () => {
    const r = await run(["summary", join(__dirname, "..", "fixtures", "stats", "prompt-tokens-rebased.jsonl"), "--bootstrap", "200"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[1]).toBe("run  steps  examples        D  N5  N5 95% CI     z50     z90        z90 95% CI  R  uniform  H5");
    expect(lines[3]).toBe("sft  0-100         2  -1.6000   1     1 to 1  0.5333  0.9600  0.9600 to 0.9600  0        1   1");
  });
  it("compare prints the bootstrap p 2 / 2001 as 9.995e-4 (N1 of sft-seed1 1, aug-seed1 0.5; z90 0.9 and 1.8)", async () => {
    const fx = join(__dirname, "..", "fixtures", "stats", "seeds.jsonl");
    const r = await run(["compare", "sft-seed1", "aug-seed1", fx, "--k", "1", "--where", "split=harmful"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[2]).toBe("  interval and p: one run per side: the interval and p ignore training randomness (seeds)");
    expect(lines[5]).toBe("net_early_share          1     0.5000      0.5000    0.5000 to 0.5000  9.995e-4    0.0030");
    expect(lines[6]).toBe("z90                 0.9000     1.8000     -0.9000  -0.9000 to -0.9000  9.995e-4    0.0030");
  });
});
