/**
 * End to end: every notebook in notebooks/ (and the display fixture) runs in real Jupyter with the
 * real tslab kernel, produces no error or stderr output, exports to HTML, and that HTML renders
 * every figure in headless Chromium with the network cut off.
 *
 * Executed copies from the main job (out/notebooks/, `npm run notebooks`) are reused when they are
 * newer than the notebook and the dist build; otherwise the notebook runs here, into out/e2e/.
 * Needs `bash scripts/setup.sh --tests` (Jupyter, the tslab kernel, Chromium).
 */
import { spawnSync } from "child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "fs";
import { basename, join, relative } from "path";
import { describe, expect, it } from "vitest";
import { PLOTLY_MIME } from "../../src/display";
import { openOffline } from "./browser";

const ROOT = join(__dirname, "..", "..");
const MAIN_OUT = join(ROOT, "out", "notebooks");
const E2E_OUT = join(ROOT, "out", "e2e");

const notebooks = [
  ...(existsSync(join(ROOT, "notebooks")) ? readdirSync(join(ROOT, "notebooks")) : [])
    .filter((f) => f.endsWith(".ipynb"))
    .sort()
    .map((f) => join(ROOT, "notebooks", f)),
  join(__dirname, "fixtures", "display-smoke.ipynb"),
];

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  ename?: string;
  evalue?: string;
  data?: Record<string, unknown>;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  metadata?: { tags?: string[] };
  outputs?: Output[];
}

const text = (s: string | string[] | undefined) => (Array.isArray(s) ? s.join("") : (s ?? ""));
const mtime = (f: string) => statSync(f).mtimeMs;

/** Newest modification time of the compiled library the notebooks import. */
function distTime(): number {
  const dist = join(ROOT, "dist");
  if (!existsSync(join(dist, "index.js"))) return Infinity;
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith(".js")) newest = Math.max(newest, mtime(p));
    }
  };
  walk(dist);
  return newest;
}

/** The executed notebook and its HTML export: reused from the main job when fresh, else run now. */
function executed(notebook: string): { ipynb: string; html: string; reused: boolean } {
  const name = basename(notebook, ".ipynb");
  for (const dir of [MAIN_OUT, E2E_OUT]) {
    const ipynb = join(dir, `${name}.ipynb`);
    const html = join(dir, `${name}.html`);
    if (!existsSync(ipynb) || !existsSync(html)) continue;
    // A src/ newer than dist/ means the build is stale: run-notebooks.sh rebuilds it, so run again.
    const fresh = Math.min(mtime(ipynb), mtime(html)) > Math.max(mtime(notebook), distTime());
    if (fresh && !srcNewerThanDist()) return { ipynb, html, reused: true };
  }
  mkdirSync(E2E_OUT, { recursive: true });
  const run = spawnSync("bash", ["scripts/run-notebooks.sh", "--no-report", "--out", E2E_OUT, notebook], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 20 * 60_000,
  });
  if (run.status !== 0) {
    const log = `${run.stdout}\n${run.stderr}`.split("\n").slice(-60).join("\n");
    throw new Error(`executing ${relative(ROOT, notebook)} failed (exit ${run.status}):\n${log}`);
  }
  return { ipynb: join(E2E_OUT, `${name}.ipynb`), html: join(E2E_OUT, `${name}.html`), reused: false };
}

function srcNewerThanDist(): boolean {
  const built = join(ROOT, "dist", "index.js");
  if (!existsSync(built)) return true;
  const limit = mtime(built);
  const walk = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") && mtime(join(dir, e.name)) > limit,
    );
  return walk(join(ROOT, "src"));
}

/**
 * The recipes of data/lab, from its file names (`tokens-RECIPE[-ABLATION]-seedN.jsonl.gz`), with
 * their number of seeds, and the base models of the attack results (`base`, `base-ABLATION`).
 */
