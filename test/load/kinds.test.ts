/**
 * Every kind of token-log situation (METRICS 1.1-1.4) in every format that can hold it: CSV, long
 * and wide JSON Lines, long and wide Parquet. Each situation is written by test/load/formats.ts
 * from one list of rows; the expected values are computed here by hand.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError, loadTokenLogs, positionProfile, positionStartWarnings, updateProfile, UsageError } from "../../src/index";
import { Row, SHAPES, Shape, writeShape } from "./formats";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "aligndepth-kinds-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A Hugging Face-style log: own column names, `prompt` prompt tokens (labels -100, loss_mask 0)
 * with an nll, 3 response tokens, 2 padding tokens (labels -100, nll NaN). The prompt length
 * differs between steps, so positions must be re-based.
 */
function hfRows(): Row[] {
  const rows: Row[] = [];
  const resp: Record<number, number[][]> = { 0: [[3, 1, 0.5], [2, 1, 0.25]], 10: [[1, 0.5, 0.5], [1.5, 1.25, 0.25]] };
  for (const step of [0, 10]) {
    for (const [e, ex] of ["s0", "s1"].entries()) {
      const prompt = step === 0 ? 4 + e : 2 + e;
      let idx = 0;
      for (let i = 0; i < prompt; i++) rows.push({ run_name: "r", global_step: step, sample_id: ex, token_idx: idx++, labels: -100, loss_mask: 0, nll: 7 + i });
      for (const v of resp[step][e]) rows.push({ run_name: "r", global_step: step, sample_id: ex, token_idx: idx++, labels: 100 + idx, loss_mask: 1, nll: v });
      for (let i = 0; i < 2; i++) rows.push({ run_name: "r", global_step: step, sample_id: ex, token_idx: idx++, labels: -100, loss_mask: 0, nll: NaN });
    }
  }
  return rows;
}
// By hand: position p's delta = mean over s0, s1 of (step 10 - step 0).
const HF_DELTAS = [((1 - 3) + (1.5 - 2)) / 2, ((0.5 - 1) + (1.25 - 1)) / 2, ((0.5 - 0.5) + (0.25 - 0.25)) / 2];
const HF_KEYS = { run: "run_name", step: "global_step", example: "sample_id", position: "token_idx" };
const HF_COLUMNS_LONG = { ...HF_KEYS, loss: "nll" };

