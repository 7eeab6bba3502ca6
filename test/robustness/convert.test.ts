/**
 * `convert` loses nothing: every row and every value round-trips bit for bit through the long and
 * wide layouts, JSON Lines, CSV and Parquet (doubles compared with Object.is: same bits, -0 kept).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertTokenLogs } from "../../src/convert";
import { loadTokenLogs } from "../../src/load";
import { cli, rng } from "./helpers";

let D = "";
const SPECIAL = [0.1 + 0.2, 1e-310, 5e-324, -0, 1.7976931348623157e308, -2.2250738585072014e-308, 1 / 3, 123456789.12345679, 2 ** 53 + 2, 0];
const TOKENS = ["héllo", '"quoted"', "new\nline", "tab\there", "comma, too", " lead", "trail ", "", "🙂 日本", "cr\rlf\r\n", "back\\slash", "</script>"];
const BIG_IDS = [4611686018427387905n, 9223372036854775807n, -9223372036854775808n, 0n, 50256n];

/** A random finite double from random bits. */
function randomDouble(r: () => number): number {
  const dv = new DataView(new ArrayBuffer(8));
  for (;;) {
    dv.setUint32(0, Math.floor(r() * 2 ** 32));
    dv.setUint32(4, Math.floor(r() * 2 ** 32));
    const x = dv.getFloat64(0);
    if (Number.isFinite(x)) return x;
  }
}

const num = (x: number) => (Object.is(x, -0) ? "-0.0" : String(x));

