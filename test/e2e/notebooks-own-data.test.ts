/**
 * End to end, issue 14: every notebook runs on data other than the lab's by changing its first cell
 * only. The token-log notebooks (01, 02, 03, 05, 06) run on the project's copy of a Hugging Face
 * style log (test/fixtures/cases/hf_tokens.csv.gz: its own column names, prompt and padding rows
 * labelled -100, loaded with `columns` + `unscored`, positions re-based); notebook 04 runs on judge
 * files (test/fixtures/attacks/judge-sentinel, whose -1 scores are "not judged", and
 * test/fixtures/attacks/judge), with the run and k taken from the file names.
 *
 * For each notebook, only the `const DATA/LOAD/ATTACKS/COMPARE = ...;` lines of its first code cell
 * are replaced (each must be found exactly once); every other cell is the committed one. The copies
 * run in the real tslab kernel (scripts/run-notebooks.sh) from out/own-data/notebooks/, beside a
 * `dist` link to the build, so their `../dist/index` import is the one users have. Checked: no
 * error output and no stderr stream in any cell, every cell that displays something shows it, the
 * outputs name the fixture's own runs and counts, and none names the lab's runs (`sft`, `augment`,
 * `worst_insertion`) or its probe sets (`harmful probes`, ...), which the fixtures do not have; the
 * HTML export renders every figure offline in Chromium with each of the fixture's runs in one colour.
 *
 * Needs `npm run build` and `bash scripts/setup.sh` (Jupyter and the project-local tslab kernel).
 */
import { spawn } from "child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { join } from "path";
import { gunzipSync } from "zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { PLOTLY_MIME } from "../../src/display";
import { openOffline } from "./browser";

const ROOT = join(__dirname, "..", "..");
const WORK = join(ROOT, "out", "own-data");
const NB_DIR = join(WORK, "notebooks");
const OUT = join(WORK, "executed");
const HF = join(ROOT, "test", "fixtures", "cases", "hf_tokens.csv.gz");
const ATTACKS = join(ROOT, "test", "fixtures", "attacks");

const HF_LOAD = `{ columns: { run: "run_name", step: "global_step", example: "sample_id", position: "token_idx", loss: "nll", token: "token_str" }, unscored: { labels: -100 } }`;
const JUDGE_FILES = [
  join(ATTACKS, "judge-sentinel", "modelx_prefilled_5_harmful_tokens_judge_results.jsonl"),
  join(ATTACKS, "judge-sentinel", "modely_prefilled_5_harmful_tokens_judge_results.jsonl.gz"),
  join(ATTACKS, "judge", "m1_prefilled_3_harmful_tokens.jsonl"),
  join(ATTACKS, "judge", "m1_prefilled_10_harmful_tokens.jsonl.gz"),
];
const JUDGE_LOAD = `{ set: { attack: "prefill" }, namePattern: ${JSON.stringify("^(?<run>model[xy]|m1)_prefilled_(?<k>\\d+)_harmful")}, notJudged: -1 }`;

/** The HF fixture's scored rows (labels != -100), counted here from the file itself. */
function hfCounts(): { runs: string[]; steps: number; examples: number; scored: number; rows: number } {
  const lines = gunzipSync(readFileSync(HF)).toString("utf8").trim().split("\n");
  const header = lines[0].split(",");
  const col = (name: string) => header.indexOf(name);
  const runs = new Set<string>();
  const steps = new Set<string>();
  const examples = new Set<string>();
  let scored = 0;
  for (const line of lines.slice(1)) {
    // run_name, global_step, sample_id, token_idx come before token_str (which may hold a quoted comma);
    // labels, loss_mask and nll are the last three fields.
    const head = line.split(",");
    const tail = head.slice(-3);
    runs.add(head[col("run_name")]);
    steps.add(head[col("global_step")]);
    examples.add(head[col("sample_id")]);
    if (tail[0] !== "-100") scored++;
  }
  return { runs: [...runs].sort(), steps: steps.size, examples: examples.size, scored, rows: lines.length - 1 };
}
const hf = hfCounts();

interface Case {
  file: string;
  /** `const NAME ... = VALUE;` lines of the first code cell to replace: name -> new initializer. */
  set: Record<string, string>;
  /** Texts the outputs must contain. */
  mention: string[];
  /** The fixture's runs: each keeps one colour in every figure of the notebook. */
  runs: string[];
}

