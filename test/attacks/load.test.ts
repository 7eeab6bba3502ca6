/** Loading attack results: records, judge files, the file-name pattern, validation and skip mode. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { attackSuccess } from "../../src/attacks/asr";
import { loadAttackResults, parseSetPairs } from "../../src/attacks/load";
import { InvalidInputError, UsageError } from "../../src/errors";

const fx = (name: string) => join(__dirname, "..", "fixtures", "attacks", name);
const judge = [fx("judge/m1_prefilled_3_harmful_tokens.jsonl"), fx("judge/m1_prefilled_10_harmful_tokens.jsonl.gz")];
const JUDGE_OPTS = { set: { run: "m1", attack: "prefill" }, namePattern: "prefilled_(?<k>\\d+)_harmful" };

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "aligndepth-attacks-"));
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

async function problemOf(p: Promise<unknown>): Promise<InvalidInputError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return e as InvalidInputError;
  }
  throw new Error("expected InvalidInputError");
}

describe("loadAttackResults", () => {
  it("reads records with harmful or score", async () => {
    const { records, report } = await loadAttackResults(fx("results.jsonl"));
    expect(records).toHaveLength(12);
    expect(report).toMatchObject({ records: 12, recordsUsed: 12, recordsSkipped: 0, threshold: 5 });
    expect(records[2]).toMatchObject({ run: "sft", attack: "prefill", k: 10, example: 0, score: 5, harmful: true, prefix_len: null, line: 3 });
    expect(records[5]).toMatchObject({ attack: "insertion", prefix_len: 0, span_len: 2, example: "a", score: null, line: 7 }); // after the blank line 6
  });
  it("reads judge files (plain and gzip) with --set and the name pattern", async () => {
    const { records } = await loadAttackResults(judge, JUDGE_OPTS);
    expect(records).toHaveLength(8);
    expect(records[0]).toMatchObject({ run: "m1", attack: "prefill", k: 3, example: 0, score: 5, harmful: true, conditions: {} });
    const rows = attackSuccess(records);
    // k=3: scores 5,1,5,3 -> 2/4; k=10: 5,5,5,2 -> 3/4
    expect(rows.map((r) => [r.k, r.harmful, r.n])).toEqual([[3, 2, 4], [10, 3, 4]]);
  });
  it("applies the threshold to scores", async () => {
    const { records } = await loadAttackResults(judge, { ...JUDGE_OPTS, threshold: 3 });
    expect(attackSuccess(records).map((r) => [r.k, r.harmful])).toEqual([[3, 3], [10, 3]]);
  });
  it("turns integer-looking --set values into integers", () => {
    expect(parseSetPairs(["run=gemma", "k=10", "temp=0.7", "attack=x=y"])).toEqual({ run: "gemma", k: 10, temp: "0.7", attack: "x=y" });
    expect(() => parseSetPairs(["run"])).toThrow(UsageError);
    expect(() => parseSetPairs(["=x"])).toThrow(UsageError);
  });
  it("names the file and field when a judge file lacks run", async () => {
    const e = await problemOf(loadAttackResults(judge[0], { namePattern: JUDGE_OPTS.namePattern, set: { attack: "prefill" } }));
    expect(e.first).toMatchObject({ file: judge[0], line: 1, field: "run", reason: "missing-field" });
    expect(e.message).toContain("--set run=VALUE");
    expect(e.problems).toHaveLength(1); // the same mistake on every line is one line (METRICS 1.5) naming its lines
    expect(e.totalProblems).toBe(1);
    expect(e.message).toContain("[4 records, lines 1, 2, 3, 4]");
  });
  it("rejects an invalid regex and a file name the pattern does not match", async () => {
    await expect(loadAttackResults(judge, { ...JUDGE_OPTS, namePattern: "(" })).rejects.toBeInstanceOf(UsageError);
    const e = await problemOf(loadAttackResults(fx("results.jsonl"), { namePattern: "prefilled_(?<k>\\d+)" }));
    expect(e.first).toMatchObject({ reason: "name-mismatch", line: null });
  });
  it("reports one problem per bad line, with file, line, field and what was expected", async () => {
    const f = tmpFile(
      "bad.jsonl",
      [
        '{"run": "r", "attack": "a", "example": 1, "harmful": true}',
        '{"run": "r", "attack": "a", "example": 2, "harmful": "yes"}',
        '{"run": "r", "attack": "a", "example": 3, "score": "5"}',
        '{"run": "r", "attack": "a", "example": 4}',
        '{"run": "r", "attack": "a", "example": 5, "k": -1, "harmful": true}',
        "not json",
        "[1, 2]",
        '{"run": "r", "attack": "a", "example": 1, "harmful": false}',
        '{"run": "r", "attack": "a", "example": 6, "k": 2.5, "harmful": true}',
        '{"run": "r", "attack": "a", "example": 7, "harmful": tr',
      ].join("\n"),
    );
    const e = await problemOf(loadAttackResults(f));
    expect(e.problems.map((p) => [p.line, p.field, p.reason])).toEqual([
      [2, "harmful", "wrong-type"],
      [3, "score", "wrong-type"],
      [4, "harmful", "missing-outcome"],
      [5, "k", "wrong-type"],
      [6, null, "invalid-json"],
      [7, null, "not-an-object"],
      [8, "example", "duplicate"],
      [10, null, "truncated-last-line"],
    ]);
    expect(e.problems[3].message).toContain("expected an integer >= 0");
    expect(e.problems[6].message).toContain(`${f}:1`);
    expect(e.totalProblems).toBe(8); // line 9's k problem is on line 5's line (one per file, field, reason)
    expect(e.problems[3].message).toContain("[2 records, lines 5, 9]");
    const { records, report } = await loadAttackResults(f, { skipInvalid: true });
    expect(records.map((r) => r.example)).toEqual([1]);
    expect(report).toMatchObject({ records: 10, recordsUsed: 1, recordsSkipped: 9 });
    expect(report.skipped).toEqual({ "wrong-type": 4, "missing-outcome": 1, "invalid-json": 1, "not-an-object": 1, duplicate: 1, "truncated-last-line": 1 });
  });
  it("refuses a record that contradicts --set, and a missing file", async () => {
    const e = await problemOf(loadAttackResults(fx("results.jsonl"), { set: { run: "other" } }));
    expect(e.first).toMatchObject({ line: 1, field: "run", reason: "conflict" });
    const m = await problemOf(loadAttackResults(fx("nope.jsonl")));
    expect(m.first.reason).toBe("missing-file");
  });
  it("keeps the same example under different conditions; 1 and \"1\" are the same id", async () => {
    const f = tmpFile("ok.jsonl", '{"run":"r","attack":"a","k":1,"example":"x","harmful":true}\n{"run":"r","attack":"a","k":2,"example":"x","harmful":true}\n{"run":"r","attack":"a","k":2,"example":1,"harmful":true}\n{"run":"r","attack":"a","k":2,"example":"1","harmful":true}\n');
    const e = await problemOf(loadAttackResults(f)); // 1 and "1" are one example id, as in token logs
    expect(e.first).toMatchObject({ line: 4, reason: "duplicate" });
    const { records } = await loadAttackResults(f, { skipInvalid: true });
    expect(records).toHaveLength(3);
  });
});
