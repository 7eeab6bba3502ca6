/**
 * The loader's messages say what is true (issue 10; METRICS 1.2, 1.4, 1.5): a group line does not
 * claim its first value for every location; `validate` without skip mode says nothing of what the
 * skip mode would do; skip mode dropping rows of a Hugging Face-style dump whose prompt tokens are
 * labelled (-100, mask 0) but not named by an option is warned about (stderr, JSON, LoadReport).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidInputError, loadTokenLogs } from "../../src/index";
import { run } from "../cli/run";
import { Shape, writeShape } from "./formats";

const dir = mkdtempSync(join(tmpdir(), "aligndepth-messages-"));
const put = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const HF = join(__dirname, "..", "fixtures", "cases", "hf_tokens.csv.gz");
const HF_FLAG = "run=run_name,step=global_step,example=sample_id,position=token_idx,loss=nll,token=token_str";

describe("a group of non-finite values of different kinds", () => {
  const csv = put("nan-inf.csv", "run,step,example,position,loss\nr,0,e,0,1\nr,0,e,1,nan\nr,10,e,0,0.5\nr,10,e,1,inf\n");
  const jsonl = put("nan-inf.jsonl", '{"run": "r", "step": 0, "example": "e", "position": 0, "loss": 1}\n{"run": "r", "step": 0, "example": "e", "position": 1, "loss": NaN}\n{"run": "r", "step": 10, "example": "e", "position": 0, "loss": 0.5}\n{"run": "r", "step": 10, "example": "e", "position": 1, "loss": Infinity}\n');
  it.each([[csv, "3, 5"], [jsonl, "2, 4"]])("%s: says NaN or infinite, not NaN at every line", async (f, lines) => {
    const r = await run(["validate", f, "--no-progress"]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe(`${f}:${lines.split(",")[0]}: field "loss": expected a finite number, got NaN or infinite values (2 lines: ${lines})`);
  });
  it("validate without --skip-invalid prints no skip-mode notes", async () => {
    const r = await run(["validate", csv, "--no-progress"]);
    expect(r.stderr).not.toMatch(/dropped \d+ invalid values/);
    expect(r.stderr).not.toMatch(/is measured at \d+ of \d+ rows/);
    expect(r.stderr).toBe("");
  });
  it("values of one kind keep their value", async () => {
    const f = put("nan-nan.csv", "run,step,example,position,loss\nr,0,e,0,1\nr,0,e,1,nan\nr,10,e,0,0.5\nr,10,e,1,nan\n");
    const r = await run(["validate", f, "--no-progress"]);
    expect(r.stdout.trim()).toBe(`${f}:3: field "loss": expected a finite number, got nan (2 lines: 3, 5)`);
  });
});

describe("skip mode on a dump with unscored-looking rows no option names (HF-style case)", () => {
  const WARNING = /--skip-invalid dropped rows or values, but rows that look unscored were kept and scored: "labels" holds -100 at 2862 rows \(use --unscored labels=-100\); "loss_mask" is 0 at 2862 rows \(use --mask loss_mask\)/;
  it("summary warns on stderr and in the JSON warnings", async () => {
    const r = await run(["summary", HF, "--columns", HF_FLAG, "--skip-invalid", "--bootstrap", "0", "--json", "--no-progress"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`warning: ${WARNING.source}`));
    expect(JSON.parse(r.stdout).warnings.some((w: string) => WARNING.test(w))).toBe(true);
  });
  it("compare warns too", async () => {
    const r = await run(["compare", "sft-lr2e-5", "sft-aug-lr2e-5", HF, "--columns", HF_FLAG, "--skip-invalid", "--bootstrap", "200", "--json", "--no-progress"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).warnings.some((w: string) => WARNING.test(w))).toBe(true);
  });
  it("the LoadReport carries it; not with --unscored or --mask, nor without skip mode's drops", async () => {
    const cols = { run: "run_name", step: "global_step", example: "sample_id", position: "token_idx", loss: "nll", token: "token_str" };
    const logs = await loadTokenLogs(HF, { columns: cols, skipInvalid: true, progress: false });
    try {
      expect(logs.report.recordsSkipped).toBe(4521);
      expect(logs.report.warnings?.some((w) => WARNING.test(w))).toBe(true);
    } finally {
      logs.close();
    }
    for (const o of [{ unscored: { labels: -100 } }, { mask: "loss_mask" }]) {
      const named = await loadTokenLogs(HF, { columns: cols, skipInvalid: true, progress: false, ...o });
      try {
        expect(named.report.warnings).toEqual([]);
      } finally {
        named.close();
      }
    }
  });
  it("a JSON Lines log with a prompt segment and NaN padding, in skip mode", async () => {
    const f = put(
      "segment-nan.jsonl",
      [
        ...[0, 10].flatMap((s) => [
          `{"run": "r", "step": ${s}, "example": "e", "position": 0, "loss": 3, "segment": "prompt"}`,
          `{"run": "r", "step": ${s}, "example": "e", "position": 1, "loss": ${s ? 0.5 : 1}, "segment": "response"}`,
          `{"run": "r", "step": ${s}, "example": "e", "position": 2, "loss": NaN, "segment": "pad"}`,
        ]),
      ].join("\n") + "\n",
    );
    const r = await run(["summary", f, "--skip-invalid", "--bootstrap", "0", "--json", "--no-progress"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).warnings.join("\n")).toContain('"segment" marks 2 rows as prompt (use --span segment=response)');
  });
});

describe("a gap inside the span names the lines (rows) of the dropped rows", () => {
  const rows = [
    { run: "r", step: 0, example: "a", position: 0, loss: 1, segment: "response" },
    { run: "r", step: 0, example: "a", position: 1, loss: 1, segment: "prompt" },
    { run: "r", step: 0, example: "a", position: 2, loss: 1, segment: "response" },
    { run: "r", step: 0, example: "b", position: 0, loss: 1, segment: "response" },
  ];
  // CSV: header + the second row; JSON Lines long: the second line; wide: the record of example a; Parquet: rows alike.
  const expected: Record<string, number> = { csv: 3, "jsonl-long": 2, "jsonl-wide": 1, "parquet-long": 2, "parquet-wide": 1 };
  it.each(Object.keys(expected))("%s", async (shape) => {
    const f = await writeShape(dir, `gap-${shape}`, rows, shape as Shape);
    const e = await loadTokenLogs(f, { span: { segment: "response" }, progress: false }).catch((x) => x);
    expect(e).toBeInstanceOf(InvalidInputError);
    const [p] = (e as InvalidInputError).problems;
    expect(p).toMatchObject({ file: f, line: expected[shape], field: "position", reason: "span-gap" });
    expect(p.message).toContain(`run "r", step 0, example "a" keeps 2 rows between positions 0 and 2; in the first, position 1 dropped (line ${expected[shape]})`);
    const r = await run(["summary", f, "--span", "segment=response", "--bootstrap", "0", "--no-progress"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${f}:${expected[shape]}: field "position": a gap inside the scored rows`);
  });
  it("a position missing from the log is named as missing", async () => {
    const f = await writeShape(dir, "gap-missing", [rows[0], rows[2]], "jsonl-long");
    const e = await loadTokenLogs(f, { span: { segment: "response" }, progress: false }).catch((x) => x);
    expect((e as InvalidInputError).problems[0].message).toContain("in the first, position 1 missing from the log");
  });
});