const TOKEN_SET = { DATA: JSON.stringify(HF), LOAD: HF_LOAD };
/** The loader's note on the prompt and padding rows it dropped, which every token notebook shows. */
const DROPPED = `${hf.rows - hf.scored} rows not scored, dropped (--unscored labels=-100: ${hf.rows - hf.scored})`;
const cases: Case[] = [
  { file: "01-quickstart.ipynb", set: TOKEN_SET, mention: [DROPPED, ...hf.runs, "The logs have no split label", `${hf.runs.length} runs, ${hf.steps} checkpoints, ${hf.examples * hf.runs.length} probe sequences, ${hf.scored} token rows`], runs: hf.runs },
  { file: "02-learning-dynamics.ipynb", set: TOKEN_SET, mention: [DROPPED, ...hf.runs, "all probe sequences", `${hf.scored} token rows`], runs: hf.runs },
  { file: "03-shallow-vs-deep.ipynb", set: { ...TOKEN_SET, FINETUNE: "null" }, mention: [DROPPED, ...hf.runs, "No split label", "The logs have no kl column", "No fine-tuning-attack logs (FINETUNE is null)."], runs: hf.runs },
  { file: "04-attacks.ipynb", set: { ATTACKS: JSON.stringify(JUDGE_FILES), LOAD: JUDGE_LOAD, RUNS: "null", COMPARE: "[]" }, mention: ["modelx", "modely", "m1", "6 records not judged (score -1)", "no insertion attack to show", "m1 (a) against modelx (b)"], runs: ["modelx", "modely", "m1"] },
  { file: "05-tokens.ipynb", set: TOKEN_SET, mention: [DROPPED, ...hf.runs, "all probe sequences"], runs: hf.runs },
  { file: "06-your-logs.ipynb", set: TOKEN_SET, mention: [DROPPED, "hf_tokens.csv.gz", `In all: ${hf.runs.length} runs, ${hf.steps} checkpoints, ${hf.examples * hf.runs.length} probe sequences, ${hf.scored} token rows`], runs: hf.runs },
];

/** The lab's labels, which neither fixture has: run names as whole names, probe-set titles. */
const LAB_LABELS = /(?<![\w-])(sft|augment|worst_insertion)(?![\w-])|\b(harmful|refusal|benign) probes\b/g;