/** A lab-like wide log: runs x steps x examples, token arrays, a gap in one example's positions. */
function labLike(): string {
  const r = rng(7);
  const lines: string[] = [];
  let k = 0;
  for (const run of ["sft-seed0", "deep 'aug' run"]) {
    for (const step of [0, 50, 100]) {
      for (let ex = 0; ex < 4; ex++) {
        const n = 3 + ex;
        const loss = Array.from({ length: n }, (_, i) => (k + i < SPECIAL.length * 2 ? SPECIAL[(k + i) % SPECIAL.length] : randomDouble(r)));
        const kl = Array.from({ length: n }, () => Math.abs(randomDouble(r)));
        const tok = Array.from({ length: n }, (_, i) => TOKENS[(k + i) % TOKENS.length]);
        const ids = Array.from({ length: n }, (_, i) => BIG_IDS[(k + i) % BIG_IDS.length]);
        k += n;
        const example = ex === 3 ? `ex "${ex}"` : ex;
        const rec = (offset: number, sl: [number, number]) =>
          `{"run":${JSON.stringify(run)},"step":${step},"example":${JSON.stringify(example)},"offset":${offset},"segment":"refusal",` +
          `"loss":[${loss.slice(...sl).map(num).join(",")}],"kl":[${kl.slice(...sl).map(num).join(",")}],` +
          `"token":${JSON.stringify(tok.slice(...sl))},"token_id":[${ids.slice(...sl).join(",")}]}`;
        if (ex === 2) {
          // Positions 0..1 and 7..: not contiguous, two records.
          lines.push(rec(0, [0, 2]), rec(7, [2, n]));
        } else lines.push(rec(0, [0, n]));
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

/** All rows, ordered, with BIGINT kept exact. */
async function snapshot(file: string): Promise<{ columns: string[]; rows: unknown[][] }> {
  const logs = await loadTokenLogs(file, { progress: false });
  try {
    const cols = (await logs.engine.rows<{ column_name: string }>(`DESCRIBE SELECT * FROM ${logs.table}`)).map((c) => c.column_name).sort();
    const reader = await logs.engine.conn.runAndReadAll(`SELECT ${cols.map((c) => `"${c.replace(/"/g, '""')}"`).join(", ")} FROM ${logs.table} ORDER BY run, step, example, "position"`);
    return { columns: cols, rows: reader.getRowsJS() as unknown[][] };
  } finally {
    logs.close();
  }
}

/** Every value identical; `textAsNumber` names text columns that may come back as the number they spell (CSV). */
function expectBitExact(a: { columns: string[]; rows: unknown[][] }, b: { columns: string[]; rows: unknown[][] }, where: string, textAsNumber: string[] = []): void {
  expect(b.columns, where).toEqual(a.columns);
  expect(b.rows.length, where).toBe(a.rows.length);
  for (let i = 0; i < a.rows.length; i++)
    for (let j = 0; j < a.columns.length; j++) {
      const x = a.rows[i][j];
      const y = b.rows[i][j];
      if (textAsNumber.includes(a.columns[j]) && typeof x === "string" && typeof y === "number" && Object.is(Number(x), y)) continue;
      if (!Object.is(x, y)) expect.fail(`${where}: row ${i} column ${a.columns[j]}: ${String(x)} (${typeof x}) != ${String(y)} (${typeof y})`);
    }
}

beforeAll(() => {
  D = mkdtempSync(join(tmpdir(), "aligndepth-convert-"));
});
afterAll(() => rmSync(D, { recursive: true, force: true }));

describe("convert round trips bit for bit", () => {
  it("wide JSONL -> long JSONL -> Parquet -> wide JSONL -> wide Parquet -> CSV -> long JSONL", async () => {
    const src = join(D, "lab.jsonl");
    writeFileSync(src, labLike());
    const want = await snapshot(src);
    expect(want.rows.length).toBeGreaterThan(100);
    // The specials made it in unchanged (the reference itself is right).
    const li = want.columns.indexOf("loss");
    expect(want.rows.some((r) => Object.is(r[li], -0))).toBe(true);
    expect(want.rows.some((r) => r[li] === 5e-324)).toBe(true);
    expect(want.rows.some((r) => r[li] === 0.1 + 0.2)).toBe(true);
    const ti = want.columns.indexOf("token_id");
    expect(want.rows.some((r) => r[ti] === 9223372036854775807n)).toBe(true);
    const chain: Array<[string, "long" | "wide"]> = [
      ["long.jsonl", "long"],
      ["long.parquet", "long"],
      ["wide.jsonl", "wide"],
      ["wide.parquet", "wide"],
      ["long.csv", "long"],
      ["again.jsonl", "long"],
    ];
    let prev = src;
    for (const [name, layout] of chain) {
      const out = join(D, name);
      const r = await convertTokenLogs(prev, { out, toLayout: layout, progress: false });
      expect(r.tokens).toBe(want.rows.length);
      expectBitExact(want, await snapshot(out), `${prev} -> ${name}`);
      prev = out;
    }
    // Gaps split wide records: example 2 has positions 0, 1 and 7.. in two records.
    const wide = readFileSync(join(D, "wide.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const ex2 = wide.filter((w) => w.run === "sft-seed0" && w.step === 0 && w.example === "2");
    expect(ex2.map((w) => w.offset ?? 0)).toEqual([0, 7]);
  }, 60_000);

  it("the CLI converts and reports; CSV cannot hold the wide layout", async () => {
    const src = join(D, "cli.jsonl");
    writeFileSync(src, labLike());
    const r = await cli(["convert", src, "--out", join(D, "cli.parquet"), "--layout", "wide", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.join("\n"))).toMatchObject({ format: "parquet", layout: "wide" });
    const bad = await cli(["convert", src, "--out", join(D, "x.csv"), "--layout", "wide"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toEqual(["error: convert: CSV holds only the long layout (per-token arrays need JSON Lines or Parquet)"]);
    const none = await cli(["convert", src]);
    expect(none.code).toBe(2);
  });

  it("CSV output names a text label that will read back as a number; JSON Lines does not warn", async () => {
    const src = join(D, "textnum.jsonl");
    writeFileSync(src, [0, 1].map((p) => JSON.stringify({ run: "a", step: 0, example: "e", position: p, loss: 0.5, lr: "3e-4", method: "sft" })).join("\n") + "\n");
    const csv = await cli(["convert", src, "--out", join(D, "textnum.csv"), "--json"]);
    expect(csv.code).toBe(0);
    const w = "label lr: every value is text that looks like a number; CSV has no types, so it reads back as a number (JSON Lines and Parquet keep it text)";
    expect(csv.stderr).toEqual([`warning: ${w}`]);
    expect(JSON.parse(csv.stdout.join("\n")).warnings).toEqual([w]);
    const jsonl = await cli(["convert", src, "--out", join(D, "textnum.out.jsonl"), "--json"]);
    expect(jsonl.stderr).toEqual([]);
    expect(JSON.parse(jsonl.stdout.join("\n")).warnings).toEqual([]);
  });

  it("inputs with different labels are refused, naming the column; a metric one input lacks is written as not measured", async () => {
    const a = join(D, "a.jsonl");
    const b = join(D, "b.jsonl");
    writeFileSync(a, `${JSON.stringify({ run: "a", step: 0, example: 1, position: 0, loss: 0.5, kl: 0.1, token: "x" })}\n`);
    writeFileSync(b, `${JSON.stringify({ run: "b", step: 0, example: 1, position: 0, loss: 0.5 })}\n`);
    const r = await cli(["convert", a, b, "--out", join(D, "ab.jsonl")]);
    expect(r.code).toBe(1);
    expect(r.stderr[0]).toMatch(/field "token": missing in some inputs/);
    // METRICS 1.2: kl not measured for run b is a null, not a reason to refuse.
    writeFileSync(a, `${JSON.stringify({ run: "a", step: 0, example: 1, position: 0, loss: 0.5, kl: 0.1 })}\n`);
    const ok = await cli(["convert", a, b, "--out", join(D, "ab.jsonl")]);
    expect(ok.code).toBe(0);
    expect(readFileSync(join(D, "ab.jsonl"), "utf8")).toBe(
      '{"run":"a","step":0,"example":"1","position":0,"loss":0.5,"kl":0.1}\n{"run":"b","step":0,"example":"1","position":0,"loss":0.5,"kl":null}\n',
    );
  });

  const lab = existsSync("data/lab") ? readdirSync("data/lab").filter((f) => /^(tokens|gradnorm)-.*\.jsonl\.gz$/.test(f)).sort() : [];
  it.runIf(lab.length > 0)("a real lab log round-trips (data/lab)", async () => {
    const src = join("data/lab", lab[0]);
    const want = await snapshot(src);
    for (const [name, layout] of [["lab-long.parquet", "long"], ["lab-wide.jsonl", "wide"], ["lab-long.csv", "long"]] as const) {
      const out = join(D, name);
      const r = await convertTokenLogs(src, { out, toLayout: layout, progress: false });
      // CSV has no types: the lab's text label derail ("0.04") comes back as 0.04, and convert says so
      const textAsNumber = r.warnings.map((w) => /^label (\S+):/.exec(w)![1]);
      if (name.endsWith(".csv")) expect(textAsNumber).toEqual(["derail"]);
      else expect(r.warnings).toEqual([]);
      expectBitExact(want, await snapshot(out), `${src} -> ${name}`, textAsNumber);
    }
  }, 300_000);
  it.runIf(lab.length === 0)("no real lab log yet (data/lab/*.jsonl.gz): the lab-like synthetic log above stands in", () => {
    console.log("convert.test: data/lab/*.jsonl.gz does not exist yet; skipped the real-log round trip");
  });
});
