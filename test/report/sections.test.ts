/** The report's sections (escaping, header counts), determinism and the CLI contract of `report`. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTokenLogs } from "../../src/load";
import { loadAttackResults } from "../../src/attacks/load";
import { buildReport, runDropdown, thinPositions } from "../../src/report/build";
import { compactFigure, roundSignificant } from "../../src/report/compact";
import { figureBlock, headerSection, skippedText } from "../../src/report/sections";
import { classifyInputs, isAttackFile, plotlyMegabytes } from "../../src/cli/report";
import { main } from "../../src/cli/main";
import type { Output } from "../../src/cli/output";
import { HOSTILE_RUN, HOSTILE_TOKENS, RUNS, writeReportFixture } from "./fixture";

const dir = mkdtempSync(join(tmpdir(), "aligndepth-report-"));
const fx = writeReportFixture(dir);

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out: Output = { json: (v) => (stdout += `${JSON.stringify(v)}\n`), text: (s) => (stdout += `${s}\n`), note: (s) => (stderr += `${s}\n`) };
  const code = await main(argv, out);
  return { code, stdout, stderr };
}

/** The HTML outside <script> elements: what the browser parses as markup. */
const markup = (html: string) => html.replace(/<script[^>]*>[\s\S]*?<\/script>/g, "");

describe("report sections", () => {
  it("header escapes file and run names and counts skipped records by reason", () => {
    const html = headerSection({
      title: "T <b>",
      version: "0.1.0",
      files: [
        { path: `a/<img src=x onerror="x()">.jsonl`, kind: "token log", records: 10, used: 7, skipped: 3, rows: 70, skippedByReason: { "invalid-json": 2, nan: 1 } },
        { path: "b.jsonl", kind: "token log", records: 5, used: 5, skipped: 0, rows: 50, skippedByReason: {} },
      ],
      counts: { runs: 2, steps: 3, examples: 4, tokens: 120 },
      selection: "all rows",
      runs: [HOSTILE_RUN, "sft"],
      metrics: ["loss"],
      labels: ["token"],
      options: [["--k", "5"]],
    });
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<script");
    expect(html).toContain("&lt;/script&gt;&lt;script&gt;window.__pwned=2&lt;/script&gt;");
    expect(html).toContain("&lt;img src=x onerror=&quot;x()&quot;&gt;");
    expect(html).toContain("<th>skipped records</th><td>3 (2 invalid-json, 1 nan)</td>");
    expect(html).toContain("<th>token rows</th><td>120</td>");
    expect(html).toContain("<h1>T &lt;b&gt;</h1>");
    expect(skippedText({})).toBe("none");
  });

  it("figures get the id they are given, and their data cannot close the script", () => {
    const html = figureBlock("fig-x", { data: [{ type: "scatter", name: HOSTILE_RUN, x: [0, 1], y: [1 / 3, 2 / 3] }], layout: { title: { text: HOSTILE_TOKENS[0] } } }, [HOSTILE_TOKENS[0]]);
    expect(html).toContain(`<div id="fig-x"`);
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(markup(html)).not.toContain("<img");
    expect(html).toContain("0.33333"); // rounded to 5 significant digits
    expect(html).not.toContain("0.333333");
  });

  it("rounds numbers and keeps integers", () => {
    expect(roundSignificant(1234567)).toBe(1234567);
    expect(roundSignificant(0.000123456789)).toBe(0.00012346);
    expect(roundSignificant(NaN)).toBeNull();
    // a tie reached with last-bit noise either way rounds the same way (the parallel-sum case)
    const tie = 3.84275e-5;
    const below = tie * (1 - 4e-16);
    const above = tie * (1 + 4e-16);
    expect(below).not.toBe(above);
    expect(roundSignificant(below)).toBe(roundSignificant(above));
    expect(roundSignificant(below)).toBe(Number(tie.toPrecision(5)));
    expect(compactFigure({ data: [{ y: new Float64Array([1.23456789]) }], layout: {} }).data[0].y).toEqual([1.2346]);
  });

  it("runDropdown shows one run at a time", () => {
    const fig = (t: string) => ({ data: [{ name: "a" }, { name: "b" }], layout: { title: { text: t } } });
    const f = runDropdown([{ run: "r1", figure: fig("one") }, { run: "r2", figure: fig("two") }]);
    expect(f.data.map((t) => t.visible)).toEqual([true, true, false, false]);
    const menu = (f.layout.updatemenus as Array<{ buttons: Array<{ label: string; args: unknown[] }> }>)[0];
    expect(menu.buttons.map((b) => b.label)).toEqual(["r1", "r2"]);
    expect(menu.buttons[1].args).toEqual([{ visible: [false, false, true, true] }, { "title.text": "two" }]);
  });

  it("runDropdown fixes the y axis over all runs, so switching does not rescale it", () => {
    const fig = (y: number[]) => ({ data: [{ name: "a", y }], layout: { yaxis: { title: { text: "loss" } } } });
    const f = runDropdown([{ run: "r1", figure: fig([0, 12]) }, { run: "r2", figure: fig([2, 7.5]) }]);
    // [0, 12] padded by 5% of 12 = 0.6 on each side; the buttons do not touch the axis.
    const y = f.layout.yaxis as { range: number[]; autorange: boolean };
    expect(y.autorange).toBe(false);
    expect(y.range[0]).toBeCloseTo(-0.6, 12);
    expect(y.range[1]).toBeCloseTo(12.6, 12);
    const menu = (f.layout.updatemenus as Array<{ buttons: Array<{ args: Array<Record<string, unknown>> }> }>)[0];
    expect(menu.buttons.every((b) => Object.keys(b.args[1] ?? {}).every((k) => !k.startsWith("yaxis")))).toBe(true);
  });
});

