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
    expect(e.message).toContain("(4 lines: 1, 2, 3, 4)");
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
    expect(e.problems[3].message).toContain("(2 lines: 5, 9)");
    const { records, report } = await loadAttackResults(f, { skipInvalid: true });
    expect(records.map((r) => r.example)).toEqual([1]);
    expect(report).toMatchObject({ records: 10, recordsUsed: 1, recordsSkipped: 9 });
    expect(report.skipped).toEqual({ "wrong-type": 4, "missing-outcome": 1, "invalid-json": 1, "not-an-object": 1, duplicate: 1, "truncated-last-line": 1 });
  });
  it("names the field \"score\" for a null judge score (not \"harmful\")", async () => {
    const f = tmpFile("null-score.jsonl", ['{"run": "r", "attack": "a", "example": 1, "score": 5}', '{"run": "r", "attack": "a", "example": 2, "score": null}'].join("\n"));
    const e = await problemOf(loadAttackResults(f));
    expect(e.problems.map((p) => [p.line, p.field, p.reason])).toEqual([[2, "score", "missing-outcome"]]);
    expect(e.problems[0].message).toContain("the score is null");
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

describe("judge scales, not-judged values and column mapping (METRICS 2)", () => {
  // The judge-sentinel case: 10 prompts at k = 5, scores 5,1,5,-1,4,5,-1,1,5,-1 (-1: the judge could not parse its reply).
  const sentinel = {
    jsonl: fx("judge-sentinel/modelx_prefilled_5_harmful_tokens_judge_results.jsonl"),
    gzip: fx("judge-sentinel/modely_prefilled_5_harmful_tokens_judge_results.jsonl.gz"),
  };
  const opts = { set: { attack: "prefill" }, namePattern: "^(?<run>model[xy])_prefilled_(?<k>\\d+)_harmful" };
  for (const [format, file] of Object.entries(sentinel)) {
    it(`${format}: -1 is outside the 1:5 scale: one located problem, not a refusal`, async () => {
      const e = await problemOf(loadAttackResults(file, opts));
      expect(e.problems).toHaveLength(1);
      expect(e.first).toMatchObject({ file, line: 4, field: "score", reason: "out-of-scale" });
      expect(e.message).toContain("outside the judge scale 1:5");
      expect(e.message).toContain("(3 lines: 4, 7, 10)");
      expect(e.message).toContain("--not-judged");
    });
    it(`${format}: with --not-judged=-1: n 7, harmful 4, ASR 4/7, 3 not judged`, async () => {
      const res = await loadAttackResults(file, { ...opts, notJudged: -1 });
      expect(res.report).toMatchObject({ records: 10, recordsUsed: 7, notJudged: 3, notJudgedValues: [-1], scale: [1, 5], threshold: 5, warnings: [] });
      expect(res.notJudged.map((r) => r.line)).toEqual([4, 7, 10]);
      const [row] = attackSuccess(res.records, { notJudged: res.notJudged });
      expect(row).toMatchObject({ k: 5, n: 7, harmful: 4, not_judged: 3, ci_method: "wilson" });
      expect(row.asr).toBeCloseTo(4 / 7, 15);
    });
  }
  it("shows the first 5 locations and counts the rest", async () => {
    const f = tmpFile("many.jsonl", Array.from({ length: 8 }, (_, i) => JSON.stringify({ run: "r", attack: "a", example: i, score: 9 })).join("\n"));
    const e = await problemOf(loadAttackResults(f));
    expect(e.problems).toHaveLength(1);
    expect(e.message).toContain("(8 lines: 1, 2, 3, 4, 5 and 3 more)");
  });
  it("declared scales: 0:1 with threshold 0.5; 1:10 defaults the threshold to 10", async () => {
    const f = tmpFile("unit.jsonl", [0, 0.2, 0.5, 0.9, 1].map((s, i) => JSON.stringify({ run: "r", attack: "a", example: i, score: s })).join("\n"));
    await expect(loadAttackResults(f)).rejects.toBeInstanceOf(InvalidInputError); // 0, 0.2, 0.5, 0.9 are outside 1:5
    const res = await loadAttackResults(f, { scale: "0:1", threshold: 0.5 });
    expect(res.records.map((r) => r.harmful)).toEqual([false, false, true, true, true]);
    const ten = tmpFile("ten.jsonl", [1, 7, 10].map((s, i) => JSON.stringify({ run: "r", attack: "a", example: i, score: s })).join("\n"));
    const r10 = await loadAttackResults(ten, { scale: [1, 10] });
    expect(r10.report.threshold).toBe(10);
    expect(r10.records.map((r) => r.harmful)).toEqual([false, false, true]);
  });
  it("an empty or invalid scale, a threshold outside it, a not-judged value inside it: usage errors", async () => {
    for (const scale of ["", "5", "5:1", "a:b", "1:1"]) await expect(loadAttackResults(fx("results.jsonl"), { scale })).rejects.toBeInstanceOf(UsageError);
    await expect(loadAttackResults(fx("results.jsonl"), { threshold: 6 })).rejects.toBeInstanceOf(UsageError);
    await expect(loadAttackResults(fx("results.jsonl"), { notJudged: 3 })).rejects.toBeInstanceOf(UsageError);
  });
  it("warns about a threshold that no score or every score reaches", async () => {
    const f = tmpFile("low.jsonl", [1, 2, 4].map((s, i) => JSON.stringify({ run: "r", attack: "a", example: i, score: s })).join("\n"));
    const low = await loadAttackResults(f);
    expect(low.report.warnings).toEqual([expect.stringContaining("no judge score reaches the threshold 5 (largest score 4")]);
    const all = await loadAttackResults(f, { threshold: 1 });
    expect(all.report.warnings).toEqual([expect.stringContaining("every judge score reaches the threshold 1 (smallest score 1")]);
    expect((await loadAttackResults(f, { threshold: 2 })).report.warnings).toEqual([]);
  });
  it("maps the user's column names (object or text) and names candidates when a field is missing", async () => {
    const f = tmpFile("mine.jsonl", [
      JSON.stringify({ model: "m", method: "prefill", prompt_id: 1, n_tokens: 5, jailbroken: true, gen: 0 }),
      JSON.stringify({ model: "m", method: "prefill", prompt_id: 1, n_tokens: 5, jailbroken: false, gen: 1 }),
    ].join("\n"));
    const res = await loadAttackResults(f, { columns: "run=model,attack=method,example=prompt_id,k=n_tokens,harmful=jailbroken,sample=gen" });
    expect(res.records.map((r) => [r.run, r.attack, r.example, r.k, r.sample, r.harmful, r.conditions])).toEqual([["m", "prefill", 1, 5, 0, true, {}], ["m", "prefill", 1, 5, 1, false, {}]]);
    const same = await loadAttackResults(f, { columns: { run: "model", attack: "method", example: "prompt_id", k: "n_tokens", harmful: "jailbroken", sample: "gen" } });
    expect(same.records).toEqual(res.records);
    // without sample, an unmapped column is a condition field: the generations would be two conditions
    const asCondition = await loadAttackResults(f, { columns: "run=model,attack=method,example=prompt_id,k=n_tokens,harmful=jailbroken" });
    expect(asCondition.records.map((r) => r.conditions)).toEqual([{ gen: 0 }, { gen: 1 }]);
    const miss = await problemOf(loadAttackResults(f, { columns: "run=model,attack=method,k=n_tokens,harmful=jailbroken,sample=gen" }));
    expect(miss.first).toMatchObject({ field: "example", reason: "missing-field" });
    expect(miss.first.message).toContain(`"prompt_id"`);
    const gone = await problemOf(loadAttackResults(f, { columns: "run=model,attack=method,example=pid,k=n_tokens,harmful=jailbroken" }));
    expect(gone.first.message).toContain(`the column "pid" named by --columns is absent`);
    for (const columns of ["example", "bogus=x", "run=a,attack=a", "run=a,run=b", ""]) await expect(loadAttackResults(f, { columns })).rejects.toBeInstanceOf(UsageError);
  });
});
