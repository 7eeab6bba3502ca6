/**
 * The JSON Lines gate (src/load/gateJsonLines.ts) may only call a file clean when the JS validator accepts it,
 * with the same records, tokens, layout and columns. Checked on the robustness corpus
 * (test/fixtures/broken), the core fixtures, and on mutations of clean files, each run through both.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/load/engine";
import { gateJsonLines } from "../../src/load/gateJsonLines";
import { scanJsonLines } from "../../src/load/readJsonLines";
import { loadTokenLogs, positionProfile } from "../../src/index";

let engine: Engine;
let dir: string;
beforeAll(async () => {
  engine = await Engine.create({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), "ad-gate-"));
});
afterAll(() => engine.close());

const fixtures = (sub: string) => {
  const d = join(__dirname, "..", "fixtures", sub);
  return readdirSync(d).filter((f) => /\.(jsonl|json)(\.gz)?$/.test(f)).map((f) => join(d, f));
};

/** Runs both; when the gate accepts, the validator must accept the same file with the same result. */
async function agree(file: string): Promise<boolean> {
  const gated = await gateJsonLines(engine, file, {});
  if (gated === null) return false;
  const scan = await scanJsonLines(file, {}).catch(() => null);
  expect(scan, file).not.toBeNull();
  expect(scan!.problemCount, `${file}: the gate passed a file the validator rejects: ${JSON.stringify(scan!.problems[0])}`).toBe(0);
  expect(scan!.gzipCut ?? false, file).toBe(false);
  expect(scan!.needsCleanCopy, file).toBe(false);
  expect([gated.records, gated.tokens, gated.layout, gated.columns], file).toEqual([scan!.records, scan!.tokens, scan!.layout, scan!.columns]);
  return true;
}

