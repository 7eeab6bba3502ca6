/** METRICS 1.5: problems print one line per (file, field, reason), first 5 locations and a count of the rest. */
import { describe, expect, it } from "vitest";
import { reportError } from "../../src/cli/main";
import type { Output } from "../../src/cli/output";
import { InvalidInputError, Problem, fileProblem, formatProblems, groupProblems } from "../../src/errors";

const p = (file: string, line: number | null, field: string | null, reason: string, message: string): Problem => ({ file, line, field, reason, message });

describe("formatProblems", () => {
  it("groups 1000 row problems of one reason into one line with 5 locations and the rest counted", () => {
    const probs = Array.from({ length: 1000 }, (_, i) => p("a.jsonl", 3 * i + 2, "loss", "not-finite", "expected a finite number, got NaN"));
    expect(formatProblems(probs)).toEqual(['a.jsonl:2: field "loss": expected a finite number, got NaN (1000 lines: 2, 5, 8, 11, 14 and 995 more)']);
    expect(groupProblems(probs)[0]).toMatchObject({ count: 1000, lines: probs.map((x) => x.line) });
  });
  it("keeps files, fields and reasons apart, in order of first appearance", () => {
    const probs = [
      p("a.jsonl", 9, "loss", "not-finite", "NaN"), p("b.jsonl", 1, "loss", "not-finite", "NaN"),
      p("a.jsonl", 4, "loss", "not-finite", "NaN"), p("a.jsonl", 5, "step", "not-integer", "2.5"), p("a.jsonl", 6, "loss", "missing", "missing"),
    ];
    expect(formatProblems(probs)).toEqual([
      'a.jsonl:4: field "loss": NaN (2 lines: 4, 9)', 'b.jsonl:1: field "loss": NaN', 'a.jsonl:5: field "step": 2.5', 'a.jsonl:6: field "loss": missing',
    ]);
  });
  it("prints a whole-file problem once however often it was reported; rows for Parquet", () => {
    const whole = Array.from({ length: 1001 }, () => fileProblem("t.csv", "delimiter", "the delimiter must be a comma"));
    expect(formatProblems(whole)).toEqual(["t.csv: the delimiter must be a comma"]);
    expect(formatProblems([p("t.parquet", 7, "loss", "nan", "NaN"), p("t.parquet", 8, "loss", "nan", "NaN")])).toEqual(['t.parquet:7: field "loss": NaN (2 rows: 7, 8)']);
  });
  it("the CLI prints the grouped lines (exit 1)", () => {
    const notes: string[] = [];
    const out: Output = { json: () => undefined, text: () => undefined, note: (s) => notes.push(s) };
    const probs = Array.from({ length: 100 }, (_, i) => p("a.jsonl", i + 1, "loss", "not-finite", "NaN"));
    expect(reportError(new InvalidInputError(probs, 334), out)).toBe(1);
    expect(notes).toEqual([
      'error: a.jsonl:1: field "loss": NaN (100 lines: 1, 2, 3, 4, 5 and 95 more)',
      "error: ... and 234 more problems not itemised (for token logs, 'aligndepth validate' lists them; --skip-invalid uses the valid rows)",
    ]);
  });
});

describe("reportError: the engine's memory limit", () => {
  it("names --memory-limit instead of calling it an internal error (exit 3)", () => {
    const lines: string[] = [];
    const out: Output = { json: () => undefined, text: () => undefined, note: (s) => lines.push(s) };
    expect(reportError(new Error("Out of Memory Error: failed to pin block of size 256.0 KiB (1.8 GiB/1.8 GiB used)"), out)).toBe(3);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: DuckDB ran out of memory under its limit \(--memory-limit, default 2GB; this machine has \d+ GB\): give a larger --memory-limit, e\.g\. --memory-limit \d+GB, or fewer files at a time$/);
    expect(lines[0]).not.toContain("please report");
  });
});
