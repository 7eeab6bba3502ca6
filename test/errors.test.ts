/** The one grouping of problems (METRICS 1.5) that every loader and the CLI use: src/errors.ts. */
import { describe, expect, it } from "vitest";
import { ProblemGroups, formatProblems, locationsNote, problemGroup } from "../src/errors";
import type { Problem } from "../src/errors";

const at = (file: string, line: number | null, field: string | null, reason = "not-finite"): Problem => ({ file, line, field, reason, message: "expected a finite number" });

describe("locationsNote", () => {
  it("names the count, the first 5 locations and how many more", () => {
    expect(locationsNote(12, [3, 5, 8, 9, 14])).toBe(" (12 lines: 3, 5, 8, 9, 14 and 7 more)");
    expect(locationsNote(2, [3, 5], "rows")).toBe(" (2 rows: 3, 5)");
    expect(locationsNote(7, [1, 2, 3, 4, 5, 6, 7], "lines", 5)).toBe(" (7 lines: 1, 2, 3, 4, 5 and 2 more)");
    expect(locationsNote(4, [])).toBe(" (4 lines)");
  });
});

describe("ProblemGroups", () => {
  it("one problem per (file, field, reason) in order of first appearance; a wide record's loss[3] counts under loss", () => {
    const g = new ProblemGroups();
    for (let line = 1; line <= 8; line++) g.add(at("a.jsonl", line, `loss[${line}]`));
    g.add(at("a.jsonl", 2, "step", "missing-field"));
    g.add(at("b.parquet", 4, "loss"));
    g.add(at("b.parquet", 9, "loss"));
    expect(g.total).toBe(11);
    expect(g.size).toBe(3);
    expect(problemGroup({ field: "loss[3]", reason: "x" })).toBe(problemGroup({ field: "loss", reason: "x" }));
    const ps = g.problems();
    expect(ps.map((p) => p.message)).toEqual([
      "expected a finite number (8 lines: 1, 2, 3, 4, 5 and 3 more)",
      "expected a finite number",
      "expected a finite number (2 rows: 4, 9)",
    ]);
    expect(ps[0]).toMatchObject({ file: "a.jsonl", line: 1, field: "loss[1]" });
    expect(g.problems({ max: 1 })).toHaveLength(1);
    // an exact count from a scan that kept only some problems
    expect(g.problems({ counts: (file) => (file === "a.jsonl" ? 20 : undefined), unit: () => "lines" })[0].message).toBe("expected a finite number (20 lines: 1, 2, 3, 4, 5 and 15 more)");
  });
  it("the CLI's lines use the same wording", () => {
    const ps = [1, 2, 3, 4, 5, 6].map((l) => at("a.jsonl", l, "loss"));
    expect(formatProblems(ps)).toEqual(['a.jsonl:1: field "loss": expected a finite number (6 lines: 1, 2, 3, 4, 5 and 1 more)']);
  });
});