describe("gateJsonLines against the validator", () => {
  it("passes no file of the robustness corpus that the validator rejects", async () => {
    const files = fixtures("broken");
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) await agree(f);
  });
  it("never passes a file with a line DuckDB's line reader skips (longer than its max_line_size)", async () => {
    const f = join(dir, "long-line.jsonl");
    const big = Array.from({ length: 600_000 }, (_, i) => (i === 1000 ? "NaN" : "0.5")).join(", ");
    writeFileSync(f, `${wide[0]}\n{"run": "r", "step": 0, "example": "e9", "split": "x", "loss": [${big}], "token_id": [1]}\n`);
    expect(await gateJsonLines(engine, f, {})).toBeNull();
    expect((await scanJsonLines(f, {})).problemCount).toBeGreaterThan(0);
  });
  it("passes the clean core fixtures, long and wide", async () => {
    const passed = [];
    for (const f of fixtures("core")) if (await agree(f)) passed.push(f);
    expect(passed.length).toBeGreaterThanOrEqual(3);
  });

  const wide = [
    `{"run": "r", "step": 0, "example": "e1", "split": "refusal", "loss": [2.5, 4, 6e-3], "token_id": [1, 2, 3]}`,
    `{"run": "r", "step": 0, "example": 7, "split": "harmful", "loss": [1, -3.25], "token_id": [4, 5]}`,
    `{"run": "r", "step": 10, "example": "e1", "split": "refusal", "loss": [1.5, 4, 6], "token_id": [1, 2, 3]}`,
  ];
  const long = [
    `{"run":"r","step":0,"example":"e1","position":0,"loss":2.5,"token":"a"}`,
    `{"run":"r","step":0,"example":"e1","position":1,"loss":3,"token":"b"}`,
    `{"run":"r","step":5,"example":2,"position":0,"loss":1e-2,"token":""}`,
  ];
  const mutations: Array<[string, (lines: string[]) => string[]]> = [
    ["clean", (l) => l],
    ["string number in an array", (l) => [l[0], l[1].replace("1, -3.25", `1, "-3.25"`), l[2]]],
    ["string number as a scalar metric", (l) => [l[0], l[1].replace('"loss":3', '"loss":"3"'), l[2]]],
    ["boolean", (l) => [l[0], l[1].replace("-3.25", "true").replace('"loss":3', '"loss":true'), l[2]]],
    ["null", (l) => [l[0], l[1].replace("-3.25", "null").replace('"loss":3', '"loss":null'), l[2]]],
    ["NaN", (l) => [l[0], l[1].replace("-3.25", "NaN").replace('"loss":3', '"loss":NaN'), l[2]]],
    ["Infinity", (l) => [l[0], l[1].replace("-3.25", "-Infinity").replace('"loss":3', '"loss":Infinity'), l[2]]],
    ["overflow to infinity", (l) => [l[0], l[1].replace("-3.25", "1e400").replace('"loss":3', '"loss":1e400'), l[2]]],
    ["number as the run", (l) => [l[0], l[1].replace(`"run": "r"`, `"run": 5`).replace(`"run":"r"`, `"run":5`), l[2]]],
    ["number as a text label", (l) => [l[0], l[1].replace(`"split": "harmful"`, `"split": 3`).replace(`"token":"b"`, `"token":3`), l[2]]],
    ["duplicate field", (l) => [l[0], l[1].replace(`{`, `{"run": "x", `), l[2]]],
    ["extra field", (l) => [l[0], l[1].replace(`{`, `{"extra": 1, `), l[2]]],
    ["missing field", (l) => [l[0], l[1].replace(/"token_id": \[[^\]]*\]|,"token":"b"/, "").replace(", }", "}"), l[2]]],
    ["fields in another order", (l) => [l[0], l[1].replace(/^\{("run": "r"), ("step": 0)/, "{$2, $1").replace(/^\{("run":"r"),("step":0)/, "{$2,$1"), l[2]]],
    ["arrays of different lengths", (l) => [l[0], l[1].replace("[4, 5]", "[4]").replace('"position":1', '"position":1.5'), l[2]]],
    ["duplicate record", (l) => [l[0], l[1], l[0]]],
    ["duplicate key: 1 and \"1\"", (l) => [l[0], l[1], l[2].replace(`"example": "e1"`, `"example": 7`).replace(`"step": 10`, `"step": 0`).replace(`"example":2`, `"example":"e1"`).replace('"step":5', '"step":0').replace('"position":0', '"position":1')]],
    ["fractional step", (l) => [l[0], l[1].replace(`"step": 0`, `"step": 0.5`).replace(`"step":0`, `"step":0.5`), l[2]]],
    ["negative position", (l) => [l[0], l[1].replace('"position":1', '"position":-1'), l[2]]],
    ["step beyond INTEGER", (l) => [l[0], l[1].replace(`"step": 0`, `"step": 3000000000`).replace(`"step":0`, `"step":3000000000`), l[2]]],
    ["escaped string", (l) => [l[0], l[1].replace(`"harmful"`, `"harm\\u0066ul"`).replace(`"token":"b"`, `"token":"\\ud800"`), l[2]]],
    ["blank line", (l) => [l[0], "", l[1], l[2]]],
    ["CR line ends", (l) => l.map((x) => x + "\r")],
    ["two records on one line", (l) => [l[0] + l[1], l[2]]],
    ["truncated last line", (l) => [l[0], l[1], l[2].slice(0, -5)]],
    ["empty array", (l) => [l[0], l[1].replace("[1, -3.25]", "[]").replace("[4, 5]", "[]"), l[2]]],
    ["nested array", (l) => [l[0], l[1].replace("-3.25", "[1]"), l[2]]],
    ["spaces and tabs", (l) => [l[0], l[1].replace(/, /g, " ,\t"), l[2]]],
  ];
  for (const [layout, base] of [["wide", wide], ["long", long]] as const)
    for (const [name, mutate] of mutations)
      it(`${layout}: ${name}`, async () => {
        const text = mutate(base).join("\n") + "\n";
        const f = join(dir, `${layout}-${name.replace(/\W+/g, "-")}.jsonl`);
        writeFileSync(f, text);
        const passed = await agree(f);
        writeFileSync(`${f}.gz`, gzipSync(Buffer.from(text)));
        // gzip goes through the same gate (bytes counted after decompression): the same verdict
        expect(await agree(`${f}.gz`)).toBe(passed);
        if (name === "clean" || name === "spaces and tabs") expect(passed).toBe(true);
      });

  it("loads the same table through the gate as through the validator", async () => {
    const f = join(dir, "same.jsonl");
    writeFileSync(f, wide.join("\n") + "\n");
    // an integer example id among strings: read through the JSON type test
    expect((await gateJsonLines(engine, f, {}))?.exampleText).toBe(false);
    const logs = await loadTokenLogs(f, { progress: false });
    const viaGate = await positionProfile(logs);
    logs.close();
    // CR line ends fail the gate: the validator's path, same values.
    const g = join(dir, "same-crlf.jsonl");
    writeFileSync(g, wide.join("\r\n") + "\r\n");
    expect(await gateJsonLines(engine, g, {})).toBeNull();
    const viaValidator = await loadTokenLogs(g, { progress: false });
    expect(await positionProfile(viaValidator)).toEqual(viaGate);
    viaValidator.close();
    void readFileSync;
  });

  it("gzip: a clean file passes the gate, a cut or multi-member stream goes to the validator or agrees with it", async () => {
    const text = wide.join("\n") + "\n";
    const f = join(dir, "clean.jsonl.gz");
    writeFileSync(f, gzipSync(Buffer.from(text)));
    const gated = await gateJsonLines(engine, f, {});
    expect(gated).not.toBeNull();
    expect([gated!.records, gated!.tokens]).toEqual([3, 8]);
    // string ids only: read as text; the table's ids are the same as through the JSON type test
    const strings = join(dir, "string-ids.jsonl");
    writeFileSync(strings, wide.map((l) => l.replace('"example": 7', '"example": "7"')).join("\n") + "\n");
    expect((await gateJsonLines(engine, strings, {}))?.exampleText).toBe(true);
    const viaGate = await loadTokenLogs(strings, { progress: false, cache: false });
    const ids = await viaGate.engine.rows<{ example: string; n: number }>(`SELECT example, count(*) AS n FROM tokens GROUP BY example ORDER BY example`);
    viaGate.close();
    expect(ids).toEqual([{ example: "7", n: 2 }, { example: "e1", n: 6 }]);
    // a stream cut in the middle (a crashed writer): never passed by the gate
    const whole = gzipSync(Buffer.from(text.repeat(50)));
    const cut = join(dir, "cut.jsonl.gz");
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    expect(await gateJsonLines(engine, cut, {})).toBeNull();
    // two gzip members (files concatenated with cat): passed only if DuckDB reads both, and then agrees
    const two = join(dir, "two.jsonl.gz");
    writeFileSync(two, Buffer.concat([gzipSync(Buffer.from(wide[0] + "\n")), gzipSync(Buffer.from(wide.slice(1).join("\n") + "\n"))]));
    const g2 = await gateJsonLines(engine, two, {});
    if (g2 !== null) expect(g2.records).toBe(3);
    await agree(two);
  });
});
