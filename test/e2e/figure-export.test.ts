/**
 * Figure export (saveFigure and `aligndepth figure`): PDF, SVG and PNG are written, opened
 * (pdftoppm for the PDF, Chromium for the SVG, a PNG decoder for the PNG), their plot area holds
 * the runs' colours (not blank), and two exports of the same figure give identical pixels.
 * Leaves the files in out/e2e/export/.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main";
import type { Output } from "../../src/cli/output";
import { launchChromium } from "../../src/export/chromium";
import { saveFigure } from "../../src/export/saveFigure";
import { cumulativeShareFigure } from "../../src/figures/cumulativeShare";
import { OKABE_ITO, runColors } from "../../src/figures/palette";
import type { UpdateMass } from "../../src/stats/updateMass";
import { writeReportFixture } from "../report/fixture";
import { Pixels, decodePng, decodePpm, inkIn } from "./png";

const OUT = join(__dirname, "..", "..", "out", "e2e", "export");
mkdirSync(OUT, { recursive: true });

const mass = (cum: number[]): UpdateMass => ({ positions: cum.map((_, i) => i), shares: [], cumulative: cum, total: 1, earlyShare: 0.9, d50: 1, d90: 4, k: 5 });
// runColors over {augment, sft}: augment blue, sft vermillion.
const FIG = cumulativeShareFigure(
  [
    { run: "sft", mass: mass([0.45, 0.75, 0.85, 0.9, 0.95, 1]) },
    { run: "augment", mass: mass([0.1, 0.25, 0.4, 0.6, 0.8, 1]) },
  ],
  { colors: runColors(["sft", "augment"]) },
);
const SIZE = { width: 600, height: 380, fontSize: 11 };
// The plot area: left of the legend, between title and axis title.
const PLOT: [number, number, number, number] = [0.1, 0.15, 0.7, 0.85];

function expectDrawn(p: Pixels, what: string) {
  const all = inkIn(p, PLOT);
  const blue = inkIn(p, PLOT, OKABE_ITO.blue);
  const red = inkIn(p, PLOT, OKABE_ITO.vermillion);
  expect({ what, ink: all.ink > 0.02 * all.total, blue: blue.matching > 150, red: red.matching > 150 }).toEqual({ what, ink: true, blue: true, red: true });
  expect(all.ink).toBeLessThan(0.6 * all.total); // a plot, not a filled box
}

function pdfPixels(file: string): Pixels {
  const r = spawnSync("pdftoppm", ["-r", "96", "-f", "1", "-l", "1", file], { maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) throw new Error(`pdftoppm failed (apt-get install poppler-utils): ${r.error ?? r.stderr}`);
  return decodePpm(r.stdout);
}

async function svgPixels(file: string): Promise<Pixels> {
  const b = await launchChromium({ viewport: { width: SIZE.width, height: SIZE.height } });
  try {
    const page = b.context.pages()[0] ?? (await b.context.newPage());
    await page.goto(pathToFileURL(file).href);
    return decodePng(await page.screenshot({ clip: { x: 0, y: 0, width: SIZE.width, height: SIZE.height } }));
  } finally {
    await b.close();
  }
}

describe("saveFigure", () => {
  it("writes a PNG at the size asked, not blank, the same pixels twice", async () => {
    const a = await saveFigure(FIG, join(OUT, "a.png"), { ...SIZE, pixelRatio: 1 });
    const b = await saveFigure(FIG, join(OUT, "b.png"), { ...SIZE, pixelRatio: 1 });
    expect(a).toMatchObject({ format: "png", width: 600, height: 380 });
    const pa = decodePng(readFileSync(a.path));
    expect([pa.width, pa.height]).toEqual([600, 380]);
    expectDrawn(pa, "png");
    expect(decodePng(readFileSync(b.path)).rgb.equals(pa.rgb)).toBe(true);
    const big = decodePng(readFileSync((await saveFigure(FIG, join(OUT, "scale2.png"), SIZE)).path));
    expect([big.width, big.height]).toEqual([1200, 760]); // default pixelRatio 2
  }, 60_000);

  it("writes a one-page vector PDF that rasterises (pdftoppm) to a drawn plot, the same twice", async () => {
    await saveFigure(FIG, join(OUT, "a.pdf"), SIZE);
    await saveFigure(FIG, join(OUT, "b.pdf"), SIZE);
    const bytes = readFileSync(join(OUT, "a.pdf"));
    expect(bytes.subarray(0, 5).toString()).toBe("%PDF-");
    const pa = pdfPixels(join(OUT, "a.pdf"));
    // 600 x 380 px = 450 x 285 pt; pdftoppm at 96 dpi rounds the page up by at most a pixel.
    expect(Math.abs(pa.width - 600) + Math.abs(pa.height - 380)).toBeLessThanOrEqual(1);
    expectDrawn(pa, "pdf");
    expect(pdfPixels(join(OUT, "b.pdf")).rgb.equals(pa.rgb)).toBe(true);
    // Text stays text (vector): the title's words are in the PDF's text layer.
    const txt = spawnSync("pdftotext", [join(OUT, "a.pdf"), "-"]).stdout.toString();
    expect(txt).toContain("Cumulative share");
  }, 60_000);

  it("writes an SVG with the runs' colours that renders to a drawn plot, the same twice", async () => {
    await saveFigure(FIG, join(OUT, "a.svg"), SIZE);
    await saveFigure(FIG, join(OUT, "b.svg"), SIZE);
    const svg = readFileSync(join(OUT, "a.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain('width="600"');
    expect(svg).toContain("rgb(0, 114, 178)"); // Okabe-Ito blue: augment's line
    expect(svg).toContain("rgb(213, 94, 0)"); // vermillion: sft's line
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // no external reference
    const pa = await svgPixels(join(OUT, "a.svg"));
    expectDrawn(pa, "svg");
    expect((await svgPixels(join(OUT, "b.svg"))).rgb.equals(pa.rgb)).toBe(true);
  }, 60_000);

  it("uses the font size asked: larger text puts more ink in the axis-title band", async () => {
    const small = decodePng(readFileSync((await saveFigure(FIG, join(OUT, "font8.png"), { ...SIZE, fontSize: 8, pixelRatio: 1 })).path));
    const large = decodePng(readFileSync((await saveFigure(FIG, join(OUT, "font16.png"), { ...SIZE, fontSize: 16, pixelRatio: 1 })).path));
    const band: [number, number, number, number] = [0, 0.85, 1, 1];
    expect(inkIn(large, band).ink).toBeGreaterThan(1.5 * inkIn(small, band).ink);
  }, 60_000);

  it("refuses an unknown format, and says in one line that Chromium is missing", async () => {
    await expect(saveFigure(FIG, join(OUT, "a.gif"))).rejects.toThrow(/use a \.pdf, \.svg or \.png file name/);
    const before = process.env.CHROMIUM;
    process.env.CHROMIUM = "/nonexistent/chromium";
    try {
      const err = await saveFigure(FIG, join(OUT, "never.png")).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/^Chromium not found at \/nonexistent\/chromium: .*apt-get install chromium/);
      expect((err as Error).message).not.toContain("\n");
    } finally {
      if (before === undefined) delete process.env.CHROMIUM;
      else process.env.CHROMIUM = before;
    }
  });
});

describe("aligndepth figure", () => {
  async function run(argv: string[]) {
    let stderr = "";
    const out: Output = { json: () => undefined, text: () => undefined, note: (s) => (stderr += `${s}\n`) };
    return { code: await main(["figure", ...argv], out), stderr };
  }
  it("writes named figures from token logs and attack results; usage errors exit 2", async () => {
    const fx = writeReportFixture(join(OUT, "fixture"));
    rmSync(join(OUT, "cli-probe-sets.svg"), { force: true });
    const a = await run(["probe-sets", fx.tokens, "--skip-invalid", "--out", join(OUT, "cli-probe-sets.svg"), "--width", "800", "--height", "400"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/wrote .*cli-probe-sets\.svg \(svg, 800 x 400 px/);
    const svg = readFileSync(join(OUT, "cli-probe-sets.svg"), "utf8");
    expect(svg).toContain("split = benign");
    expect(svg).toContain("split = refusal");
    const b = await run(["asr-heatmap", fx.attacks, "--out", join(OUT, "cli-asr-heatmap.png"), "--pixel-ratio", "1"]);
    expect(b.code, b.stderr).toBe(0);
    expect(decodePng(readFileSync(join(OUT, "cli-asr-heatmap.png"))).width).toBe(700);
    expect((await run(["no-such-figure", fx.tokens, "--out", join(OUT, "x.pdf")])).code).toBe(2);
    expect((await run(["compare", fx.tokens, "--out", join(OUT, "x.gif")])).code).toBe(2);
    expect((await run(["compare", fx.tokens])).code).toBe(2);
  }, 120_000);
  it("cumulative-share on a log whose response starts at position 4: warned on stderr, and said in the SVG (title, axis, 3.3 caveat)", async () => {
    const file = join(__dirname, "..", "fixtures", "cases", "prompt-tokens-segment.jsonl");
    const r = await run(["cumulative-share", file, "--where", "segment=response", "--out", join(OUT, "cli-cw.svg")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("warning: 2 of 2 examples do not start at position 0 (first position 4)");
    const svg = readFileSync(join(OUT, "cli-cw.svg"), "utf8");
    expect(svg).toContain("rows start at 4, not 0");
    expect(svg).not.toContain("0 = first scored token");
    expect(svg).toContain("Not from position 0");
    expect(svg).toContain("biased toward late positions");
  }, 60_000);
  it("asr-k on 0:1 judge scores: --scale 0:1 is the judge scale, --pixel-ratio the PNG density", async () => {
    const file = join(OUT, "pj3.jsonl");
    writeFileSync(file, [[1, 0, 1], [1, 1, 0], [1, 2, -1], [2, 0, 0.5], [2, 1, 1]].map(([k, example, score]) => JSON.stringify({ run: "m", attack: "prefill", k, example, score })).join("\n") + "\n");
    const r = await run(["asr-k", file, "--scale", "0:1", "--not-judged=-1", "--pixel-ratio", "1", "--out", join(OUT, "cli-asr-k.png")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("1 record was not judged (score -1): left out of n");
    expect(r.stderr).toMatch(/cli-asr-k\.png \(png, 700 x 450 px at pixel ratio 1/);
    expect(decodePng(readFileSync(join(OUT, "cli-asr-k.png"))).width).toBe(700);
  }, 60_000);
});
