/**
 * One colour per run everywhere: the dataset-level map gives a run the same colour in every figure
 * builder, whatever order the traces come in, and the colours are Okabe-Ito's.
 */
import { describe, expect, it } from "vitest";
import type { AsrRow } from "../../src/attacks/asr";
import { asrByKFigure } from "../../src/figures/attacks";
import { compareRunsFigure } from "../../src/figures/compareRuns";
import { cumulativeShareFigure } from "../../src/figures/cumulativeShare";
import { earlyShareFigure } from "../../src/figures/earlyShareOverTraining";
import { OKABE_ITO, RUN_COLOR_CYCLE, runColors } from "../../src/figures/palette";
import { profileFacetsFigure, profileOverlayFigure } from "../../src/figures/profileOverlay";
import type { RunComparison } from "../../src/stats/compare";
import type { UpdateMass } from "../../src/stats/updateMass";

const RUNS = ["sft", "augment", "worst_insertion", "base"];

const mass = (k: number): UpdateMass => ({ positions: [0, 1], shares: [0.5, 0.5], cumulative: [0.5, 1], total: 2, earlyShare: 1, d50: 1, d90: 2, k });
const cmp = (run: string): RunComparison => ({
  run, split: "refusal", from: 0, to: 10, examples: 2, early_share: 0.5, d50: 1, d90: 2,
  ci: { early_share: [0.4, 0.6], d50: [1, 1], d90: [2, 2] }, final_step: 10, final_loss: { refusal: 1 }, asr: {},
});
const asr = (run: string): AsrRow => ({ run, attack: "prefill", k: 5, prefix_len: null, span_len: null, n: 2, harmful: 1, asr: 0.5, ci: [0.1, 0.9] });
const prof = (run: string) => ({ run, step: 10, position: 0, n: 2, mean: 1, sd: 0.1, se: 0.07 });

type Trace = Record<string, unknown> & { line?: { color?: string }; marker?: { color?: unknown } };

/** The colour each builder gives each run (by its line, or its legend entry / points). */
function colorsByBuilder(order: string[], colors?: ReturnType<typeof runColors>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  const lineColor = (t: Trace) => (t.line?.color ?? t.marker?.color) as string;
  const named = (data: Trace[], nameOf: (t: Trace) => string | null) => {
    const m: Record<string, string> = {};
    for (const t of data) {
      const n = nameOf(t);
      if (n !== null && t.showlegend !== false) m[n] = lineColor(t);
    }
    return m;
  };
  const runOfName = (t: Trace) => (typeof t.name === "string" ? (RUNS.find((r) => t.name === r || (t.name as string).startsWith(`${r} `) || (t.name as string).startsWith(`${r},`)) ?? null) : null);
  out.cumulativeShare = named(cumulativeShareFigure(order.map((run) => ({ run, mass: mass(5) })), { colors }).data as Trace[], runOfName);
  out.earlyShare = named(earlyShareFigure(order.map((run) => ({ run, from: 0, step: 10, earlyShare: 0.5, d50: 1, d90: 2 })), { colors }).data as Trace[], runOfName);
  const series = order.map((run) => ({ run, step: 10 }));
  out.profileOverlay = named(profileOverlayFigure(order.map(prof), series, { colors }).data as Trace[], runOfName);
  out.profileFacets = named(profileFacetsFigure([{ title: "refusal", rows: order.map(prof) }, { title: "harmful", rows: order.map(prof) }], series, { colors }).data as Trace[], runOfName);
  out.asrByK = named(asrByKFigure(order.map(asr), { colors }).data as Trace[], runOfName);
  const c = compareRunsFigure(order.map(cmp), { colors });
  out.compareRuns = named((c.data as Trace[]).filter((t) => t.legendgroup === "runs"), runOfName);
  // ...and every point of the comparison panels is in its run's colour.
  const points = (c.data[0].marker as { color: string[] }).color;
  out.comparePoints = Object.fromEntries(order.map((r, i) => [r, points[i]]));
  return out;
}

