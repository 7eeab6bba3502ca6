/** Loading learning-dynamics logs: the three kinds, labels, and every problem located (file, line, field). */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { dynamicsKind, loadDynamicsLogs } from "../../src/dynamics/load";
import { InvalidInputError, formatProblem } from "../../src/errors";
import { loadTokenLogs } from "../../src/load";

const dir = join(__dirname, "..", "fixtures", "dynamics");
const tmp = mkdtempSync(join(tmpdir(), "aligndepth-dynload-"));
const write = (name: string, lines: Array<string | object>, gz = false) => {
  const p = join(tmp, name);
  const text = lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n";
  writeFileSync(p, gz ? gzipSync(text) : text);
  return p;
};
const inf = (o: object = {}) => ({ run: "r-seed1", step: 0, split: "harmful", position: 0, source_position: 0, influence: -0.5, ...o });

async function problemOf(file: string): Promise<{ line: string; err: InvalidInputError }> {
  try {
    await loadDynamicsLogs(file);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    const err = e as InvalidInputError;
    return { line: formatProblem(err.first), err };
  }
  throw new Error("expected an InvalidInputError");
}

describe("loadDynamicsLogs", () => {
  it("reads the three kinds of the fixture and reports them", async () => {
    const logs = await loadDynamicsLogs(join(dir, "*-sft.jsonl"));
    expect(logs.influence).toHaveLength(44);
    expect(logs.trainGradient).toHaveLength(9);
    expect(logs.probeChange).toHaveLength(6);
    expect(logs.influence[0]).toEqual({ run: "sft-seed1", step: 0, split: "harmful", position: 0, source_position: 0, influence: -0.5 });
    expect(logs.trainGradient[0]).toEqual({ run: "sft-seed1", step: 0, source_position: 0, train_grad_norm: 3, n_tokens: 4 });
    expect(logs.probeChange[0]).toEqual({ run: "sft-seed1", step: 0, split: "harmful", position: 0, loss_before: 3, loss_after: 2.5 });
    expect(logs.report.files.map((f) => f.kind).sort()).toEqual(["influence", "probeChange", "trainGradient"]);
    expect(logs.report).toMatchObject({ records: 59, recordsUsed: 59, recordsSkipped: 0, problemCount: 0 });
  });
  it("reads gzip files and the recipe and seed labels", async () => {
    const f = write("influence-g.jsonl.gz", [inf({ recipe: "deep", seed: 3 }), inf({ position: 1, recipe: "deep" })], true);
    const logs = await loadDynamicsLogs(f);
    expect(logs.influence).toHaveLength(2);
    expect(logs.labels.get("r-seed1")).toEqual({ recipe: "deep", seed: "3" });
  });
  it("tells the kind from the file name's prefix", () => {
    expect(dynamicsKind("/a/influence-x.jsonl.gz")).toBe("influence");
    expect(dynamicsKind("train-gradient-1.jsonl")).toBe("trainGradient");
    expect(dynamicsKind("probe-change-1.jsonl")).toBe("probeChange");
    expect(dynamicsKind("influences.jsonl")).toBeNull();
  });
  it("refuses a file without a known prefix, as a whole-file problem", async () => {
    const f = write("tokens.jsonl", [inf()]);
    const { line } = await problemOf(f);
    expect(line).toBe(`${f}: not a learning-dynamics log: its name must start with influence-, train-gradient-, probe-change-`);
  });
  it("locates each problem: file, line, field, reason", async () => {
    const cases: Array<[string, Array<string | object>, string]> = [
      ["influence-missing.jsonl", [inf(), { run: "r", step: 0, split: "h", position: 1, source_position: 0 }], `:2: field "influence": missing`],
      ["influence-nan.jsonl", [inf(), '{"run": "r", "step": 0, "split": "h", "position": 1, "source_position": 0, "influence": NaN}'], `:2: field "influence": NaN is not a finite number`],
      ["influence-inf.jsonl", ['{"run": "r", "step": 0, "split": "h", "position": 1, "source_position": 0, "influence": -Infinity}'], `:1: field "influence": -Infinity is not a finite number`],
      ["influence-step.jsonl", [inf(), inf({ step: 1.5 })], `:2: field "step": expected an integer >= 0, got 1.5`],
      ["influence-pos.jsonl", [inf({ position: -1 })], `:1: field "position": expected an integer >= 0, got -1`],
      ["influence-str.jsonl", [inf({ influence: "0.5" })], `:1: field "influence": expected a finite number, got "0.5"`],
      ["influence-run.jsonl", [inf({ run: 3 })], `:1: field "run": expected non-empty text, got 3`],
      ["influence-dup.jsonl", [inf(), inf({ influence: 1 })], `:2: field "source_position": the key (run "r-seed1", step 0, split "harmful", position 0, source_position 0) already appears at `],
      ["influence-json.jsonl", [inf(), "{not json}", inf({ position: 2 })], `:2: invalid JSON`],
      ["influence-array.jsonl", ["[1, 2]"], `:1: expected a JSON object per line`],
      ["influence-label.jsonl", [inf({ recipe: "a" }), inf({ position: 1, recipe: "b" })], `:2: field "recipe": run "r-seed1" has recipe "a" at `],
      ["influence-dupkey.jsonl", ['{"run": "r", "step": 0, "split": "h", "position": 0, "source_position": 0, "influence": 1, "influence": 2}'], `:1: field "influence": appears twice in this record`],
      ["train-gradient-neg.jsonl", [{ run: "r", step: 0, source_position: 0, train_grad_norm: -1, n_tokens: 2 }], `:1: field "train_grad_norm": a norm cannot be negative, got -1`],
      ["train-gradient-n.jsonl", [{ run: "r", step: 0, source_position: 0, train_grad_norm: 1, n_tokens: 2.5 }], `:1: field "n_tokens": expected an integer >= 0, got 2.5`],
      ["probe-change-miss.jsonl", [{ run: "r", step: 0, split: "h", position: 0, loss_before: 1 }], `:1: field "loss_after": missing (a probe-change record has run, step, split, position, loss_before, loss_after)`],
      ["probe-change-dup.jsonl", [{ run: "r", step: 0, split: "h", position: 0, loss_before: 1, loss_after: 1 }, { run: "r", step: 0, split: "h", position: 0, loss_before: 2, loss_after: 1 }], `:2: field "position": the key`],
    ];
    for (const [name, lines, expected] of cases) {
      const f = write(name, lines);
      const { line } = await problemOf(f);
      expect(line, name).toContain(`${f}${expected}`);
    }
  });
  it("a duplicate names where the key was first seen, across files", async () => {
    const a = write("influence-first.jsonl", [inf()]);
    const b = write("influence-second.jsonl", [inf({ position: 1 }), inf({ influence: 2 })]);
    try {
      await loadDynamicsLogs([a, b]);
      throw new Error("expected an InvalidInputError");
    } catch (e) {
      expect(formatProblem((e as InvalidInputError).first)).toBe(`${b}:2: field "source_position": the key (run "r-seed1", step 0, split "harmful", position 0, source_position 0) already appears at ${a}:1`);
    }
  });
  it("a cut-off last line is named as such", async () => {
    const f = join(tmp, "influence-cut.jsonl");
    writeFileSync(f, `${JSON.stringify(inf())}\n{"run": "r", "step"`);
    const { err } = await problemOf(f);
    expect(err.first).toMatchObject({ file: f, line: 2, reason: "truncated-last-line" });
  });
  it("one line per (file, field, reason), all counted; skipInvalid uses the rest", async () => {
    const f = write("influence-many.jsonl", [inf(), inf({ position: 1, influence: "x" }), inf({ position: 2, influence: "y" }), inf({ position: 3, step: -1 })]);
    const { err } = await problemOf(f);
    expect(err.problems.map((p) => [p.line, p.field, p.reason])).toEqual([[2, "influence", "wrong-type"], [4, "step", "wrong-type"]]);
    expect(formatProblem(err.problems[0])).toBe(`${f}:2: field "influence": expected a finite number, got different values (first: "x") (2 lines: 2, 3)`); // "x" and "y"
    expect(formatProblem(err.problems[1])).toBe(`${f}:4: field "step": expected an integer >= 0, got -1`);
    expect(err.totalProblems).toBe(2);
    const logs = await loadDynamicsLogs(f, { skipInvalid: true });
    expect(logs.influence).toHaveLength(1);
    expect(logs.report).toMatchObject({ records: 4, recordsUsed: 1, recordsSkipped: 3, skipped: { "wrong-type": 3 } });
  });
  it("a problem on many lines names the first 5 and counts the rest", async () => {
    const f = write("influence-eight.jsonl", Array.from({ length: 8 }, (_, i) => inf({ position: i, influence: null })));
    const { err } = await problemOf(f);
    expect(err.problems).toHaveLength(1);
    expect(err.message).toBe(`${f}:1: field "influence": missing (an influence record has run, step, split, position, source_position, influence) (8 lines: 1, 2, 3, 4, 5 and 3 more)`);
  });
  it("a broken gzip file, an empty file and a directory are whole-file problems", async () => {
    const gz = join(tmp, "influence-notgz.jsonl.gz");
    writeFileSync(gz, "this is not gzip\n");
    expect((await problemOf(gz)).line).toMatch(new RegExp(`^${gz.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not a valid gzip file`));
    const empty = join(tmp, "influence-empty.jsonl");
    writeFileSync(empty, "");
    expect((await problemOf(empty)).line).toBe(`${empty}: the file is empty (0 bytes)`);
    expect((await problemOf(tmp)).line).toContain(`${tmp}: is a directory`);
  });
  it("a missing file is one located problem", async () => {
    const { line } = await problemOf(join(tmp, "influence-none.jsonl"));
    expect(line).toBe(`${join(tmp, "influence-none.jsonl")}: no such file`);
  });
  it("joins with token logs by run and step", async () => {
    const tok = write("tokens.jsonl", [
      { run: "sft-seed1", step: 0, example: 1, position: 0, loss: 1 },
      { run: "sft-seed1", step: 20, example: 1, position: 0, loss: 1 },
    ]);
    const tokens = await loadTokenLogs(tok, { progress: false });
    try {
      const logs = await loadDynamicsLogs(join(dir, "*-sft.jsonl"), { tokens });
      // dynamics (run, step): sft-seed1 at 0 and 10, sft-seed2 at 0; token checkpoints: sft-seed1 at 0 and 20
      expect(logs.report.tokenJoin).toEqual({
        matched: [{ run: "sft-seed1", step: 0 }],
        unmatched: [{ run: "sft-seed1", step: 10 }, { run: "sft-seed2", step: 0 }],
        runsMissing: ["sft-seed2"],
      });
    } finally {
      tokens.close();
    }
  });
});