describe.each(SHAPES)("%s", (shape: Shape) => {
  const wideShape = shape.endsWith("wide");
  // A wide record has no position column (positions are array indices plus offset): nothing to map.
  const HF_COLUMNS = wideShape ? { run: "run_name", step: "global_step", example: "sample_id", loss: "nll" } : HF_COLUMNS_LONG;

  it("column mapping + unscored values / mask: padding NaN ignored, positions re-based, deltas by hand", async () => {
    const f = await writeShape(dir, "hf", hfRows(), shape, HF_KEYS);
    for (const scored of [{ unscored: { labels: -100 } }, { mask: "loss_mask" }]) {
      const logs = await loadTokenLogs(f, { columns: HF_COLUMNS, ...scored, progress: false });
      try {
        const up = await updateProfile(logs, {});
        expect(up.map((r) => r.position)).toEqual([0, 1, 2]);
        up.forEach((r, p) => expect(r.delta).toBeCloseTo(HF_DELTAS[p], 12));
        expect(logs.metrics).toEqual(["loss"]);
        expect(logs.report.tokens).toBe(12);
        expect(logs.report.unscored?.rows).toBe(hfRows().length - 12);
        expect(await positionStartWarnings(logs)).toEqual([]);
      } finally {
        logs.close();
      }
    }
    // Not naming the unscored rows: refused (padding rows have no metric, or NaN), never a number.
    await expect(loadTokenLogs(f, { columns: HF_COLUMNS, progress: false })).rejects.toThrow(InvalidInputError);
  });

  it("a missing key field names the columns that could be it", async () => {
    const f = await writeShape(dir, "hfkeys", hfRows(), shape, HF_KEYS);
    const { step: _step, ...noStep } = HF_COLUMNS;
    const err = await loadTokenLogs(f, { columns: noStep, unscored: { labels: -100 }, progress: false }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toMatch(/field "step": missing.*could be "global_step"/);
    await expect(loadTokenLogs(f, { columns: { ...HF_COLUMNS, step: "globalstep" }, progress: false })).rejects.toThrow(UsageError);
  });

  it("a metric not measured everywhere loads as null: kl at steps 0 and 20 only", async () => {
    const rows: Row[] = [];
    for (const step of [0, 10, 20])
      for (const ex of ["a", "b"])
        for (let p = 0; p < 3; p++) rows.push({ run: "r", step, example: ex, position: p, loss: step + p + (ex === "a" ? 0 : 1), kl: step === 10 ? undefined : p / 4 + step });
    const f = await writeShape(dir, "sparse", rows, shape);
    const logs = await loadTokenLogs(f, { progress: false });
    try {
      expect(logs.report.metricRows).toEqual({ loss: 18, kl: 12 });
      expect(logs.report.completeMetrics).toEqual(["loss"]);
      const loss = await positionProfile(logs, { metric: "loss" });
      expect([...new Set(loss.map((r) => r.step))]).toEqual([0, 10, 20]);
      expect(loss.find((r) => r.step === 10 && r.position === 2)!.mean).toBeCloseTo(12.5, 12);
      const kl = await positionProfile(logs, { metric: "kl" });
      expect([...new Set(kl.map((r) => r.step))]).toEqual([0, 20]);
      expect(kl.find((r) => r.step === 20 && r.position === 1)!.mean).toBeCloseTo(20.25, 12);
    } finally {
      logs.close();
    }
  });

  it("a span: --span re-bases (deltas -1.5, -0.1, 0); --where warns", async () => {
    const rows: Row[] = [];
    const resp: Record<number, number[]> = { 0: [3, 1, 0.5], 100: [1.5, 0.9, 0.5] };
    for (const step of [0, 100])
      for (const [e, ex] of ["a", "b"].entries()) {
        let p = 0;
        for (let i = 0; i < 4 + 2 * e; i++) rows.push({ run: "sft", step, example: ex, position: p++, loss: 1, segment: "prompt" });
        for (const v of resp[step]) rows.push({ run: "sft", step, example: ex, position: p++, loss: v, segment: "response" });
      }
    const f = await writeShape(dir, "span", rows, shape);
    const logs = await loadTokenLogs(f, { span: { segment: "response" }, progress: false });
    try {
      const up = await updateProfile(logs, {});
      expect(up.map((r) => r.delta!)).toEqual([expect.closeTo(-1.5, 12), expect.closeTo(-0.1, 12), expect.closeTo(0, 12)]);
    } finally {
      logs.close();
    }
    const plain = await loadTokenLogs(f, { progress: false });
    try {
      const w = await positionStartWarnings(plain, { where: { segment: "response" } });
      expect(w[0]).toMatch(/^2 of 2 examples do not start at position 0 \(first position 4\)/);
    } finally {
      plain.close();
    }
  });

  it("a gap inside the scored rows is invalid input", async () => {
    const rows: Row[] = [];
    for (const step of [0, 1])
      ["response", "prompt", "response"].forEach((segment, p) => rows.push({ run: "r", step, example: "a", position: p, loss: 1 + p, segment }));
    const f = await writeShape(dir, "gap", rows, shape);
    await expect(loadTokenLogs(f, { span: { segment: "response" }, progress: false })).rejects.toThrow(/a gap inside the scored rows: run "r", step 0, example "a" keeps 2 rows between positions 0 and 2/);
  });

  it("several files, one dataset: different metrics join by key; the same metric twice or disagreeing labels are refused", async () => {
    const keys = (m: (s: number, e: number, p: number) => Row) => {
      const rows: Row[] = [];
      for (const step of [0, 5]) for (const e of [1, 2]) for (let p = 0; p < 2; p++) rows.push({ run: "r", step, example: e, position: p, ...m(step, e, p) });
      return rows;
    };
    const tokens = await writeShape(dir, "tok", keys((s, e, p) => ({ loss: s + e + p, token: `t${p}` })), shape);
    const grads = await writeShape(dir, "grad", keys((s, e, p) => ({ grad_norm: 10 * s + e + p, token: `t${p}` })), shape);
    const logs = await loadTokenLogs([tokens, grads], { progress: false });
    try {
      expect(logs.report.tokens).toBe(8);
      expect(logs.report.completeMetrics?.sort()).toEqual(["grad_norm", "loss"]);
      const g = await positionProfile(logs, { metric: "grad_norm" });
      expect(g.find((r) => r.step === 5 && r.position === 1)!.mean).toBeCloseTo(50 + 1.5 + 1, 12);
      const l = await positionProfile(logs, { metric: "loss" });
      expect(l.find((r) => r.step === 5 && r.position === 1)!.mean).toBeCloseTo(5 + 1.5 + 1, 12);
    } finally {
      logs.close();
    }
    const twice = await writeShape(dir, "twice", keys((s, e, p) => ({ loss: 0, token: `t${p}` })), shape);
    const dup = await loadTokenLogs([tokens, twice], { progress: false }).catch((e) => e);
    expect(dup).toBeInstanceOf(InvalidInputError);
    expect(dup.first.reason).toBe("duplicate-metric");
    expect(dup.message).toContain(`field "loss": the same metric twice for 8 keys`);
    expect(dup.message).toContain(tokens);
    const other = await writeShape(dir, "other", keys((s, e, p) => ({ grad_norm: 1, token: `u${p}` })), shape);
    const conflict = await loadTokenLogs([tokens, other], { progress: false }).catch((e) => e);
    expect(conflict).toBeInstanceOf(InvalidInputError);
    expect(conflict.first.reason).toBe("label-conflict");
    expect(conflict.first.field).toBe("token");
  });

  it("files of another record kind among token logs are left out and named in a note", async () => {
    const tokens = await writeShape(dir, "tok2", [{ run: "r", step: 0, example: "a", position: 0, loss: 1 }, { run: "r", step: 1, example: "a", position: 0, loss: 0.5 }], shape);
    const attacks = join(dir, `attacks-${shape}.jsonl`);
    writeFileSync(attacks, `${JSON.stringify({ run: "r", attack: "prefill", example: "a", k: 5, harmful: true })}\n`);
    const logs = await loadTokenLogs([tokens, attacks], { progress: false });
    try {
      expect(logs.report.leftOut).toEqual([{ path: attacks, kind: "attack results" }]);
      expect(logs.report.notes).toContain(`left out ${attacks}: it holds attack results, not token logs`);
      expect(logs.report.tokens).toBe(2);
    } finally {
      logs.close();
    }
  });

  it("skip mode drops an invalid value, not its record's other metrics", async () => {
    const rows: Row[] = [0, 1, 2].map((p) => ({ run: "r", step: 0, example: "a", position: p, loss: p === 1 ? NaN : p, kl: p / 2 }));
    const f = await writeShape(dir, "nanval", rows, shape);
    await expect(loadTokenLogs(f, { progress: false })).rejects.toThrow(/field "loss(\[1\])?": expected (a finite number|finite numbers)/);
    const logs = await loadTokenLogs(f, { skipInvalid: true, progress: false });
    try {
      expect(logs.report.tokens).toBe(3);
      expect(logs.report.droppedValues).toEqual({ loss: { "not-finite": 1 } });
      expect(logs.report.metricRows).toEqual({ loss: 2, kl: 3 });
    } finally {
      logs.close();
    }
  });
});

describe("rules that hold in one layout", () => {
  it("a null element inside a wide array where the record has the metric is invalid (a shift or padding bug), in JSON Lines and Parquet", async () => {
    const rows: Row[] = [0, 1, 2].map((p) => ({ run: "r", step: 0, example: "a", position: p, loss: 1 + p }));
    for (const shape of ["jsonl-wide", "parquet-wide"] as Shape[]) {
      const f = await writeShape(dir, "nullel", rows, shape);
      // Write the null element by hand: the writer turns an all-absent field into a null list only.
      if (shape === "jsonl-wide") writeFileSync(f, `${JSON.stringify({ run: "r", step: 0, example: "a", loss: [1, null, 3], kl: null })}\n`);
      else {
        const { Engine } = await import("../../src/load/engine");
        const e = await Engine.create();
        try {
          await e.run(`COPY (SELECT 'r' AS run, 0 AS step, 'a' AS example, [1.0, NULL, 3.0] AS loss) TO '${f}' (FORMAT parquet)`);
        } finally {
          e.close();
        }
      }
      const err = await loadTokenLogs(f, { progress: false }).catch((x) => x);
      expect(err, shape).toBeInstanceOf(InvalidInputError);
      expect(err.first.field).toMatch(/^loss(\[1\])?$/);
    }
  });

  it("example ids compare as text across files: 1, \"1\" and 1.0 are one id", async () => {
    const a = join(dir, "ids-a.jsonl");
    const b = join(dir, "ids-b.jsonl");
    const c = join(dir, "ids-c.jsonl");
    writeFileSync(a, `${JSON.stringify({ run: "r", step: 0, example: 1, position: 0, loss: 0.5 })}\n`);
    writeFileSync(b, `${JSON.stringify({ run: "r", step: 0, example: "1", position: 0, grad_norm: 2 })}\n`);
    writeFileSync(c, `{"run": "r", "step": 0, "example": 1.0, "position": 0, "kl": 0.25}\n`);
    const logs = await loadTokenLogs([a, b, c], { progress: false });
    try {
      const rows = await logs.engine.rows(`SELECT example, loss, grad_norm, kl FROM tokens`);
      expect(rows).toEqual([{ example: "1", loss: 0.5, grad_norm: 2, kl: 0.25 }]);
    } finally {
      logs.close();
    }
  });
});

describe("replicate-run labels", () => {
  it("recipe and seed are labels (METRICS 1), never metrics, in every shape", async () => {
    const rows: Row[] = [0, 1].map((p) => ({ run: "sft-seed2", step: 0, example: "a", position: p, loss: 1 + p, recipe: "sft", seed: 2 }));
    for (const shape of SHAPES) {
      const f = await writeShape(dir, `labels-${shape}`, rows, shape);
      const logs = await loadTokenLogs(f, { progress: false });
      try {
        expect(logs.metrics, shape).toEqual(["loss"]);
        expect(logs.labels, shape).toEqual(expect.arrayContaining(["recipe", "seed"]));
      } finally {
        logs.close();
      }
    }
  });
});

describe("other record kinds are recognised by their fields", () => {
  it("attack results, influence, training-gradient and probe-change logs; a token log with a score column is a token log", async () => {
    const { otherRecordKind } = await import("../../src/load/inputs");
    expect(otherRecordKind(["run", "attack", "example", "k", "harmful"])).toBe("attack results");
    expect(otherRecordKind(["idx", "question", "answer", "score"])).toBe("attack results");
    expect(otherRecordKind(["run", "step", "split", "position", "source_position", "influence"])).toBe("influence log");
    expect(otherRecordKind(["run", "step", "source_position", "train_grad_norm", "n_tokens"])).toBe("training-gradient log");
    expect(otherRecordKind(["run", "step", "split", "position", "loss_before", "loss_after"])).toBe("probe-change log");
    expect(otherRecordKind(["run", "step", "example", "position", "loss", "score"])).toBe(null);
    expect(otherRecordKind(["run", "step", "example", "loss", "score"])).toBe(null); // wide
    expect(otherRecordKind(["run", "step", "example", "position", "nll", "score"], ["score"])).toBe(null); // mapped: the user's
  });
});
