/**
 * "Every (run, step, example) starts at position 0" proven at load (LoadReport.startsAtZero), which
 * lets positionStartWarnings skip its scan: the fact must hold whenever it is claimed, on the first
 * load and from the validation cache, and the warnings must be those of the scan.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/load/engine";
import { loadTokenLogs } from "../../src/index";
import { positionStart, positionStartWarnings } from "../../src/stats/positionStart";

let engine: Engine;
let dir: string;
beforeAll(async () => {
  engine = await Engine.create({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), "ad-start-"));
});
afterAll(() => engine.close());

async function parquet(name: string, rows: Array<[string, number, string, number, number]>): Promise<string> {
  const f = join(dir, name);
  await engine.run(`COPY (SELECT * FROM (VALUES ${rows.map(([r, s, e, p, l]) => `('${r}', ${s}, '${e}', ${p}, ${l})`).join(", ")}) t(run, step, example, "position", loss)) TO '${f}' (FORMAT parquet)`);
  return f;
}

/** The fact, the warnings as analyses print them, and the scan's own count. */
async function facts(files: string[], opts: Record<string, unknown> = {}) {
  const logs = await loadTokenLogs(files, { progress: false, cache: false, ...opts });
  try {
    return { startsAtZero: logs.report.startsAtZero, warnings: await positionStartWarnings(logs, { metric: "loss" }), late: (await positionStart(logs, { metric: "loss" })).examples };
  } finally {
    logs.close();
  }
}

