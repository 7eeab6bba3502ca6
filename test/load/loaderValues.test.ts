/**
 * Values as other tools write them into token logs (issue 10; METRICS 1, 1.4, 1.5): example ids
 * written as floats (`1.0`) are the integer ids; mask columns written as floats (`1.0`/`0.0`,
 * pandas) are 1/0; bad values in a mask column are located input errors (exit 1), a text column
 * named as the mask is a usage error (exit 2). Each in every format where the situation arises.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidInputError, loadTokenLogs, UsageError } from "../../src/index";
import { run } from "../cli/run";
import { writeShape } from "./formats";
import { Engine, sqlString } from "../../src/load/engine";

const dir = mkdtempSync(join(tmpdir(), "aligndepth-values-"));
const put = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** (run, step, example, position, loss) ordered rows of a table. */
async function rowsOf(files: string | string[], opts = {}): Promise<Array<[string, number, string, number, number]>> {
  const logs = await loadTokenLogs(files, { progress: false, ...opts });
  try {
    const rows = await logs.engine.rows<{ run: string; step: number; example: string; position: number; loss: number }>(`SELECT run, step, example, "position", loss FROM tokens ORDER BY ALL`);
    return rows.map((r) => [r.run, Number(r.step), r.example, Number(r.position), r.loss]);
  } finally {
    logs.close();
  }
}

describe("example ids written as floats in CSV are the integer ids (METRICS 1: 1, \"1\" and 1.0 are one id)", () => {
  const csv = put("float-ids.csv", "run,step,example,position,loss\nr,0.0,1.0,0,1.5\nr,0,2.00,0,2.5\nr,10,1,0,0.5\n");
  it("the table holds the canonical ids 1 and 2; step 0.0 is step 0", async () => {
    expect(await rowsOf(csv)).toEqual([["r", 0, "1", 0, 1.5], ["r", 0, "2", 0, 2.5], ["r", 10, "1", 0, 0.5]]);
  });
  it("1.0 and 1 in one CSV file are a located duplicate", async () => {
    const dup = put("float-ids-dup.csv", "run,step,example,position,loss\nr,0,1.0,0,1.5\nr,0,1,0,2.5\n");
    const e = await loadTokenLogs(dup, { progress: false }).catch((x) => x);
    expect(e).toBeInstanceOf(InvalidInputError);
    expect((e as InvalidInputError).problems[0]).toMatchObject({ file: dup, line: 3, reason: "duplicate-key" });
  });
  it("a JSON Lines file with id 1 and a CSV with 1.0 for the same key are a duplicate across files", async () => {
    const jsonl = put("id-int.jsonl", `{"run": "r", "step": 0, "example": 1, "position": 0, "loss": 9}\n`);
    const e = await loadTokenLogs([jsonl, csv], { progress: false }).catch((x) => x);
    expect(e).toBeInstanceOf(InvalidInputError);
    expect((e as InvalidInputError).problems.map((p) => p.reason)).toContain("duplicate-metric");
  });
  it("files with different metrics join on 1 = 1.0 (kl from the CSV, loss from JSON Lines)", async () => {
    const jsonl = put("join-loss.jsonl", `{"run": "r", "step": 0, "example": 1, "position": 0, "loss": 9}\n`);
    const kl = put("join-kl.csv", "run,step,example,position,kl\nr,0,1.0,0,0.25\n");
    const logs = await loadTokenLogs([jsonl, kl], { progress: false });
    try {
      const rows = await logs.engine.rows<{ example: string; loss: number; kl: number }>(`SELECT example, loss, kl FROM tokens`);
      expect(rows).toEqual([{ example: "1", loss: 9, kl: 0.25 }]);
    } finally {
      logs.close();
    }
  });
  it("a JSON string \"1.0\" stays text (another id than 1)", async () => {
    const jsonl = put("id-text.jsonl", `{"run": "r", "step": 0, "example": "1.0", "position": 0, "loss": 9}\n{"run": "r", "step": 0, "example": 1, "position": 0, "loss": 8}\n`);
    expect((await rowsOf(jsonl)).map((r) => r[2])).toEqual(["1", "1.0"]);
  });
  it("validate and summary agree (duplicate refused by both, exit 1)", async () => {
    const jsonl = put("agree-int.jsonl", `{"run": "r", "step": 0, "example": 1, "position": 0, "loss": 9}\n`);
    const v = await run(["validate", jsonl, csv, "--no-progress"]);
    const s = await run(["summary", jsonl, csv, "--bootstrap", "0", "--no-progress"]);
    expect([v.code, s.code]).toEqual([1, 1]);
  });
});

/** Two steps, one example, prompt tokens (mask 0) at positions 0-1, response (mask 1) at 2-3. */
const MASKED = [
  { step: 0, position: 0, loss: 5, m: 0 },
  { step: 0, position: 1, loss: 5, m: 0 },
  { step: 0, position: 2, loss: 2, m: 1 },
  { step: 0, position: 3, loss: 1, m: 1 },
  { step: 10, position: 0, loss: 3, m: 0 },
  { step: 10, position: 1, loss: 3, m: 0 },
  { step: 10, position: 2, loss: 0.5, m: 1 },
  { step: 10, position: 3, loss: 0.75, m: 1 },
];
const EXPECTED = [["r", 0, "e", 0, 2], ["r", 0, "e", 1, 1], ["r", 10, "e", 0, 0.5], ["r", 10, "e", 1, 0.75]];

