/**
 * The validation cache (src/load/cache.ts): a second load of unchanged files takes what validation
 * proved from the cache and gives the same table, report and answers; a file changed in place (also
 * with its modification time put back) is validated again; corrupt entries are ignored and
 * rewritten; options are part of the key; the directory follows ALIGNDEPTH_CACHE_DIR.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidInputError, loadTokenLogs, positionProfile } from "../../src/index";
import { cacheDir, fileIdentity } from "../../src/load/cache";
import { Engine } from "../../src/load/engine";
import { run } from "../cli/run";

const CORE = join(__dirname, "..", "fixtures", "core");
let dir: string;
let cache: string;
const saved = process.env.ALIGNDEPTH_CACHE_DIR;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ad-cache-files-"));
  cache = mkdtempSync(join(tmpdir(), "ad-cache-dir-"));
  process.env.ALIGNDEPTH_CACHE_DIR = cache;
});
afterEach(() => {
  process.env.ALIGNDEPTH_CACHE_DIR = saved;
});

const entries = () => readdirSync(join(cache, "validation")).filter((f) => f.endsWith(".json"));

/** Long JSON Lines with fixed-width losses (so that a value can be changed without changing the size). */
function longLog(file: string, losses = [2.25, 4.5, 6.75, 1.125]): string {
  const lines = losses.map((l, i) => JSON.stringify({ run: "r", step: i < 2 ? 0 : 5, example: "e1", position: i % 2, loss: l.toFixed(4) }).replace(/"loss":"([0-9.]+)"/, '"loss":$1'));
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

async function parquetOf(jsonl: string, out: string, extra = ""): Promise<string> {
  const e = await Engine.create({ threads: 1 });
  try {
    await e.run(`COPY (SELECT * FROM read_json('${jsonl}', format = 'newline_delimited') ${extra}) TO '${out}' (FORMAT parquet)`);
  } finally {
    e.close();
  }
  return out;
}

describe("validation cache", () => {
  it("a second load of unchanged files hits the cache and gives the same report and profile", async () => {
    const files = [join(CORE, "ragged-wide.jsonl"), join(CORE, "ragged-long.csv")].map((f) => {
      const to = join(dir, f.split("/").pop()!);
      copyFileSync(f, to);
      return to;
    });
    // Two files with the same keys and different metrics are joined; here one file each.
    for (const f of files) {
      const cold = await loadTokenLogs(f, { progress: false });
      expect(cold.report.cache).toMatchObject({ hits: 0, dir: join(cache, "validation") });
      expect(cold.report.cache!.misses).toBeGreaterThan(0);
      const coldProfile = await positionProfile(cold, { metric: "loss" });
      const { cache: c1, seconds: s1, ...coldReport } = cold.report;
      cold.close();
      const warm = await loadTokenLogs(f, { progress: false });
      // one entry for the file, one for the table's rows per metric
      expect(warm.report.cache).toMatchObject({ hits: 2, misses: 0 });
      const { cache: c2, seconds: s2, ...warmReport } = warm.report;
      expect(warmReport).toEqual(coldReport);
      expect(await positionProfile(warm, { metric: "loss" })).toEqual(coldProfile);
      warm.close();
      void [c1, c2, s1, s2];
    }
  });

  it("profile and summary print identical JSON with and without the cache (JSON Lines, CSV, Parquet, two shards)", async () => {
    const pq = await parquetOf(join(CORE, "ragged-long.jsonl"), join(dir, "long.parquet"));
    const inputs = [[join(CORE, "ragged-wide.jsonl")], [join(CORE, "ragged-long.csv")], [pq], [join(CORE, "shard-a.jsonl"), join(CORE, "shard-b.jsonl")]];
    for (const files of inputs) {
      for (const cmd of [["profile", ...files, "--json"], ["summary", ...files, "--k", "1", "--bootstrap", "50", "--json"]]) {
        const uncached = await run([...cmd, "--no-cache", "--no-progress"]);
        expect(uncached.code).toBe(0);
        const first = await run([...cmd, "--no-progress"]);
        const second = await run([...cmd, "--no-progress"]);
        expect(first.stdout).toBe(uncached.stdout);
        expect(second.stdout).toBe(uncached.stdout);
      }
    }
    // the cached runs wrote entries
    expect(entries().length).toBeGreaterThan(0);
  }, 120_000);

  it("validate says on stderr when the cache was used; --no-cache neither reads nor writes it", async () => {
    const f = longLog(join(dir, "a.jsonl"));
    const none = await run(["validate", f, "--no-cache"]);
    expect(none.code).toBe(0);
    expect(readdirSync(cache)).toEqual([]);
    const first = await run(["validate", f]);
    expect(first.stderr).not.toMatch(/validation cache/);
    const second = await run(["validate", f]);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/validation cache used \(2 of 2 entries/);
  });

  it("cache: false neither reads nor writes entries", async () => {
    const f = longLog(join(dir, "a.jsonl"));
    const logs = await loadTokenLogs(f, { progress: false, cache: false });
    expect(logs.report.cache).toEqual({ hits: 0, misses: 0, dir: null });
    logs.close();
    expect(readdirSync(cache)).toEqual([]);
  });

  it("a file changed in place is validated again, also with its modification time put back", async () => {
    const f = longLog(join(dir, "a.jsonl"));
    (await loadTokenLogs(f, { progress: false })).close();
    const before = statSync(f, { bigint: true });
    // Same size: a loss becomes a string (6 bytes for 6 bytes); the modification time is restored.
    const text = readFileSync(f, "utf8");
    const changed = text.replace("4.5000", '"4.50"');
    expect(changed.length).toBe(text.length);
    writeFileSync(f, changed);
    // touch sets the time to the nanosecond (Node's utimes rounds through a double)
    const ns = before.mtimeNs;
    execFileSync("touch", ["-m", "-d", `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`, f]);
    expect(statSync(f, { bigint: true }).mtimeNs).toBe(before.mtimeNs);
    expect(statSync(f, { bigint: true }).size).toBe(before.size);
    const err = await loadTokenLogs(f, { progress: false }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).problems[0]).toMatchObject({ file: f, line: 2, field: "loss" });
    // Appended rows are counted (size, content and times changed).
    writeFileSync(f, `${text}{"run":"r","step":5,"example":"e2","position":0,"loss":3.0000}\n`);
    const logs = await loadTokenLogs(f, { progress: false });
    expect(logs.report.tokens).toBe(5);
    expect(logs.report.cache!.hits).toBe(0);
    logs.close();
  });

  it("a file's identity changes with its change time, size or content ends, not with reading it", () => {
    const f = longLog(join(dir, "a.jsonl"));
    const id = fileIdentity(f, false);
    expect(id).not.toBeNull();
    readFileSync(f);
    expect(fileIdentity(f, false)).toBe(id);
    // chmod changes only the change time (ctime)
    const st = statSync(f, { bigint: true });
    chmodSync(f, 0o600);
    chmodSync(f, Number(st.mode) & 0o777);
    const after = statSync(f, { bigint: true });
    if (after.ctimeNs !== st.ctimeNs) expect(fileIdentity(f, false)).not.toBe(id);
  });

  it("a corrupt or truncated entry is ignored and rewritten", async () => {
    const pq = await parquetOf(join(CORE, "ragged-long.jsonl"), join(dir, "long.parquet"));
    const cold = await loadTokenLogs(pq, { progress: false });
    const tokens = cold.report.tokens;
    cold.close();
    const names = entries();
    expect(names.length).toBe(2);
    writeFileSync(join(cache, "validation", names[0]), "{ not json");
    writeFileSync(join(cache, "validation", names[1]), JSON.stringify({ key: "another", value: { rows: 1, metricRows: { loss: 1 } } }));
    const again = await loadTokenLogs(pq, { progress: false });
    expect(again.report.cache).toMatchObject({ hits: 0, misses: 2 });
    expect(again.report.tokens).toBe(tokens);
    expect(again.report.metricRows).toEqual({ loss: tokens });
    again.close();
    // rewritten: parseable, and the next load hits
    for (const n of entries()) expect(() => JSON.parse(readFileSync(join(cache, "validation", n), "utf8"))).not.toThrow();
    const third = await loadTokenLogs(pq, { progress: false });
    expect(third.report.cache).toMatchObject({ hits: 2, misses: 0 });
    third.close();
  });

  it("options that change validation change the key; skip mode's counts come back from the cache", async () => {
    // A Parquet file with one non-finite loss at row 2 (1-based).
    const pq = await parquetOf(join(CORE, "ragged-long.jsonl"), join(dir, "bad.parquet"), "");
    const e = await Engine.create({ threads: 1 });
    const bad = join(dir, "bad2.parquet");
    await e.run(`COPY (SELECT run, step, example, "position", CASE WHEN file_row_number = 1 THEN 'NaN'::DOUBLE ELSE loss END AS loss FROM read_parquet('${pq}', file_row_number = true) ORDER BY file_row_number) TO '${bad}' (FORMAT parquet)`);
    e.close();
    const strict = await loadTokenLogs(bad, { progress: false }).catch((x) => x);
    expect(strict).toBeInstanceOf(InvalidInputError);
    const skip1 = await loadTokenLogs(bad, { progress: false, skipInvalid: true });
    expect(skip1.report.cache!.hits).toBe(0);
    const skip2 = await loadTokenLogs(bad, { progress: false, skipInvalid: true });
    expect(skip2.report.cache).toMatchObject({ hits: 2, misses: 0 });
    const drop = (r: typeof skip1.report) => ({ tokens: r.tokens, dropped: r.droppedValues, problems: r.files[0].problems, count: r.files[0].problemCount, rows: r.metricRows });
    expect(drop(skip2.report)).toEqual(drop(skip1.report));
    expect(skip2.report.droppedValues).toEqual({ loss: { "not-finite": 1 } });
    expect(skip2.report.files[0].problems[0]).toMatchObject({ line: 2, field: "loss", reason: "not-finite" });
    expect(await positionProfile(skip2, { metric: "loss" })).toEqual(await positionProfile(skip1, { metric: "loss" }));
    skip1.close();
    skip2.close();
    // strict again: still the error (the strict entry is its own)
    expect(await loadTokenLogs(bad, { progress: false }).catch((x) => x)).toBeInstanceOf(InvalidInputError);
    // a column mapping is another key
    const mapped = await loadTokenLogs(pq, { progress: false, columns: { loss: "loss" } });
    expect(mapped.report.cache!.hits).toBe(0);
    mapped.close();
  });

  it("the directory is ALIGNDEPTH_CACHE_DIR, else XDG_CACHE_HOME/aligndepth, else ~/.cache/aligndepth", async () => {
    expect(cacheDir({ ALIGNDEPTH_CACHE_DIR: "/x/y", XDG_CACHE_HOME: "/c" })).toBe("/x/y");
    expect(cacheDir({ XDG_CACHE_HOME: "/c" })).toBe("/c/aligndepth");
    expect(cacheDir({})).toMatch(/\/\.cache\/aligndepth$/);
    const f = longLog(join(dir, "a.jsonl"));
    (await loadTokenLogs(f, { progress: false })).close();
    expect(entries().length).toBe(2);
  });
});