describe("runColors", () => {
  it("gives a run the same colour in every figure builder, from the dataset map", () => {
    const colors = runColors(RUNS);
    const byBuilder = colorsByBuilder(RUNS, colors);
    // Sorted names: augment, base, sft, worst_insertion -> blue, vermillion, bluish green, orange.
    const expected = { augment: OKABE_ITO.blue, base: OKABE_ITO.vermillion, sft: OKABE_ITO.bluishGreen, worst_insertion: OKABE_ITO.orange };
    for (const [builder, m] of Object.entries(byBuilder)) expect({ builder, m }).toEqual({ builder, m: expected });
  });
  it("does not depend on the order of traces or rows", () => {
    const colors = runColors(RUNS);
    const a = colorsByBuilder(RUNS, colors);
    const b = colorsByBuilder([...RUNS].reverse(), colors);
    const c = colorsByBuilder(["worst_insertion", "sft", "base", "augment"], runColors([...RUNS].reverse()));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    // Without a map, each builder makes one from the runs it draws: still by name, not by order.
    expect(colorsByBuilder([...RUNS].reverse())).toEqual(colorsByBuilder(RUNS));
  });
  it("is fixed by name: markers as a second cue, dashes for ablations, thin lines for seeds", () => {
    const c = runColors(["sft-seed1", "sft-seed2", "augment", "no_warmup"], {
      recipeOf: new Map([["sft-seed1", "sft"], ["sft-seed2", "sft"]]),
      ablations: ["no_warmup"],
    });
    expect(c.keys).toEqual(["augment", "no_warmup", "sft"]);
    expect(c.style("sft-seed1")).toEqual({ color: RUN_COLOR_CYCLE[2], symbol: "diamond", dash: "solid", width: 1 });
    expect(c.style("sft-seed2")).toEqual(c.style("sft-seed1"));
    expect(c.style("sft")).toEqual({ color: RUN_COLOR_CYCLE[2], symbol: "diamond", dash: "solid", width: 2.5 });
    expect(c.style("no_warmup")).toEqual({ color: RUN_COLOR_CYCLE[1], symbol: "square", dash: "dash", width: 2.5 });
    expect(c.color("unknown")).toBe("#888888");
    // Nine keys: the ninth reuses the first colour, with another marker.
    const nine = runColors(["a", "b", "c", "d", "e", "f", "g", "h", "i"]);
    expect(nine.color("i")).toBe(nine.color("a"));
    expect([nine.style("a").symbol, nine.style("i").symbol]).toEqual(["circle", "square"]);
    expect(new Set(["a", "b", "c", "d", "e", "f", "g", "h"].map((n) => nine.color(n))).size).toBe(8);
  });
});

// Colour-vision deficiency simulation: Machado, Oliveira and Fernandes (2009), "A physiologically-based
// model for simulation of color vision deficiency", IEEE TVCG 15(6), severity 1.0 matrices (linear RGB),
// then CIELAB (D65) and the CIE76 distance.
const MACHADO: Record<string, number[][]> = {
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]],
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  tritanopia: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.3039]],
};
function simulatedLab(hex: string, m: number[][]): number[] {
  const lin = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  const [r, g, b] = m.map((row) => Math.max(0, Math.min(1, row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2])));
  const xyz = [(0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b, (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883];
  const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  const [fx, fy, fz] = xyz.map(f);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}
function closestPair(colours: readonly string[], m: number[][]): number {
  let min = Infinity;
  for (let i = 0; i < colours.length; i++)
    for (let j = i + 1; j < colours.length; j++) min = Math.min(min, Math.hypot(...simulatedLab(colours[i], m).map((v, k) => v - simulatedLab(colours[j], m)[k])));
  return min;
}

describe("colour-blind safety", () => {
  it("the first six run colours stay apart under simulated deuteranopia, protanopia and tritanopia", () => {
    // Closest pairs (CIE76): deuteranopia 17.9 (bluish green / reddish purple), protanopia 20.7, tritanopia 16.1.
    expect(closestPair(RUN_COLOR_CYCLE.slice(0, 6), MACHADO.deuteranopia)).toBeCloseTo(17.9, 1);
    expect(closestPair(RUN_COLOR_CYCLE.slice(0, 6), MACHADO.protanopia)).toBeCloseTo(20.7, 1);
    expect(closestPair(RUN_COLOR_CYCLE.slice(0, 6), MACHADO.tritanopia)).toBeCloseTo(16.1, 1);
    // The plotly default colours the figures used before: red and green nearly merge (7.3).
    expect(closestPair(["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"], MACHADO.deuteranopia)).toBeCloseTo(7.3, 1);
  });
});
