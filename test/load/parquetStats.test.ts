/**
 * Parquet footers instead of scans (src/load/parquetStats.ts): rows per metric from null counts, and
 * "no two files share a (run, step)" from min/max of run and step, checked against the scans they
 * replace on small files.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/load/engine";
import { keysProvenByStats, parquetColumnStats } from "../../src/load/parquetStats";
import { InvalidInputError, loadTokenLogs } from "../../src/index";

let engine: Engine;
let dir: string;
beforeAll(async () => {
  engine = await Engine.create({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), "ad-pqstats-"));
});
afterAll(() => engine.close());

/** A long Parquet file from VALUES rows (run, step, example, position, loss, kl). */
async function write(name: string, rows: Array<[string, number, string, number, number | null, number | null]>): Promise<string> {
  const f = join(dir, name);
  const v = rows.map((r) => `(${r.map((x) => (x === null ? "NULL" : typeof x === "string" ? `'${x}'` : String(x))).join(", ")})`).join(", ");
  await engine.run(`COPY (SELECT * FROM (VALUES ${v}) t(run, step, example, "position", loss, kl)) TO '${f}' (FORMAT parquet)`);
  return f;
}

describe("Parquet statistics", () => {
  it("null counts give rows per metric, as count(metric) over the table does", async () => {
    const a = await write("a.parquet", [["r", 0, "e1", 0, 2, 0.5], ["r", 0, "e1", 1, 4, null], ["r", 0, "e2", 0, 1, null]]);
    const b = await write("b.parquet", [["r", 5, "e1", 0, 1, 0.25], ["r", 5, "e1", 1, 3, 0.75], ["r", 5, "e2", 0, null, 0.1]]);
    const st = await parquetColumnStats(engine, [a, b]);
    expect(st!.get(a)!.get("kl")).toMatchObject({ values: 3, nulls: 2 });
    expect(st!.get(b)!.get("step")).toMatchObject({ minNumber: 5, maxNumber: 5 });
    expect(st!.get(a)!.get("run")).toMatchObject({ minText: "r", maxText: "r" });
    const logs = await loadTokenLogs([a, b], { progress: false, cache: false });
    expect(logs.report.tokens).toBe(6);
    expect(logs.report.metricRows).toEqual({ loss: 5, kl: 4 });
    const [scan] = await logs.engine.rows<{ n: number; loss: number; kl: number }>(`SELECT count(*) AS n, count(loss) AS loss, count(kl) AS kl FROM tokens`);
    expect([scan.n, scan.loss, scan.kl]).toEqual([6, 5, 4]);
    logs.close();
  });

  it("files with overlapping (run, step) ranges are still joined by key", async () => {
    const losses = await write("l.parquet", [["r", 0, "e1", 0, 2, null], ["r", 5, "e1", 0, 1, null]]);
    const kls = await write("k.parquet", [["r", 0, "e1", 0, null, 0.5], ["r", 5, "e1", 0, null, 0.25]]);
    const logs = await loadTokenLogs([losses, kls], { progress: false, cache: false });
    expect(logs.report.tokens).toBe(2);
    expect(logs.report.metricRows).toEqual({ loss: 2, kl: 2 });
    logs.close();
  });

  it("different runs at the same steps are disjoint; the union keeps every row", async () => {
    const a = await write("ra.parquet", [["a", 0, "e1", 0, 2, 1], ["a", 5, "e1", 0, 1, 1]]);
    const b = await write("rb.parquet", [["b", 0, "e1", 0, 3, 1], ["b", 5, "e1", 0, 2, 1]]);
    const logs = await loadTokenLogs([a, b], { progress: false, cache: false });
    expect(logs.report.tokens).toBe(4);
    expect(await logs.runs()).toEqual(["a", "b"]);
    logs.close();
  });

  it("settle the key checks they can: no nulls, non-empty text minimum, integer range in [0, 2^31 - 1]", async () => {
    const f = await write("keys.parquet", [["r", 0, "e1", 0, 2, 1], ["r", 5, "e2", 3, 1, 1]]);
    const st = (await parquetColumnStats(engine, [f]))!.get(f)!;
    const types = new Map([["run", "VARCHAR"], ["step", "INTEGER"], ["example", "VARCHAR"], ["position", "INTEGER"]]);
    expect([...keysProvenByStats(st, types, (x) => x)].sort()).toEqual(["example", "position", "run", "step"]);
    // A float step is not settled (integral values need the scan); a missing statistic settles nothing.
    expect([...keysProvenByStats(st, new Map([...types, ["step", "DOUBLE"]]), (x) => x)].sort()).toEqual(["example", "position", "run"]);
    expect(keysProvenByStats(undefined, types, (x) => x).size).toBe(0);
    const stat = (o: Partial<{ nulls: number | null; minNumber: number | null; maxNumber: number | null; minText: string | null }>) => ({ values: 2, nulls: 0, minNumber: 0, maxNumber: 9, minText: "a", maxText: "z", ...o });
    const one = (field: string, t: string, s: ReturnType<typeof stat>) => keysProvenByStats(new Map([[field, s]]), new Map([[field, t]]), (x) => x).has(field);
    expect(one("run", "VARCHAR", stat({ nulls: 1 }))).toBe(false);
    expect(one("run", "VARCHAR", stat({ minText: "" }))).toBe(false);
    expect(one("run", "VARCHAR", stat({ minText: null }))).toBe(false);
    expect(one("example", "BIGINT", stat({ minText: null }))).toBe(true);
    expect(one("position", "INTEGER", stat({ minNumber: -1 }))).toBe(false);
    expect(one("position", "BIGINT", stat({ maxNumber: 2 ** 31 }))).toBe(false);
    expect(one("step", "INTEGER", stat({ nulls: null }))).toBe(false);
  });

  it("key problems the statistics do not settle are still found by the scan", async () => {
    for (const [name, rows, reason] of [
      ["neg.parquet", [["r", 0, "e1", 0, 2, 1], ["r", 0, "e1", -1, 2, 1]], "bad-key"],
      ["emptyrun.parquet", [["r", 0, "e1", 0, 2, 1], ["", 0, "e1", 1, 2, 1]], "bad-key"],
      ["nan.parquet", [["r", 0, "e1", 0, 2, 1], ["r", 0, "e1", 1, "NaN", 1]], "not-finite"],
    ] as const) {
      const f = join(dir, name);
      const v = rows.map((r) => `(${r.map((x) => (x === "NaN" ? "'NaN'::DOUBLE" : typeof x === "string" ? `'${x}'` : String(x))).join(", ")})`).join(", ");
      await engine.run(`COPY (SELECT * FROM (VALUES ${v}) t(run, step, example, "position", loss, kl)) TO '${f}' (FORMAT parquet)`);
      const err = await loadTokenLogs([f], { progress: false, cache: false }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).problems.map((p) => [p.reason, p.line]), name).toEqual([[reason, 2]]);
    }
  });
  it("a missing label and a row with no metric are left to the statistics only when these show no null", async () => {
    const at = (name: string) => join(dir, name);
    // split null in row 2: the column's null count is 1, so the scan checks it
    await engine.run(`COPY (SELECT * FROM (VALUES ('r', 0, 'e1', 0, 2.0, 'a'), ('r', 0, 'e1', 1, 2.0, NULL)) t(run, step, example, "position", loss, split)) TO '${at("nolabel.parquet")}' (FORMAT parquet)`);
    // every metric null in row 2
    await engine.run(`COPY (SELECT * FROM (VALUES ('r', 0, 'e1', 0, 2.0, 1.0), ('r', 0, 'e1', 1, NULL, NULL)) t(run, step, example, "position", loss, kl)) TO '${at("nometric.parquet")}' (FORMAT parquet)`);
    for (const [name, reason] of [["nolabel.parquet", "missing-value"], ["nometric.parquet", "no-metric"]]) {
      const err = await loadTokenLogs([at(name)], { progress: false, cache: false }).then(() => null, (e: unknown) => e);
      expect(err, name).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).problems.map((p) => [p.reason, p.line]), name).toEqual([[reason, 2]]);
    }
    // kl null where loss is measured: no problem (a metric not measured), and the statistics settle no-metric
    await engine.run(`COPY (SELECT * FROM (VALUES ('r', 0, 'e1', 0, 2.0, 1.0, 'a'), ('r', 0, 'e1', 1, 3.0, NULL, 'b')) t(run, step, example, "position", loss, kl, split)) TO '${at("klnull.parquet")}' (FORMAT parquet)`);
    const logs = await loadTokenLogs([at("klnull.parquet")], { progress: false, cache: false });
    expect(logs.report.tokens).toBe(2);
    await logs.close();
  });
});
