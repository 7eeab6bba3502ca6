/**
 * End to end: `aligndepth report` on a generated fixture (two runs, one with a hostile name; token
 * text with HTML and script; gradient logs; attack results; a skipped line) and on data/lab when
 * the lab's logs exist. Each report opens in headless Chromium with every non-file request
 * aborted: every figure is drawn, nothing errors, nothing hostile runs, the hostile text shows
 * literally, and the run dropdown works. Two builds are byte-identical. Screenshots go to out/.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main";
import type { Output } from "../../src/cli/output";
import { modebarButtons, openOffline } from "./browser";
import { HOSTILE_RUN, HOSTILE_TOKENS, RUNS, writeReportFixture } from "../report/fixture";

const ROOT = join(__dirname, "..", "..");
const OUT = join(ROOT, "out", "e2e");
const LAB = join(ROOT, "data", "lab");

async function report(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  const out: Output = { json: () => undefined, text: () => undefined, note: (s) => (stderr += `${s}\n`) };
  const code = await main(["report", ...argv], out);
  return { code, stderr };
}

/** Builds the report twice, checks the bytes agree, opens it offline and checks every figure. */
async function buildAndOpen(name: string, inputs: string[]) {
  mkdirSync(OUT, { recursive: true });
  const files = [join(OUT, `${name}.html`), join(OUT, `${name}-again.html`)];
  for (const f of files) {
    const r = await report([...inputs, "--out", f]);
    expect(r.code, r.stderr).toBe(0);
  }
  const [a, b] = files.map((f) => readFileSync(f));
  expect(a.equals(b)).toBe(true);
  expect(a.length).toBeLessThan(10e6);
  const browser = await openOffline(files[0]);
  expect(browser.blocked).toEqual([]);
  expect(browser.pageErrors).toEqual([]);
  expect(browser.dialogs).toEqual([]);
  expect(browser.figures).toBeGreaterThanOrEqual(4);
  expect(browser.rendered).toBe(browser.figures);
  // No figure offers to upload its data (plotly's "Share chart..." is on by default in plotly.js 4).
  const buttons = await modebarButtons(browser.page);
  expect(buttons.titles.length).toBeGreaterThanOrEqual(browser.figures);
  expect(buttons.network).toEqual([]);
  return browser;
}