describe("buildReport", () => {
  let html1 = "";
  let html2 = "";
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const logs = await loadTokenLogs(fx.tokens, { skipInvalid: true, progress: false });
      const grad = await loadTokenLogs(fx.grad, { progress: false });
      const attacks = await loadAttackResults(fx.attacks);
      try {
        const html = await buildReport(logs, attacks, { bootstrap: 100, seed: 1, gradLogs: grad });
        if (i === 0) html1 = html;
        else html2 = html;
      } finally {
        logs.close();
        grad.close();
      }
    }
  }, 60_000);

  it("is byte-identical for the same input and options", () => {
    expect(html1.length).toBeGreaterThan(1000);
    expect(html1 === html2).toBe(true);
  });

  it("says what was loaded, incl. the skipped record and the default selection", () => {
    expect(html1).toContain("<th>files</th><td>3</td>");
    expect(html1).toMatch(/<th>skipped records<\/th><td>1 \(1 [a-z-]+\)<\/td>/);
    expect(html1).toContain("<th>checkpoints (steps)</th><td>3</td>");
    expect(html1).toContain("<th>probe sequences (run, example)</th><td>16</td>");
    expect(html1).toContain("all rows (the run comparison analyses each probe set, split, separately)"); // METRICS v2: no refusal default (section 6)
    expect(html1).toContain("<th>attack outcomes</th><td>96 records, 2 runs</td>");
  });

  it("has every section, plotly.js once, and no network reference", () => {
    for (const id of ["compare", "by-position", "slider", "heatmap", "cumulative", "early-share", "kl", "gradient", "attacks", "tokens", "appendix"]) expect(html1).toContain(`<section id="${id}"`);
    expect(html1.match(/inlined by aligndepth/g)).toHaveLength(1);
    const ids = [...html1.matchAll(/<div id="([^"]+)" class="aligndepth-figure"/g)].map((m) => m[1]);
    expect(ids).toEqual(["fig-compare", "fig-by-position", "fig-by-probe-set", "fig-slider-0", "fig-slider-1", "fig-heatmap", "fig-cumulative", "fig-early-share", "fig-kl", "fig-gradient", "fig-asr-k", "fig-asr-prefix", "fig-asr-span", "fig-asr-heatmap"]);
    expect(markup(html1)).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it("draws each run in one colour in every figure, and no figure offers a cloud button", () => {
    const figures = [...html1.matchAll(/var figure = (\{.*\});\n/g)].map((m) => JSON.parse(m[1]) as { data: Array<Record<string, any>>; config: Record<string, unknown> });
    expect(figures.length).toBe(14);
    const seen = new Map<string, Set<string>>();
    let traces = 0;
    for (const f of figures) {
      expect(f.config).toMatchObject({ showSendToCloud: false, showLink: false });
      for (const t of f.data) {
        const run = RUNS.find((r) => t.name === r || String(t.name).startsWith(`${r} `) || String(t.name).startsWith(`${r},`));
        const color = t.line?.color ?? t.marker?.color;
        if (!run || t.type === "heatmap" || typeof color !== "string") continue;
        traces++;
        if (!seen.has(run)) seen.set(run, new Set());
        seen.get(run)!.add(color);
      }
    }
    expect(traces).toBeGreaterThanOrEqual(10);
    // The header names each run after a swatch of its colour.
    expect(html1).toContain('<span class="swatch" style="color:#D55E00">&#9632;</span>&nbsp;sft');
    // runColors over the sorted names: the hostile run ("<" sorts before "s") blue, sft vermillion.
    expect([...seen.entries()].map(([r, c]) => [r, [...c]])).toEqual(expect.arrayContaining([[RUNS[0], ["#D55E00"]], [RUNS[1], ["#0072B2"]]]));
    expect(seen.size).toBe(2);
  });

  it("gives every run's checkpoint slider one y range", () => {
    const ranges = [...html1.matchAll(/var id = "fig-slider-\d+";\n\s*var figure = (\{.*\});\n/g)].map((m) => (JSON.parse(m[1]) as { layout: { yaxis: { range: number[] } } }).layout.yaxis.range);
    expect(ranges.length).toBe(2);
    expect(ranges[1]).toEqual(ranges[0]);
  });

  it("escapes every log string outside scripts", () => {
    const m = markup(html1);
    expect(m).not.toContain("<img");
    expect(m).not.toContain("window.__pwned=2</script>");
    expect(m).toContain("&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;");
    // Inside scripts, log strings are JSON with < and > escaped.
    const scripts = [...html1.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((x) => x[1]).slice(1);
    for (const s of scripts) expect(s).not.toMatch(/<\/?script|<img/i);
  });
});

describe("report size", () => {
  it("thins long profiles: all early positions, then evenly spaced ones, the last kept", () => {
    const rows = Array.from({ length: 1000 }, (_, position) => ({ position }));
    const kept = thinPositions(rows, 100).map((r) => r.position);
    expect(kept).toHaveLength(100);
    expect(kept.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(kept[kept.length - 1]).toBe(999);
    expect(thinPositions(rows.slice(0, 10), 100)).toHaveLength(10);
  });

  it("does not grow with positions and checkpoints: 3000 positions x 80 checkpoints stays small", async () => {
    const file = join(dir, "long.jsonl");
    const lines: string[] = [];
    for (let step = 0; step < 80; step++)
      for (let e = 0; e < 3; e++)
        lines.push(JSON.stringify({ run: "r", step, example: e, loss: Array.from({ length: 3000 }, (_, p) => Number((3 - (step / 80) * Math.exp(-p / 30) + ((p * 7919 + e) % 13) / 100).toFixed(4))) }));
    writeFileSync(file, lines.join("\n") + "\n");
    const logs = await loadTokenLogs(file, { progress: false });
    try {
      const html = await buildReport(logs, null, { bootstrap: 20 });
      const plotly = html.indexOf("inlined by aligndepth");
      const scriptEnd = html.indexOf("</script>", plotly);
      const rest = html.length - (scriptEnd - plotly);
      expect(rest).toBeLessThan(1_000_000); // 720k token rows; the library itself is ~4.8 MB
      expect(html).toContain("positions 0 to 255 of 0 to 2999 are shown");
      expect(html).toContain("60 of 79 checkpoints, spread evenly, are shown");
    } finally {
      logs.close();
    }
  }, 60_000);
});

describe("report figures whose rows do not start at position 0 (METRICS 1.4)", () => {
  const PROMPT_KEPT = join(__dirname, "..", "fixtures", "cases", "prompt-tokens-segment.jsonl");
  it("--where segment=response on a log that keeps its prompt tokens: the position figures say it; loaded with --span they do not", async () => {
    const logs = await loadTokenLogs(PROMPT_KEPT, { progress: false });
    try {
      const html = await buildReport(logs, null, { bootstrap: 0, where: { segment: "response" } });
      // position axes retitled in by-position, slider, heatmap and cumulative share (4); the note also on early share (5)
      expect(html.split("rows start at 4, not 0").length - 1).toBe(4);
      expect(html.split("Not from position 0").length - 1).toBe(5);
      expect(html).toContain("Not from position 0: 2 of 2 examples start at position 4 or later; load with --span segment=response to re-base");
    } finally {
      logs.close();
    }
    const rebased = await loadTokenLogs(PROMPT_KEPT, { progress: false, span: { segment: "response" } });
    try {
      const html = await buildReport(rebased, null, { bootstrap: 0 });
      expect(html).not.toContain("Not from position 0");
      expect(html).not.toContain("rows start at");
    } finally {
      rebased.close();
    }
  }, 60_000);
});

describe("aligndepth report (CLI)", () => {
  it("--help exits 0, a missing --out is a usage error (2), a bad file invalid input (1)", async () => {
    const h = await run(["report", "--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("--out");
    expect((await run(["report", fx.tokens])).code).toBe(2);
    expect((await run(["report", fx.tokens, "--out", join(dir, "x.html"), "--bogus"])).code).toBe(2);
    const bad = await run(["report", fx.tokens, "--out", join(dir, "x.html"), "--no-progress"]);
    expect(bad.code).toBe(1); // the NaN line, without --skip-invalid
    expect((await run(["report", join(dir, "missing.jsonl"), "--out", join(dir, "x.html")])).code).toBe(1);
    expect((await run(["report", fx.tokens, "--skip-invalid", "--metric", "nope", "--out", join(dir, "x.html"), "--no-progress"])).code).toBe(2);
  });

  it("--recipe-pattern gives a recipe's runs one colour with thin lines; --ablation dashes", { timeout: 60_000 }, async () => {
    const out = join(dir, "recipes.html");
    // Both fixture runs contain a "t": one recipe "t" with two seeds.
    const r = await run(["report", fx.tokens, "--skip-invalid", "--bootstrap", "0", "--recipe-pattern", "(?<recipe>t)", "--ablation", "t", "--out", out, "--no-progress"]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(out, "utf8");
    const fig = JSON.parse(html.match(/var id = "fig-cumulative";\n\s*var figure = (\{.*\});\n/)![1]) as { data: Array<{ line: { color: string; width: number; dash: string } }> };
    expect(fig.data.map((t) => t.line)).toEqual([
      { color: "#0072B2", dash: "dash", width: 1, shape: "hv" },
      { color: "#0072B2", dash: "dash", width: 1, shape: "hv" },
    ]);
    expect(html).toContain("<code>--recipe-pattern</code> (?&lt;recipe&gt;t)");
  });

  it("recognises attack results among the inputs and writes the same file twice", { timeout: 60_000 }, async () => {
    expect(await isAttackFile(fx.attacks)).toBe(true);
    expect(await isAttackFile(fx.tokens)).toBe(false);
    expect(await classifyInputs([fx.grad, fx.tokens, fx.attacks])).toEqual({ tokens: [fx.tokens], grad: [fx.grad], attacks: [fx.attacks] });
    expect(await classifyInputs([fx.grad])).toEqual({ tokens: [fx.grad], grad: [], attacks: [] });
    // the token loader's recognition (load/inputs.ts otherRecordKind): a judge file ({idx, score}) is attack
    // results; a token log with a "score" column is not, nor is a file whose marker column --columns maps
    const judge = join(dir, "judge.jsonl");
    writeFileSync(judge, '{"idx": 0, "score": 5}\n');
    const scored = join(dir, "scored-tokens.jsonl");
    writeFileSync(scored, '{"run": "a", "step": 0, "example": 0, "position": 0, "loss": 1, "score": 2}\n');
    const mapped = join(dir, "mapped.jsonl");
    writeFileSync(mapped, '{"run": "a", "step": 0, "idx": 0, "token_idx": 0, "nll": 1}\n');
    expect(await isAttackFile(judge)).toBe(true);
    expect(await isAttackFile(scored)).toBe(false);
    expect(await isAttackFile(mapped)).toBe(true);
    expect(await isAttackFile(mapped, ["idx", "token_idx", "nll"])).toBe(false);
    expect(await classifyInputs([judge, scored, mapped], ["idx"])).toEqual({ tokens: [scored, mapped], grad: [], attacks: [judge] });
    const outs = [join(dir, "a.html"), join(dir, "b.html")];
    for (const out of outs) {
      const r = await run(["report", fx.tokens, fx.attacks, "--grad-logs", fx.grad, "--skip-invalid", "--bootstrap", "50", "--out", out]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("[report] token view (10/10)");
    }
    const [a, b] = outs.map((f) => readFileSync(f));
    expect(a.equals(b)).toBe(true);
    // The help tells the truth about the size: the inlined build, and a file just above it.
    const help = (await run(["report", "--help"])).stdout;
    const mb = plotlyMegabytes();
    expect(help).toContain(`cartesian build, ${mb} MB`);
    expect(Number(mb)).toBeGreaterThan(1);
    expect(a.length / 1e6).toBeGreaterThan(Number(mb));
    expect(a.length / 1e6).toBeLessThan(Number(mb) + 0.5);
    expect(help).not.toContain("4.8 MB");
    expect(a.toString()).toContain('id="fig-asr-k"');
    expect(a.toString()).toMatch(/aligndepth [0-9.]+ report\. One self-contained/); // no time stamp
  });
});
