/**
 * Names are data: hostile file names, run names, column names and metric names reach DuckDB only
 * as parameters or escaped literals, and strings from logs are escaped in every HTML output.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertTokenLogs } from "../../src/convert";
import { figureHtml, tableHtml } from "../../src/display";
import { loadTokenLogs } from "../../src/load";
import { positionProfile } from "../../src/stats/positionProfile";
import { cli } from "./helpers";

const HOSTILE_RUN = "a'); DROP TABLE tokens; --";
const HOSTILE_NAMES = [
  "x'); DROP TABLE tokens; --.jsonl",
  'q"uote; semi -- dash.jsonl',
  "spaces and ünïcödé 日本 🙂.jsonl",
  "$(touch pwned) `id`.jsonl",
];
const HOSTILE_COLUMN = 'w"; DROP TABLE tokens; --';
const XSS = ['</script><script>alert(1)</script>', '<img src=x onerror=alert(1)>', '"><svg onload=alert(1)>', "<!--", "&lt;script&gt;"];

let D = "";
function log(run: string, extra: Record<string, unknown> = {}): string {
  const rows = [];
  for (const step of [0, 10]) for (let ex = 0; ex < 3; ex++) for (let pos = 0; pos < 4; pos++)
    rows.push(JSON.stringify({ run, step, example: ex, position: pos, loss: step === 0 ? 1 + pos / 4 : 0.5 + ex / 8, ...extra }));
  return `${rows.join("\n")}\n`;
}

beforeAll(() => {
  D = mkdtempSync(join(tmpdir(), "aligndepth-inject-"));
  mkdirSync(join(D, "dir'; DROP TABLE tokens; --"));
});
afterAll(() => rmSync(D, { recursive: true, force: true }));

async function tablesIntact(logs: Awaited<ReturnType<typeof loadTokenLogs>>, tokens: number): Promise<void> {
  const [{ n }] = await logs.engine.rows<{ n: number }>(`SELECT count(*) AS n FROM ${logs.table}`);
  expect(n).toBe(tokens);
}

describe("hostile names reach DuckDB only as data", () => {
  for (const name of HOSTILE_NAMES) {
    it(`a file named ${JSON.stringify(name)} loads (strict, skip mode, CSV, Parquet, glob)`, async () => {
      const p = join(D, name);
      writeFileSync(p, log("a"));
      let logs = await loadTokenLogs(p, { progress: false });
      await tablesIntact(logs, 24);
      expect(logs.report.files[0].path).toBe(p);
      logs.close();
      // Skip mode writes a clean copy; a bad line forces it.
      writeFileSync(p, `${log("a")}{"broken\n`);
      logs = await loadTokenLogs(p, { progress: false, skipInvalid: true });
      await tablesIntact(logs, 24);
      logs.close();
      // Parquet and CSV under the same hostile name, through convert.
      writeFileSync(p, log("a"));
      for (const ext of [".parquet", ".csv"]) {
        const out = p.replace(/\.jsonl$/, ext);
        await convertTokenLogs(p, { out, progress: false });
        logs = await loadTokenLogs(out, { progress: false });
        await tablesIntact(logs, 24);
        logs.close();
      }
      // A glob in a hostile directory.
      const inDir = join(D, "dir'; DROP TABLE tokens; --", name);
      writeFileSync(inDir, log("a"));
      logs = await loadTokenLogs(join(D, "dir'; DROP TABLE tokens; --", "*.jsonl"), { progress: false });
      expect(logs.report.files.map((f) => f.path)).toContain(inDir);
      logs.close();
      rmSync(inDir);
      // The CLI names the file as given in an error.
      writeFileSync(p, `${log("a")}{"run": "a", "step": 0, "example": 9, "position": 0, "loss": NaN}\n`);
      const r = await cli(["profile", p]);
      expect(r.code).toBe(1);
      expect(r.stderr).toEqual([`error: ${p}:25: field "loss": expected a finite number, got NaN`]);
    }, 60_000);
  }

  it("a run named like SQL is a run: runs(), steps(run), summary --run, profile", async () => {
    const p = join(D, "run.jsonl");
    writeFileSync(p, log(HOSTILE_RUN) + log("b"));
    const logs = await loadTokenLogs(p, { progress: false });
    try {
      expect(await logs.runs()).toEqual([HOSTILE_RUN, "b"]);
      expect(await logs.steps(HOSTILE_RUN)).toEqual([0, 10]);
      const prof = await positionProfile(logs, { metric: "loss" });
      expect(prof.filter((r) => r.run === HOSTILE_RUN).length).toBe(8);
      await tablesIntact(logs, 48);
    } finally {
      logs.close();
    }
    const s = await cli(["summary", p, "--run", HOSTILE_RUN, "--bootstrap", "0", "--json"]);
    expect(s.code).toBe(0);
    const runs = JSON.parse(s.stdout.join("\n")).runs;
    expect(runs.map((r: { run: string }) => r.run)).toEqual([HOSTILE_RUN]);
  });

  it("a metric name with SQL in it: an unknown metric is a usage error, a real column of that name works", async () => {
    const p = join(D, "metric.jsonl");
    writeFileSync(p, log("a", { [HOSTILE_COLUMN]: 0.25 }));
    const bad = await cli(["profile", p, "--metric", 'loss" FROM tokens; --']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.join("\n")).toMatch(/no metric "loss\\" FROM tokens; --"|no metric/);
    const s = await cli(["summary", p, "--metric", 'loss" FROM tokens; --', "--bootstrap", "0"]);
    expect(s.code).toBe(2);
    const good = await cli(["profile", p, "--metric", HOSTILE_COLUMN, "--json"]);
    expect(good.code).toBe(0);
    const rows = JSON.parse(good.stdout.join("\n")).rows;
    expect(rows.length).toBe(8);
    for (const r of rows) expect(r.mean).toBe(0.25);
    const logs = await loadTokenLogs(p, { progress: false });
    try {
      expect(logs.metrics).toContain(HOSTILE_COLUMN);
      await tablesIntact(logs, 24);
    } finally {
      logs.close();
    }
  });
});

describe("strings from logs are escaped in HTML", () => {
  const bad = (html: string) => {
    // Every element in the output is one the kit writes, and none has an event handler.
    const tags = html.match(/<[a-zA-Z][^>]*>/g) ?? [];
    for (const t of tags) {
      expect(t).toMatch(/^<(table|thead|tbody|tr|th|td|p|div|script)\b/);
      expect(t.replace(/"[^"]*"/g, "\"\"")).not.toMatch(/\son\w+\s*=/i); // attribute values are escaped text
    }
    expect(html).not.toMatch(/<script>alert|<img|<svg/i);
    const scripts = html.match(/<script\b[^>]*>/gi) ?? [];
    for (const s of scripts) expect(s).toMatch(/^<script( type="text\/javascript")?>$/);
  };

  it("tableHtml escapes hostile token text, run names and column names", () => {
    const rows = XSS.map((x, i) => ({ run: x, token: x, position: i, [x]: x }));
    const html = tableHtml(rows);
    bad(html);
    for (const x of XSS) expect(html).not.toContain(x.includes("&lt;") ? "&lt;script&gt;<" : x);
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("figureHtml keeps hostile names inside escaped JSON", () => {
    const fig = {
      data: XSS.map((x) => ({ type: "scatter", name: x, x: [0, 1], y: [1, 2], text: [x, x], hovertemplate: x })),
      layout: { title: { text: XSS[0] }, xaxis: { title: { text: XSS[1] } } },
    };
    const html = figureHtml(fig, { id: XSS[2] });
    bad(html);
    expect(html).not.toContain("</script><script>alert");
    expect((html.match(/<\/script>/g) ?? []).length).toBe(1);
  });
});