async function screenshot(page: import("playwright-core").Page, name: string) {
  await page.setViewportSize({ width: 1150, height: 900 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

describe("aligndepth report in a browser", () => {
  it("renders the fixture offline; hostile log strings stay text and run nothing", async () => {
    const fx = writeReportFixture(join(OUT, "report-fixture"));
    const browser = await buildAndOpen("report-fixture", [fx.tokens, fx.attacks, "--grad-logs", fx.grad, "--skip-invalid", "--bootstrap", "200"]);
    const page = browser.page;
    try {
      expect(browser.figures).toBe(14);
      // The same run is drawn in the same colour in every figure (as plotly resolved the traces).
      const colours = await page.evaluate((runs) => {
        const out: Record<string, string[]> = {};
        for (const el of Array.from(document.querySelectorAll(".aligndepth-figure"))) {
          for (const t of (el as unknown as { _fullData: Array<Record<string, any>> })._fullData) {
            const run = runs.find((r) => t.name === r || String(t.name).startsWith(`${r} `) || String(t.name).startsWith(`${r},`));
            if (!run || t.type !== "scatter") continue;
            const c = t.line?.color ?? t.marker?.color;
            if (typeof c === "string" && !(out[run] ??= []).includes(c)) out[run].push(c);
          }
        }
        return out;
      }, RUNS);
      expect(colours).toEqual({ [RUNS[0]]: ["#D55E00"], [RUNS[1]]: ["#0072B2"] });
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.locator("img").count()).toBe(0);
      const text = await page.evaluate(() => document.body.innerText);
      for (const s of [HOSTILE_RUN, ...HOSTILE_TOKENS]) expect(text).toContain(s);
      expect(text).toMatch(/skipped records\s+1 \(1 [a-z-]+\)/);
      // Plotly draws the hostile run name as text too (dropdown label of the first figure).
      const labels = await page.locator("#fig-by-position .updatemenu-item-text").allTextContents();
      expect(labels).toContain(HOSTILE_RUN);
      // The heatmap's dropdown switches runs.
      const visible = () => page.evaluate(() => (document.getElementById("fig-heatmap") as unknown as { data: Array<{ visible: boolean }> }).data.map((t) => t.visible));
      expect(await visible()).toEqual([true, false]);
      await page.locator("#fig-heatmap .updatemenu-header-group").click();
      await page.locator("#fig-heatmap .updatemenu-dropdown-button").nth(1).click();
      await page.waitForFunction(() => (document.getElementById("fig-heatmap") as unknown as { data: Array<{ visible: boolean }> }).data[1].visible === true);
      expect(await visible()).toEqual([false, true]);
      // The checkpoint slider moves: clicking the start of its rail shows the first checkpoint.
      const shown = () => page.evaluate(() => (document.getElementById("fig-slider-0") as unknown as { data: Array<{ visible: unknown; name: string }> }).data.filter((t) => t.visible === true).map((t) => t.name));
      const before = await shown();
      await page.locator("#fig-slider-0").scrollIntoViewIfNeeded();
      const rail = (await page.locator("#fig-slider-0 .slider-rail-touch-rect").first().boundingBox())!;
      await page.mouse.click(rail.x + 2, rail.y + rail.height / 2);
      await page.waitForFunction((b) => JSON.stringify((document.getElementById("fig-slider-0") as unknown as { data: Array<{ visible: unknown; name: string }> }).data.filter((t) => t.visible === true).map((t) => t.name)) !== b, JSON.stringify(before), { timeout: 5000 });
      expect(await shown()).toEqual(["step 0", "step 0 (first)"]);
      // Hovering the heatmap shows a label.
      await page.locator("#fig-heatmap").scrollIntoViewIfNeeded();
      const box = (await page.locator("#fig-heatmap .nsewdrag").first().boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.move(box.x + box.width / 2 + 3, box.y + box.height / 2 + 3);
      await page.waitForFunction(() => document.querySelectorAll("#fig-heatmap .hoverlayer .hovertext").length > 0, undefined, { timeout: 5000 });
      await screenshot(page, "report-fixture");
    } finally {
      await browser.close();
    }
  });

  it("renders the learning-dynamics section offline; hostile run and probe-set names stay text", async () => {
    const fx = writeReportFixture(join(OUT, "report-dynamics-fixture"));
    // the hand-made dynamics logs, with seed 1 renamed to a hostile run and "harmful" to a hostile probe set
    const hostileSplit = `<img src=x onerror="window.__pwned=3">`;
    const dyn = ["influence-sft.jsonl", "train-gradient-sft.jsonl", "probe-change-sft.jsonl"].map((f) => {
      const lines = readFileSync(join(ROOT, "test", "fixtures", "dynamics", f), "utf8").trim().split("\n").map((l) => {
        const r = JSON.parse(l) as Record<string, unknown>;
        return JSON.stringify({ ...r, run: r.run === "sft-seed1" ? `${HOSTILE_RUN}-seed1` : r.run, ...(r.split === "harmful" ? { split: hostileSplit } : {}) });
      });
      const path = join(OUT, "report-dynamics-fixture", f);
      writeFileSync(path, lines.join("\n") + "\n");
      return path;
    });
    const browser = await buildAndOpen("report-dynamics", [fx.tokens, ...dyn, "--skip-invalid", "--bootstrap", "50"]);
    const page = browser.page;
    try {
      expect(await page.locator("#dynamics").count()).toBe(1);
      // one heatmap per recipe (the hostile run is a recipe of its own; "sft" has seed 2), and S_k over training
      for (const id of ["fig-influence-0", "fig-influence-1", "fig-source-early-share"]) expect(await page.locator(`#${id} .main-svg`).count()).toBeGreaterThan(0);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.locator("img").count()).toBe(0);
      const text = await page.locator("#dynamics").innerText();
      expect(text).toContain(`shown: the ${hostileSplit} probes`);
      expect(text).toContain(`${HOSTILE_RUN}, ${hostileSplit} probes, step `);
      expect(text).toMatch(/first-order prediction matches the measured change/);
      // the heatmap's slider moves between the logged steps (0 and 10): the first stop shows step 0
      const visible = () => page.evaluate(() => (document.getElementById("fig-influence-0") as unknown as { data: Array<{ visible: unknown; name: string }> }).data.filter((t) => t.visible === true).map((t) => t.name));
      expect(await visible()).toEqual(["step 10"]);
      await page.locator("#fig-influence-0").scrollIntoViewIfNeeded();
      const rail = (await page.locator("#fig-influence-0 .slider-rail-touch-rect").first().boundingBox())!;
      await page.mouse.click(rail.x + 2, rail.y + rail.height / 2);
      await page.waitForFunction(() => (document.getElementById("fig-influence-0") as unknown as { data: Array<{ visible: unknown }> }).data[0].visible === true, undefined, { timeout: 5000 });
      expect(await visible()).toEqual(["step 0"]);
      await page.locator("#dynamics").screenshot({ path: join(OUT, "report-dynamics.png") });
    } finally {
      await browser.close();
    }
  });

  const hasLab = existsSync(LAB) && readdirSync(LAB).some((f) => /^tokens-.*\.jsonl\.gz$/.test(f));
  it.skipIf(!hasLab)("renders the report of data/lab offline, by recipe", async () => {
    const inputs = [join(LAB, "tokens-*.jsonl.gz")];
    if (existsSync(join(LAB, "attacks.jsonl.gz"))) inputs.push("--attacks", join(LAB, "attacks.jsonl.gz"));
    if (readdirSync(LAB).some((f) => f.startsWith("gradnorm-"))) inputs.push("--grad-logs", join(LAB, "gradnorm-*.jsonl.gz"));
    const dynamics = readdirSync(LAB).some((f) => f.startsWith("influence-"));
    if (dynamics) for (const kind of ["influence", "train-gradient", "probe-change"]) inputs.push("--dynamics", join(LAB, `${kind}-*.jsonl.gz`));
    inputs.push("--recipe-pattern", "^(?<recipe>.+)-seed\\d+$");
    // The lab's replicate runs, counted from the file names (tokens-RECIPE[-ABLATION]-seedN.jsonl.gz).
    const seeds = new Map<string, number>();
    for (const f of readdirSync(LAB)) {
      const m = /^tokens-(.+)-seed\d+\.jsonl\.gz$/.exec(f);
      if (m) seeds.set(m[1], (seeds.get(m[1]) ?? 0) + 1);
    }
    const browser = await buildAndOpen("report-lab", inputs);
    try {
      const text = await browser.page.evaluate(() => document.body.innerText);
      expect(text).toContain("split = refusal");
      if (dynamics) {
        expect(text).toContain("Learning dynamics: where the training gradient acts");
        expect(await browser.page.locator("#fig-source-early-share .main-svg").count()).toBeGreaterThan(0);
      }
      if (seeds.size) {
        // Recipes, not runs: one table row and one sentence per recipe with its number of runs.
        expect(text).toContain("Recipe comparison: where each update concentrates");
        for (const [recipe, n] of seeds) expect(text).toContain(`${recipe} (${n} run${n === 1 ? "" : "s"}, harmful probes)`);
        // The gradient-norm section does not call a probe token's gradient the training update.
        expect(text).not.toContain("training still pushes on that position");
        if (existsSync(join(LAB, "attacks.jsonl.gz"))) {
          expect(text).toContain("Greedy and sampled decoding are shown apart, never pooled.");
          expect(text).toMatch(/sampled: sft \(prefill\): ASR /);
        }
      }
      await screenshot(browser.page, "report-lab");
    } finally {
      await browser.close();
    }
  });
});