const LAB = join(ROOT, "data", "lab");
const LAB_SEEDS = new Map<string, number>();
for (const f of existsSync(LAB) ? readdirSync(LAB) : []) {
  const m = /^tokens-(.+)-seed\d+\.jsonl\.gz$/.exec(f);
  if (m) LAB_SEEDS.set(m[1], (LAB_SEEDS.get(m[1]) ?? 0) + 1);
}
const LAB_RECIPES = [...LAB_SEEDS.keys()];
const CORE = ["sft", "augment", "worst_insertion"].filter((r) => LAB_SEEDS.has(r));
const ABLATIONS = LAB_RECIPES.filter((r) => !CORE.includes(r));
const LAB_RUNS = [...LAB_RECIPES, "base"];
const runs = (r: string) => `${LAB_SEEDS.get(r)} run${LAB_SEEDS.get(r) === 1 ? "" : "s"}`;

/**
 * What each notebook must say about data/lab (its stdout): recipe-level results with their number
 * of seeds, the paired tests, the attacks per decoding, the fine-tuning attack.
 */
const EXPECTED: Record<string, () => Array<string | RegExp>> = {
  "01-quickstart.ipynb": () => [
    `Recipes: ${CORE.map((r) => `${r} (${runs(r)})`).sort().join(", ")}.`,
    ...CORE.map((r) => `${r} (${runs(r)}, harmful probes): the first 5 positions carry`),
    ...CORE.map((r) => `${r} (${runs(r)}, refusal probes): the first 5 positions carry`),
    /\(Holm-adjusted over the 3 recipe pairs\), paired over \d+ shared examples \((seeds and examples resampled|t rule over seeds)/,
  ],
  "02-learning-dynamics.ipynb": () => [`${CORE.length} recipes (${CORE.map((r) => `${r}: ${runs(r)}`).sort().join(", ")})`, ...CORE.map((r) => new RegExp(`^harmful probes: ${r}: E5 is `, "m"))],
  "03-shallow-vs-deep.ipynb": () => [
    ...LAB_RECIPES.map((r) => `${r} (${runs(r)}, harmful probes): the first 5 positions carry`),
    `ablations: ${ABLATIONS.slice().sort().join(", ")}`,
    ...ABLATIONS.map((r) => new RegExp(`^\\w+ \\(\\d+ runs?\\) against ${r} \\(${runs(r)}\\), harmful probes: N5 differs by`, "m")),
    ...CORE.map((r) => new RegExp(`^${r}-finetune: on harmful probes, the mean loss at position 0 went from`, "m")),
  ],
  "04-attacks.ipynb": () => [
    ...CORE.map((r) => new RegExp(`^greedy: ${r} \\(prefill\\): ASR `, "m")),
    ...CORE.map((r) => new RegExp(`^sampled: ${r} \\(prefill\\): ASR `, "m")),
    ...CORE.map((r) => new RegExp(`^greedy: ${r} \\(insertion_foreign\\): ASR `, "m")),
    ...CORE.map((r) => new RegExp(`^${r} \\(finetune\\): ASR .* at ft_step = 0`, "m")),
  ],
  "05-tokens.ipynb": () => [`${[...LAB_SEEDS].filter(([r]) => CORE.includes(r)).reduce((a, [, n]) => a + n, 0)} runs in ${CORE.length} recipes`],
};

// A cell that calls one of these must show something; other cells (imports, definitions) may be
// empty, as may a cell tagged "allow-empty".
const DISPLAYS = /\b(show|showTable|showHtml|display\.\w+|console\.(log|info|table))\s*\(/;

type PlotlyFigure = { data: Array<Record<string, unknown>>; layout: Record<string, unknown> };
const titleOf = (f: PlotlyFigure) => String((f.layout.title as { text?: string } | undefined)?.text ?? "");

/** Every text a cell output shows: streams, plain text and HTML. */
function shownText(o: Output): string {
  if (o.output_type === "stream") return text(o.text);
  if (o.output_type === "error") return `${o.ename}: ${o.evalue}`;
  const d = o.data ?? {};
  return [text(d["text/plain"] as string | string[]), text(d["text/html"] as string | string[])].join("\n");
}

/**
 * What a notebook must show beyond running and rendering, on the committed data (data/lab), from
 * its executed outputs: the figures (plotly JSON) and the text of every output.
 */
const CONTENT: Record<string, (shown: string, figures: PlotlyFigure[]) => void> = {
  "07-gradient-influence.ipynb": (shown, figures) => {
    // one p x q influence heatmap per compared recipe (sft, augment, worst_insertion), slider over checkpoints
    const heatmaps = figures.filter((f) => f.data.length > 0 && f.data.every((t) => t.type === "heatmap"));
    expect(heatmaps.map((h) => titleOf(h).replace(/ mean over the \d+ seeds? of /, " mean of "))).toEqual([
      "I(p, q), mean of sft, harmful probes",
      "I(p, q), mean of augment, harmful probes",
      "I(p, q), mean of worst_insertion, harmful probes",
    ]);
    for (const h of heatmaps) {
      expect(h.data.length).toBeGreaterThan(1); // several checkpoints
      expect((h.layout.sliders as unknown[]).length).toBe(1);
      for (const t of h.data) {
        const z = t.z as number[][];
        expect((t.x as number[])[0]).toBe(0);
        expect(z.length).toBe((t.y as number[]).length);
        expect(z[0].length).toBe((t.x as number[]).length);
      }
    }
    const sk = figures.filter((f) => /S5 over training/.test(titleOf(f)));
    expect(sk.length).toBe(2); // the recipes, and the consistency ablation
    expect(sk[1].data.map((t) => String(t.name)).filter((n) => /mean of/.test(n)).map((n) => n.replace(/ \(mean of \d+ seeds\)$/, ""))).toEqual([
      "sft",
      "sft-lowconsistency",
      "worst_insertion",
      "worst_insertion-lowconsistency",
    ]);
    expect(figures.filter((f) => /^Predicted vs measured change, sft-seed\d+, harmful, step \d+/.test(titleOf(f)))).toHaveLength(1);
    // the sentences, computed from the data
    expect(shown).toMatch(/sft, harmful probes, step \d+: training positions < 5 cause -?\d+% \(95% CI across \d+ seeds -?\d+% to -?\d+%\) of the first-order change of the probe losses \(S5\), against \d+% of the training tokens/);
    expect(shown).toMatch(/S5 on the harmful probes, step \d+: sft -?\d+% \(\d+ seeds\) against sft-lowconsistency -?\d+% \(\d+ seeds\), a difference of [+-]\d+ points? \(95% CI /);
    expect(shown).toMatch(/S5 on the harmful probes, step \d+: worst_insertion -?\d+% \(\d+ seeds\) against worst_insertion-lowconsistency/);
    expect(shown).toMatch(/sft-lowconsistency \(\d+ runs, harmful probes\): the first 5 positions carry/);
    expect(shown).toMatch(/Paired over the same examples, N5\((sft|sft-lowconsistency)\) - N5\((sft|sft-lowconsistency)\) = /);
    expect(shown).toMatch(/On the harmful probes, the first-order prediction matches the measured change \(median relative L2 error over seeds at most 50%\) in \d+ of \d+ \(recipe, step\) cells/);
    expect(shown).toContain("What the influence leaves out");
    expect(shown).not.toContain("Not in the logs");
  },
};

describe.each(notebooks.map((nb) => [relative(ROOT, nb), nb]))("%s", (_label, notebook) => {
  // Executed once for both tests; a failure is remembered, not retried.
  let run: { ipynb: string; html: string; reused: boolean } | Error | undefined;
  const get = () => {
    if (run === undefined) {
      try {
        run = executed(notebook);
      } catch (err) {
        run = err as Error;
      }
    }
    if (run instanceof Error) throw run;
    return run;
  };

  it("runs in the tslab kernel without errors or stderr output", () => {
    const { ipynb } = get();
    const nb = JSON.parse(readFileSync(ipynb, "utf8")) as { cells: Cell[]; metadata: { kernelspec?: { name?: string } } };
    expect(nb.metadata.kernelspec?.name).toBe("tslab");
    const problems: string[] = [];
    nb.cells.forEach((cell, i) => {
      if (cell.cell_type !== "code") return;
      const source = text(cell.source);
      const outputs = cell.outputs ?? [];
      for (const o of outputs) {
        if (o.output_type === "error") problems.push(`cell ${i}: error ${o.ename}: ${o.evalue}`);
        if (o.output_type === "stream" && o.name === "stderr") problems.push(`cell ${i}: stderr: ${text(o.text).slice(0, 500)}`);
      }
      const allowedEmpty = cell.metadata?.tags?.includes("allow-empty") || !DISPLAYS.test(source);
      if (outputs.length === 0 && source.trim() !== "" && !allowedEmpty) {
        problems.push(`cell ${i}: no output (did it run?): ${source.slice(0, 80)}`);
      }
    });
    expect(problems).toEqual([]);
  });

  it.skipIf(!CONTENT[basename(notebook)])("shows the figures and sentences the notebook promises", () => {
    const { ipynb } = get();
    const nb = JSON.parse(readFileSync(ipynb, "utf8")) as { cells: Cell[] };
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    const figures = outputs.filter((o) => o.data && PLOTLY_MIME in o.data).map((o) => o.data![PLOTLY_MIME] as PlotlyFigure);
    CONTENT[basename(notebook)](outputs.map(shownText).join("\n"), figures);
  });

  it.runIf(LAB_SEEDS.size > 0 && basename(notebook) in EXPECTED)("states recipe-level results of data/lab (seeds counted from its files)", () => {
    const { ipynb } = get();
    const nb = JSON.parse(readFileSync(ipynb, "utf8")) as { cells: Cell[] };
    const stdout = nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "stream" && o.name === "stdout").map((o) => text(o.text)).join("");
    const missing = EXPECTED[basename(notebook)]().filter((e) => (typeof e === "string" ? !stdout.includes(e) : !e.test(stdout)));
    expect(missing.map(String)).toEqual([]);
  });

  it("exports to HTML that renders every figure offline in Chromium", async () => {
    const { ipynb, html } = get();
    const nb = JSON.parse(readFileSync(ipynb, "utf8")) as { cells: Cell[] };
    const figureOutputs = nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data && PLOTLY_MIME in o.data);
    const page = readFileSync(html, "utf8");
    expect(page.match(/class="aligndepth-figure"/g)?.length ?? 0).toBe(figureOutputs.length);
    // plotly.js is inlined once, by the first figure.
    expect(page.split("inlined by aligndepth").length - 1).toBe(figureOutputs.length > 0 ? 1 : 0);

    const browser = await openOffline(html);
    try {
      expect(browser.pageErrors).toEqual([]);
      expect(browser.dialogs).toEqual([]);
      expect(browser.blocked).toEqual([]);
      expect(browser.figures).toBe(figureOutputs.length);
      expect(browser.rendered).toBe(figureOutputs.length);
      // One colour per run across every figure of the notebook (the lab's run names; plotly's resolved traces).
      const colours = await browser.page.evaluate((runs) => {
        const out: Record<string, string[]> = {};
        for (const el of Array.from(document.querySelectorAll(".aligndepth-figure"))) {
          for (const t of ((el as unknown as { _fullData?: Array<Record<string, any>> })._fullData ?? [])) {
            const run = runs.find((r) => t.name === r || String(t.name).startsWith(`${r} `) || String(t.name).startsWith(`${r},`));
            const c = t.line?.color ?? t.marker?.color;
            if (run && t.type === "scatter" && typeof c === "string" && !(out[run] ??= []).includes(c)) out[run].push(c);
          }
        }
        return out;
      }, LAB_RUNS);
      for (const [run, cs] of Object.entries(colours)) expect({ run, colours: cs }).toEqual({ run, colours: [cs[0]] });
      if (basename(notebook) === "display-smoke.ipynb") {
        mkdirSync(join(ROOT, "out"), { recursive: true });
        await browser.page.locator(".aligndepth-figure").first().screenshot({ path: join(ROOT, "out", "notebook-figure.png") });
      }
    } finally {
      await browser.close();
    }
  });
});
