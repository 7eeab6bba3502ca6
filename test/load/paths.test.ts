/**
 * File names are names, not patterns, and folders are folders: DuckDB's readers take a path as a
 * glob (`x[1].parquet` would read `x1.parquet`) and read `key=value/` folders as hive partitions
 * (a folder `run=sft/` would replace the file's own run values). Each loader format reads exactly
 * the file named, with its own values.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/load/engine";
import { loadTokenLogs } from "../../src/index";

let engine: Engine;
let dir: string;
beforeAll(async () => {
  engine = await Engine.create({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), "ad-paths-"));
});
afterAll(() => engine.close());

const rows = (run: string) => [0, 5].flatMap((step) => [0, 1].map((position) => ({ run, step, example: "e1", position, loss: 1 + position + step / 5 })));

/** Writes `rows` of `run` as `name` (format from the extension) under `dir`. */
async function write(name: string, run: string): Promise<string> {
  const f = join(dir, name);
  mkdirSync(join(f, ".."), { recursive: true });
  const rs = rows(run);
  if (name.endsWith(".parquet")) {
    await engine.run(`COPY (SELECT * FROM (VALUES ${rs.map((r) => `('${r.run}', ${r.step}, '${r.example}', ${r.position}, ${r.loss})`).join(", ")}) t(run, step, example, "position", loss)) TO '${f.replace(/'/g, "''")}' (FORMAT parquet)`);
  } else if (name.includes(".csv")) {
    const text = "run,step,example,position,loss\n" + rs.map((r) => `${r.run},${r.step},${r.example},${r.position},${r.loss}`).join("\n") + "\n";
    writeFileSync(f, name.endsWith(".gz") ? gzipSync(text) : text);
  } else {
    const text = rs.map((r) => JSON.stringify(r)).join("\n") + "\n";
    writeFileSync(f, name.endsWith(".gz") ? gzipSync(text) : text);
  }
  return f;
}

async function runsAndSteps(file: string): Promise<Array<[string, number, number]>> {
  const logs = await loadTokenLogs(file, { progress: false, cache: false });
  try {
    return (await logs.engine.rows<{ run: string; step: number; n: number }>(`SELECT run, step, count(*)::INTEGER AS n FROM tokens GROUP BY ALL ORDER BY ALL`)).map((r) => [r.run, r.step, r.n]);
  } finally {
    logs.close();
  }
}

describe("file paths are read as they are", () => {
  for (const ext of [".parquet", ".jsonl", ".jsonl.gz", ".csv"]) {
    it(`a folder named run=X/ or step=N/ does not replace the file's values (${ext})`, async () => {
      const f = await write(`hive${ext.replace(/\./g, "-")}/run=other/step=100/log${ext}`, "sft");
      expect(await runsAndSteps(f)).toEqual([["sft", 0, 2], ["sft", 5, 2]]);
    });
    it(`a name with [ ], ? or * is that file, not a pattern (${ext})`, async () => {
      const sub = `glob${ext.replace(/\./g, "-")}`;
      // decoys the pattern would match: x1, bX, cX
      await write(`${sub}/x1${ext}`, "decoy");
      await write(`${sub}/bX${ext}`, "decoy");
      await write(`${sub}/cXY${ext}`, "decoy");
      for (const name of [`x[1]${ext}`, `b?${ext}`, `c*${ext}`]) {
        const f = await write(`${sub}/${name}`, "named");
        expect(await runsAndSteps(f), name).toEqual([["named", 0, 2], ["named", 5, 2]]);
      }
    });
  }
  it("several Parquet files read as one list keep their names and values", async () => {
    const a = await write("list/run=zz/a[1].parquet", "a");
    const b = await write("list/run=zz/b?.parquet", "b");
    await write("list/run=zz/a1.parquet", "decoy");
    const logs = await loadTokenLogs([a, b], { progress: false, cache: false });
    try {
      expect((await logs.engine.rows<{ run: string }>(`SELECT DISTINCT run FROM tokens ORDER BY run`)).map((r) => r.run)).toEqual(["a", "b"]);
      expect(logs.report.tokens).toBe(8);
    } finally {
      logs.close();
    }
  });
  it("one file named twice, in another spelling or through a link, is read once, with a note for each", async () => {
    const f = await write("twice/one.parquet", "r");
    const link = join(dir, "twice", "link.parquet");
    symlinkSync(f, link);
    const other = `${dir}/twice/./one.parquet`;
    const logs = await loadTokenLogs([f, f, other, link], { progress: false, cache: false });
    try {
      expect(logs.report.tokens).toBe(4);
      expect(logs.report.notes).toEqual([`${f} is given more than once: read once`, `${other} is the same file as ${f}: read once`, `${link} is the same file as ${f}: read once`]);
    } finally {
      logs.close();
    }
  });
});
