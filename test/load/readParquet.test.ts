/**
 * The cheap duplicate-key test that lets Parquet loads skip the sorting window (and the cross-file
 * GROUP BY): it may only say "no duplicates" when there are none, so it is checked against the
 * exact GROUP BY on random key sets, and through loadTokenLogs on files with and without duplicates.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/load/engine";
import { mayHaveDuplicateKeys, positionBitmapSql } from "../../src/load/readParquet";
import { InvalidInputError, loadTokenLogs } from "../../src/index";
import { rng } from "../../src/stats/bootstrap";

let engine: Engine;
let dir: string;
beforeAll(async () => {
  engine = await Engine.create({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), "ad-parquet-"));
});
afterAll(() => engine.close());

const keys = (rows: Array<[string, number, string, number]>) =>
  `SELECT * FROM (VALUES ${rows.map(([r, s, e, p]) => `('${r}', ${s}, '${e}', ${p})`).join(", ")}) t(run, step, example, "position")`;

async function exactHasDuplicates(sql: string): Promise<boolean> {
  const [{ n }] = await engine.rows<{ n: number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM (${sql}) GROUP BY run, step, example, "position" HAVING count(*) > 1)`);
  return Number(n) > 0;
}

describe("mayHaveDuplicateKeys", () => {
  it("finds a repeated key, and passes distinct keys", async () => {
    expect(await mayHaveDuplicateKeys(engine, keys([["a", 0, "e1", 0], ["a", 0, "e1", 1], ["a", 0, "e2", 0]]))).toBe(false);
    expect(await mayHaveDuplicateKeys(engine, keys([["a", 0, "e1", 0], ["a", 0, "e1", 1], ["a", 0, "e1", 1]]))).toBe(true);
    // the same position in another run, step or example is no duplicate
    expect(await mayHaveDuplicateKeys(engine, keys([["a", 0, "e1", 3], ["b", 0, "e1", 3], ["a", 5, "e1", 3], ["a", 0, "e2", 3]]))).toBe(false);
  });
  it("says maybe (never no) when positions are too wide for the bitmap", async () => {
    expect(await mayHaveDuplicateKeys(engine, keys([["a", 0, "e1", 0], ["a", 0, "e1", 100000]]))).toBe(true);
  });
  it("agrees with the exact GROUP BY on 300 random key sets", async () => {
    const rand = rng(7);
    for (let t = 0; t < 300; t++) {
      const n = 1 + Math.floor(rand() * 30);
      const rows: Array<[string, number, string, number]> = [];
      for (let i = 0; i < n; i++) rows.push([rand() < 0.5 ? "a" : "b", Math.floor(rand() * 2) * 10, `e${Math.floor(rand() * 3)}`, 2 + Math.floor(rand() * 12)]);
      const sql = keys(rows);
      expect(await mayHaveDuplicateKeys(engine, sql)).toBe(await exactHasDuplicates(sql));
    }
  }, 60_000);
  it("agrees with the exact GROUP BY whether the positions fit one BIGINT word, several, or need the bitstring", async () => {
    const rand = rng(11);
    // widths: 1 word (<= 63 positions), 2 and 8 words (<= 504), the bitstring (<= 1024)
    for (const width of [40, 100, 504, 900]) {
      let dups = 0;
      // positions at word edges (multiples of 63 from lo), where an off-by-one would hide a repeat
      const lo = 3;
      const edges = [...new Set([0, 1, 61, 62, 63, 64, 125, 126, 127, 440, 441, width - 2, width - 1])].filter((d) => d < width).map((d) => lo + d);
      for (let t = 0; t < 40; t++) {
        // the range's two ends in e9, then draws with replacement: some sets repeat a key, some do not
        const rows: Array<[string, number, string, number]> = [["a", 0, "e9", lo], ["a", 0, "e9", lo + width - 1]];
        const n = 1 + Math.floor(rand() * 6);
        for (let i = 0; i < n; i++) rows.push(["a", 0, `e${Math.floor(rand() * 2)}`, edges[Math.floor(rand() * edges.length)]]);
        const sql = keys(rows);
        const exact = await exactHasDuplicates(sql);
        if (exact) dups++;
        expect(await mayHaveDuplicateKeys(engine, sql)).toBe(exact);
      }
      expect(dups).toBeGreaterThan(0); // the cases include repeats
      expect(dups).toBeLessThan(40); // and duplicate-free sets
    }
  }, 60_000);
});

describe("positionBitmapSql", () => {
  it("uses BIGINT words up to 504 positions, a bitstring up to 1024, and nothing wider", () => {
    expect(positionBitmapSql(0, 62)!.aggregates.match(/bit_or/g)).toHaveLength(1);
    expect(positionBitmapSql(0, 63)!.aggregates.match(/bit_or/g)).toHaveLength(2);
    expect(positionBitmapSql(10, 513)!.aggregates.match(/bit_or/g)).toHaveLength(8);
    expect(positionBitmapSql(10, 514)!.aggregates).toMatch(/^bitstring_agg/);
    expect(positionBitmapSql(0, 1023)!.aggregates).toMatch(/^bitstring_agg/);
    expect(positionBitmapSql(0, 1024)).toBeNull();
  });
});

describe("Parquet loads with the fast duplicate checks", () => {
  const write = async (name: string, rows: Array<[string, number, string, number, number]>) => {
    const f = join(dir, name);
    await engine.run(`COPY (SELECT * FROM (VALUES ${rows.map(([r, s, e, p, l]) => `('${r}', ${s}, '${e}', ${p}, ${l})`).join(", ")}) t(run, step, example, "position", loss)) TO '${f}' (FORMAT parquet)`);
    return f;
  };
  it("names duplicate rows inside one file", async () => {
    const f = await write("dup-in-file.parquet", [["a", 0, "e1", 0, 1], ["a", 0, "e1", 1, 2], ["a", 0, "e1", 1, 3]]);
    const err = await loadTokenLogs(f, { progress: false }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).problems.map((p) => [p.reason, p.line])).toEqual([["duplicate-key", 3]]);
  });
  it("still names every problem row of a file that is not clean (the one-scan proof says no)", async () => {
    const f = await write("mixed.parquet", [["a", 0, "e1", 0, 1], ["a", 0, "e1", 1, 0], ["", 0, "e1", 2, 1], ["a", 0, "e1", 1, 3]]);
    await engine.run(`COPY (SELECT run, step, example, "position", CASE WHEN "position" = 1 AND loss = 0 THEN 'NaN'::DOUBLE ELSE loss END AS loss FROM '${f}') TO '${join(dir, "mixed-nan.parquet")}' (FORMAT parquet)`);
    const err = await loadTokenLogs(join(dir, "mixed-nan.parquet"), { progress: false }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).problems.map((p) => [p.reason, p.line])).toEqual([["not-finite", 2], ["bad-key", 3]]);
    const logs = await loadTokenLogs(join(dir, "mixed-nan.parquet"), { progress: false, skipInvalid: true });
    expect(logs.report.tokens).toBe(2);
    logs.close();
  });
  it("rejects a key shared by two files that share a (run, step), and loads files that do not share keys", async () => {
    const a = await write("shard-a.parquet", [["a", 0, "e1", 0, 1], ["a", 10, "e1", 0, 2]]);
    const b = await write("shard-b.parquet", [["a", 10, "e1", 0, 5]]);
    const c = await write("shard-c.parquet", [["a", 10, "e2", 0, 5], ["a", 20, "e1", 0, 4]]);
    const err = await loadTokenLogs([a, b], { progress: false }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).problems[0].reason).toBe("duplicate-metric");
    const logs = await loadTokenLogs([a, c], { progress: false });
    expect(logs.report.tokens).toBe(4);
    logs.close();
  });
});

describe("files of one schema read together", () => {
  it("are one read_parquet over their list in the relation, with the same rows as a read per file", async () => {
    const write = async (name: string, cols: string, rows: string) => {
      const f = join(dir, name);
      await engine.run(`COPY (SELECT * FROM (VALUES ${rows}) t(${cols})) TO '${f}' (FORMAT parquet)`);
      return f;
    };
    const a = await write("m-a.parquet", `run, step, example, "position", loss`, `('r', 0, 'e1', 0, 1.0), ('r', 0, 'e1', 1, 2.0)`);
    const b = await write("m-b.parquet", `run, step, example, "position", loss`, `('r', 5, 'e1', 0, 0.5), ('r', 5, 'e1', 1, 1.5)`);
    // another schema (a kl column): read on its own
    const c = await write("m-c.parquet", `run, step, example, "position", loss, kl`, `('s', 0, 'e1', 0, 3.0, 0.1)`);
    const logs = await loadTokenLogs([a, b, c], { progress: false, cache: false });
    const [{ sql }] = await logs.engine.rows<{ sql: string }>(`SELECT sql FROM duckdb_views() WHERE NOT internal AND view_name = 'tokens'`);
    // DuckDB stores the list literal as main.list_value(...)
    expect(sql.replace(/main\.list_value\(([^)]*)\)/, "[$1]")).toContain(`read_parquet(['${a}', '${b}'],`);
    expect(sql).toContain(`read_parquet('${c}',`);
    expect(sql.match(/UNION ALL/g)).toHaveLength(1);
    const rows = await logs.engine.rows<{ run: string; step: number; position: number; loss: number; kl: number | null }>(`SELECT run, step, "position", loss, kl FROM tokens ORDER BY ALL`);
    expect(rows.map((r) => [r.run, r.step, r.position, r.loss, r.kl])).toEqual([
      ["r", 0, 0, 1, null], ["r", 0, 1, 2, null], ["r", 5, 0, 0.5, null], ["r", 5, 1, 1.5, null], ["s", 0, 0, 3, 0.1],
    ]);
    await logs.close();
  });
});