describe("a mask written as 1.0/0.0 (pandas float column) is the 0/1 mask", () => {
  const csv = put("mask-float.csv", ["run,step,example,position,loss,m", ...MASKED.map((r) => `r,${r.step},e,${r.position},${r.loss},${r.m}.0`)].join("\n") + "\n");
  const long = put("mask-float.jsonl", MASKED.map((r) => `{"run": "r", "step": ${r.step}, "example": "e", "position": ${r.position}, "loss": ${r.loss}, "m": ${r.m}.0}`).join("\n") + "\n");
  const wide = put(
    "mask-float-wide.jsonl",
    [0, 10].map((s) => { const g = MASKED.filter((r) => r.step === s); return `{"run": "r", "step": ${s}, "example": "e", "loss": [${g.map((r) => r.loss).join(", ")}], "m": [${g.map((r) => `${r.m}.0`).join(", ")}]}`; }).join("\n") + "\n",
  );
  const bools = put("mask-bool.csv", ["run,step,example,position,loss,m", ...MASKED.map((r) => `r,${r.step},e,${r.position},${r.loss},${r.m ? "True" : "False"}`)].join("\n") + "\n");
  it.each([["csv", csv], ["jsonl-long", long], ["jsonl-wide", wide], ["csv true/false", bools]])("%s: response rows kept, positions re-based", async (_n, f) => {
    expect(await rowsOf(f, { mask: "m" })).toEqual(EXPECTED);
  });
  it("parquet long and wide: a DOUBLE mask column holding 1.0/0.0", async () => {
    const e = await Engine.create({ threads: 1 });
    const long = join(dir, "mask-float.parquet");
    const wideP = join(dir, "mask-float-wide.parquet");
    try {
      const read = `read_csv(${sqlString(csv)}, header = true, auto_detect = false, columns = {'run': 'VARCHAR', 'step': 'BIGINT', 'example': 'VARCHAR', 'position': 'BIGINT', 'loss': 'DOUBLE', 'm': 'DOUBLE'})`;
      await e.run(`COPY (SELECT * FROM ${read}) TO ${sqlString(long)} (FORMAT parquet)`);
      await e.run(`COPY (SELECT run, step, example, list(loss ORDER BY position) AS loss, list(m ORDER BY position) AS m FROM ${read} GROUP BY ALL ORDER BY ALL) TO ${sqlString(wideP)} (FORMAT parquet)`);
    } finally {
      e.close();
    }
    expect(await rowsOf(long, { mask: "m" })).toEqual(EXPECTED);
    expect(await rowsOf(wideP, { mask: "m" })).toEqual(EXPECTED);
  });
  it("validate and summary agree (both exit 0)", async () => {
    const v = await run(["validate", csv, "--mask", "m", "--no-progress"]);
    expect(v.code).toBe(0);
    const s = await run(["summary", csv, "--mask", "m", "--bootstrap", "0", "--json", "--no-progress"]);
    expect(s.code).toBe(0);
    // deltas -1.5 and -0.25 at positions 0 and 1: D = -1.75, N5 = 1
    expect(JSON.parse(s.stdout).runs[0].net_change).toBeCloseTo(-1.75, 12);
  });
});

describe("bad values in a mask column are located input errors (exit 1, METRICS 1.5); a text column is a usage error (exit 2)", () => {
  const bad = MASKED.map((r, i) => ({ run: "r", step: r.step, example: "e", position: r.position, loss: r.loss, m: i === 1 || i === 3 || i === 4 ? 2 : r.m }));
  it.each(["csv", "jsonl-long", "jsonl-wide", "parquet-long"] as const)("%s: the value 2 at three rows", async (shape) => {
    const f = await writeShape(dir, `mask-2-${shape}`, bad, shape);
    const e = await loadTokenLogs(f, { mask: "m", progress: false }).catch((x) => x);
    expect(e).toBeInstanceOf(InvalidInputError);
    const ps = (e as InvalidInputError).problems;
    expect(ps.map((p) => p.field), JSON.stringify(ps)).toEqual(["m"]);
    const r = await run(["summary", f, "--mask", "m", "--bootstrap", "0", "--no-progress"]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n").filter((l) => l.includes('field "m"'));
    expect(lines).toHaveLength(1);
    // CSV lines count the header
    if (shape === "csv") expect(lines[0]).toMatch(/:3: field "m": expected a boolean or 0\/1 \(the --mask column\), got 2 \(3 lines: 3, 5, 6\)/);
    if (shape === "jsonl-long") expect(lines[0]).toMatch(/:2: field "m": expected a boolean or 0\/1 \(the --mask column\), got 2 \(3 lines: 2, 4, 5\)/);
    const v = await run(["validate", f, "--mask", "m", "--no-progress"]);
    expect(v.code).toBe(1);
  });
  it("a null mask value (empty CSV cell, JSON null) is an input error too", async () => {
    const csv = put("mask-null.csv", "run,step,example,position,loss,m\nr,0,e,0,1,1\nr,0,e,1,1,\n");
    const jsonl = put("mask-null.jsonl", `{"run": "r", "step": 0, "example": "e", "position": 0, "loss": 1, "m": 1}\n{"run": "r", "step": 0, "example": "e", "position": 1, "loss": 1, "m": null}\n`);
    for (const [f, line] of [[csv, 3], [jsonl, 2]] as const) {
      const r = await run(["summary", f, "--mask", "m", "--bootstrap", "0", "--no-progress"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${f}:${line}: field "m": expected a boolean or 0/1 (the --mask column), got null`);
    }
  });
  it("a text column named as the mask stays a usage error", async () => {
    const f = put("mask-text.csv", "run,step,example,position,loss,tok\nr,0,e,0,1,hello\n");
    const r = await run(["summary", f, "--mask", "tok", "--bootstrap", "0", "--no-progress"]);
    expect(r.code).toBe(2);
    await expect(loadTokenLogs(f, { mask: "tok", progress: false })).rejects.toThrow(UsageError);
  });
});