interface Output { output_type: string; name?: string; text?: string | string[]; ename?: string; evalue?: string; data?: Record<string, unknown> }
interface Cell { cell_type: string; source: string | string[]; metadata?: { tags?: string[] }; outputs?: Output[] }
interface Notebook { cells: Cell[]; metadata: Record<string, unknown> }
const text = (s: string | string[] | undefined) => (Array.isArray(s) ? s.join("") : (s ?? ""));
const DISPLAYS = /\b(show|showTable|showHtml|display\.\w+|console\.(log|info|table))\s*\(/;

/** The notebook with the `const NAME ... = ...;` lines of its first code cell replaced. */
function withFirstCell(nb: Notebook, set: Record<string, string>): Notebook {
  const first = nb.cells.findIndex((c) => c.cell_type === "code");
  let source = text(nb.cells[first].source);
  for (const [name, value] of Object.entries(set)) {
    const line = new RegExp(`^const ${name}\\b([^=\\n]*)= [^\\n]*?;(?=[ \\t]*(//|$))`, "gm");
    const found = source.match(line) ?? [];
    if (found.length !== 1) throw new Error(`first cell: expected one line "const ${name} ... = ...;", found ${found.length}`);
    source = source.replace(line, (_m, type: string) => `const ${name}${type}= ${value};`);
  }
  const cells = nb.cells.map((c, i) => (i === first ? { ...c, source } : c));
  return { ...nb, cells };
}

/** Every text an output shows: streams, plain text, HTML, and each figure's JSON (titles, trace names). */
function shownText(o: Output): string {
  if (o.output_type === "stream") return text(o.text);
  if (o.output_type === "error") return `${o.ename}: ${o.evalue}`;
  const d = o.data ?? {};
  return [text(d["text/plain"] as string | string[]), text(d["text/html"] as string | string[]), d[PLOTLY_MIME] ? JSON.stringify(d[PLOTLY_MIME]) : ""].join("\n");
}

describe("notebooks on other data, changing their first cell only", () => {
  let run: { status: number | null; log: string };

  beforeAll(async () => {
    rmSync(WORK, { recursive: true, force: true });
    mkdirSync(NB_DIR, { recursive: true });
    mkdirSync(OUT, { recursive: true });
    // `../dist/index` from the copies resolves to the build, as from notebooks/.
    symlinkSync(join(ROOT, "dist"), join(WORK, "dist"), "dir");
    const files: string[] = [];
    for (const c of cases) {
      const nb = JSON.parse(readFileSync(join(ROOT, "notebooks", c.file), "utf8")) as Notebook;
      const path = join(NB_DIR, c.file);
      writeFileSync(path, JSON.stringify(withFirstCell(nb, c.set), null, 1));
      files.push(path);
    }
    // Asynchronous, so that vitest's worker stays responsive during the minutes the kernel runs.
    run = await new Promise((resolve) => {
      const child = spawn("bash", ["scripts/run-notebooks.sh", "--no-report", "--out", OUT, ...files], { cwd: ROOT, timeout: 20 * 60_000 });
      let log = "";
      child.stdout.on("data", (d) => (log += d));
      child.stderr.on("data", (d) => (log += d));
      child.on("close", (status) => resolve({ status, log }));
    });
  });

  it("changes only the first code cell of each notebook", () => {
    for (const c of cases) {
      const original = JSON.parse(readFileSync(join(ROOT, "notebooks", c.file), "utf8")) as Notebook;
      const copy = JSON.parse(readFileSync(join(NB_DIR, c.file), "utf8")) as Notebook;
      const first = original.cells.findIndex((x) => x.cell_type === "code");
      const changed = copy.cells.map((x, i) => (text(x.source) === text(original.cells[i].source) ? -1 : i)).filter((i) => i >= 0);
      expect({ file: c.file, changed }).toEqual({ file: c.file, changed: [first] });
    }
  });

  describe.each(cases.map((c) => [c.file, c] as const))("%s", (file, c) => {
    const executed = (): Notebook => {
      const ok = join(OUT, file);
      const failed = join(OUT, file.replace(/\.ipynb$/, ".failed.ipynb"));
      if (existsSync(ok)) return JSON.parse(readFileSync(ok, "utf8")) as Notebook;
      const tail = run.log.split("\n").slice(-40).join("\n");
      if (existsSync(failed)) return JSON.parse(readFileSync(failed, "utf8")) as Notebook;
      throw new Error(`${file} did not run (exit ${run.status}):\n${tail}`);
    };

    it("runs in the tslab kernel with no error and no stderr output, and every display shows", () => {
      const nb = executed();
      const problems: string[] = [];
      nb.cells.forEach((cell, i) => {
        if (cell.cell_type !== "code") return;
        const outputs = cell.outputs ?? [];
        for (const o of outputs) {
          if (o.output_type === "error") problems.push(`cell ${i}: error ${o.ename}: ${o.evalue}`);
          if (o.output_type === "stream" && o.name === "stderr") problems.push(`cell ${i}: stderr: ${text(o.text).slice(0, 500)}`);
        }
        const source = text(cell.source);
        if (outputs.length === 0 && DISPLAYS.test(source) && !cell.metadata?.tags?.includes("allow-empty")) problems.push(`cell ${i}: no output (did it run?): ${source.slice(0, 80)}`);
      });
      expect(problems).toEqual([]);
      expect(existsSync(join(OUT, file))).toBe(true);
    });

    it("names the fixture's own labels and counts, never the lab's", () => {
      const nb = executed();
      const shown = nb.cells.flatMap((cell) => (cell.outputs ?? []).map(shownText)).join("\n");
      for (const m of c.mention) expect(shown, `${file} should mention ${m}`).toContain(m);
      const lab = [...shown.matchAll(LAB_LABELS)].map((m) => shown.slice(Math.max(0, m.index! - 60), m.index! + 60));
      expect(lab).toEqual([]);
    });

    it("exports to HTML that renders every figure offline, each of the fixture's runs in one colour", async () => {
      const nb = executed();
      const figures = nb.cells.flatMap((cell) => cell.outputs ?? []).filter((o) => o.data && PLOTLY_MIME in o.data).length;
      const browser = await openOffline(join(OUT, file.replace(/\.ipynb$/, ".html")));
      try {
        expect(browser.pageErrors).toEqual([]);
        expect(browser.blocked).toEqual([]);
        expect([browser.figures, browser.rendered]).toEqual([figures, figures]);
        // plotly's resolved traces: the colour of every scatter trace named after a run.
        const colours = await browser.page.evaluate((runs) => {
          const out: Record<string, string[]> = {};
          for (const el of Array.from(document.querySelectorAll(".aligndepth-figure"))) {
            for (const t of ((el as unknown as { _fullData?: Array<Record<string, any>> })._fullData ?? [])) {
              const run = runs.find((r) => t.name === r || String(t.name).startsWith(`${r} `) || String(t.name).startsWith(`${r},`));
              const col = t.line?.color ?? t.marker?.color;
              if (run && t.type === "scatter" && typeof col === "string" && !(out[run] ??= []).includes(col)) out[run].push(col);
            }
          }
          return out;
        }, c.runs);
        for (const [r, cs] of Object.entries(colours)) expect({ run: r, colours: cs }).toEqual({ run: r, colours: [cs[0]] });
        // Every notebook with a figure per run draws each run at least once.
        if (figures > 0 && file !== "06-your-logs.ipynb") expect(Object.keys(colours).sort()).toEqual([...c.runs].sort());
      } finally {
        await browser.close();
      }
    });
  });
});