describe("startsAtZero: proven at load, used by positionStartWarnings", () => {
  it("long Parquet: proven when every example starts at 0; not when one starts at 2 (then the scan warns)", async () => {
    const ok = await parquet("ok.parquet", [["r", 0, "e1", 0, 1], ["r", 0, "e1", 1, 2], ["r", 5, "e1", 0, 1], ["r", 5, "e2", 0, 3]]);
    expect(await facts([ok])).toEqual({ startsAtZero: true, warnings: [], late: 0 });
    const late = await parquet("late.parquet", [["r", 0, "e1", 0, 1], ["r", 5, "e2", 2, 3], ["r", 5, "e2", 3, 3]]);
    const f = await facts([late]);
    expect(f.startsAtZero).toBe(false);
    expect(f.late).toBe(1);
    expect(f.warnings).toEqual([expect.stringMatching(/^1 of 2 examples do not start at position 0 \(first position 2\)/)]);
    // two files (other runs): one proven, one not -> not proven for the union
    const late2 = await parquet("late2.parquet", [["q", 0, "e1", 1, 1]]);
    const both = await facts([ok, late2]);
    expect([both.startsAtZero, both.late]).toEqual([false, 1]);
  });
  it("the same fact from the validation cache (a warm load)", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "ad-start-cache-"));
    const ok = await parquet("warm-ok.parquet", [["r", 0, "e1", 0, 1], ["r", 0, "e1", 1, 2]]);
    const late = await parquet("warm-late.parquet", [["r", 0, "e1", 1, 1], ["r", 0, "e1", 2, 2]]);
    process.env.ALIGNDEPTH_CACHE_DIR = cacheDir;
    try {
      for (let load = 0; load < 2; load++) {
        const a = await loadTokenLogs(ok, { progress: false });
        const b = await loadTokenLogs(late, { progress: false });
        expect([a.report.startsAtZero, b.report.startsAtZero, (a.report.cache?.hits ?? 0) > 0], `load ${load}`).toEqual([true, false, load === 1]);
        expect(await positionStartWarnings(b, { metric: "loss" })).toEqual([expect.stringMatching(/^1 of 1 examples do not start at position 0 \(first position 1\)/)]);
        a.close();
        b.close();
      }
    } finally {
      delete process.env.ALIGNDEPTH_CACHE_DIR;
    }
  });
  it("wide JSON Lines: proven without an offset, not with one; long JSON Lines: not proven, the scan decides", async () => {
    const wide = join(dir, "wide.jsonl");
    writeFileSync(wide, [{ run: "r", step: 0, example: "a", loss: [1, 2] }, { run: "r", step: 5, example: "a", loss: [0.5, 2] }].map((r) => JSON.stringify(r)).join("\n") + "\n");
    expect(await facts([wide])).toEqual({ startsAtZero: true, warnings: [], late: 0 });
    // and from the validation cache (the gate's proof kept)
    process.env.ALIGNDEPTH_CACHE_DIR = mkdtempSync(join(tmpdir(), "ad-start-wide-"));
    try {
      for (let load = 0; load < 2; load++) expect(await facts([wide], { cache: true }), `load ${load}`).toEqual({ startsAtZero: true, warnings: [], late: 0 });
    } finally {
      delete process.env.ALIGNDEPTH_CACHE_DIR;
    }
    const offset = join(dir, "offset.jsonl");
    writeFileSync(offset, [{ run: "r", step: 0, example: "a", offset: 3, loss: [1, 2] }, { run: "r", step: 5, example: "a", offset: 3, loss: [0.5, 2] }].map((r) => JSON.stringify(r)).join("\n") + "\n");
    const o = await facts([offset]);
    expect([o.startsAtZero, o.late]).toEqual([false, 1]);
    expect(o.warnings).toEqual([expect.stringMatching(/^1 of 1 examples do not start at position 0 \(first position 3\)/)]);
    // an offset only in later records: the gate refuses the mixed keys, the validator reads the file,
    // and nothing is claimed (the warning comes from the scan), on a first and on a warm load
    const later = [{ run: "w", step: 0, example: "a", loss: [1, 1, 1] }, { run: "w", step: 0, example: "b", offset: 2, loss: [1, 1, 1] }, { run: "w", step: 100, example: "a", loss: [2, 1.5, 1.2] }, { run: "w", step: 100, example: "b", offset: 2, loss: [2, 1.4, 1.1] }];
    const laterText = later.map((r) => JSON.stringify(r)).join("\n") + "\n";
    const laterFile = join(dir, "later.jsonl");
    const laterGz = join(dir, "later.jsonl.gz");
    writeFileSync(laterFile, laterText);
    writeFileSync(laterGz, gzipSync(laterText));
    const cacheDir = mkdtempSync(join(tmpdir(), "ad-start-later-"));
    for (const [f, opts] of [[laterFile, {}], [laterGz, {}], [laterFile, { cache: true }], [laterFile, { cache: true }]] as const) {
      if ("cache" in opts) process.env.ALIGNDEPTH_CACHE_DIR = cacheDir;
      try {
        const l = await facts([f], opts);
        expect([l.startsAtZero, l.late], f).toEqual([false, 1]);
        expect(l.warnings, f).toEqual([expect.stringMatching(/^1 of 2 examples do not start at position 0 \(first position 2\)/)]);
      } finally {
        delete process.env.ALIGNDEPTH_CACHE_DIR;
      }
    }
    const long = join(dir, "long.jsonl");
    writeFileSync(long, [{ run: "r", step: 0, example: "a", position: 0, loss: 1 }, { run: "r", step: 5, example: "a", position: 0, loss: 0.5 }].map((r) => JSON.stringify(r)).join("\n") + "\n");
    expect(await facts([long])).toEqual({ startsAtZero: false, warnings: [], late: 0 });
  });
  it("not claimed for a metric measured at some rows only, nor after a row filter", async () => {
    // kl is missing at position 0 of e1: its analysed rows start at 1
    const f = join(dir, "kl.parquet");
    await engine.run(`COPY (SELECT * FROM (VALUES ('r', 0, 'e1', 0, 1.0, NULL), ('r', 0, 'e1', 1, 2.0, 0.5), ('r', 0, 'e1', 2, 2.0, 0.5)) t(run, step, example, "position", loss, kl)) TO '${f}' (FORMAT parquet)`);
    const logs = await loadTokenLogs(f, { progress: false, cache: false });
    try {
      expect(logs.report.startsAtZero).toBe(true);
      expect(await positionStartWarnings(logs, { metric: "loss" })).toEqual([]);
      expect(await positionStartWarnings(logs, { metric: "kl" })).toEqual([expect.stringMatching(/^1 of 1 examples do not start at position 0 \(first position 1\)/)]);
      expect(await positionStartWarnings(logs, { metric: "loss", where: { run: "r" } })).toEqual([]);
    } finally {
      logs.close();
    }
  });
});
