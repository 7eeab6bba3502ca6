/** The learning-dynamics figures on the hand-made fixture: structure and values (see test/dynamics/statistics.test.ts for the numbers). */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDynamicsLogs } from "../../src/dynamics/load";
import { influenceMatrices } from "../../src/dynamics/influenceMatrix";
import { dynamicsSummary } from "../../src/dynamics/summary";
import { influenceHeatmapFigure } from "../../src/figures/influenceHeatmap";
import { sourceEarlyShareFigure } from "../../src/figures/sourceEarlyShareOverTraining";
import { predictedVsMeasuredFigure } from "../../src/figures/predictedVsMeasured";
import { LEFT_OUT_NOTE, percentFine } from "../../src/figures/dynamicsNote";
import { RUN_COLOR_CYCLE, runColors } from "../../src/figures/palette";

const dir = join(__dirname, "..", "fixtures", "dynamics");
const load = () => loadDynamicsLogs(["influence-sft.jsonl", "train-gradient-sft.jsonl", "probe-change-sft.jsonl"].map((f) => join(dir, f)));

describe("influenceHeatmapFigure", () => {
  it("one heatmap per checkpoint, a slider, a colour scale centred on 0 and fixed over checkpoints", async () => {
    const ms = influenceMatrices((await load()).influence);
    const fig = influenceHeatmapFigure(ms, { run: "sft-seed1", split: "refusal" });
    expect(fig.data).toHaveLength(2);
    expect(fig.data.map((d) => d.type)).toEqual(["heatmap", "heatmap"]);
    expect(fig.data.map((d) => d.visible)).toEqual([false, true]);
    // step 0 refusal rows p: [-0.5, 0.25, 0], [0, -0.25, 0.125], [0.125, 0, -0.25]
    expect(fig.data[0].z).toEqual([[-0.5, 0.25, 0], [0, -0.25, 0.125], [0.125, 0, -0.25]]);
    expect(fig.data[0].x).toEqual([0, 1, 2]);
    expect(fig.data[0].y).toEqual([0, 1, 2]);
    // step 10 refusal = 2 x step 0 harmful: largest |I| = 1, the bound of both heatmaps
    expect(fig.data[1].z).toEqual([[-1, -0.25, 0], [-0.5, -0.25, 0], [-0.25, -0.125, -0.125]]);
    for (const d of fig.data) expect([d.zmin, d.zmax, d.zmid]).toEqual([-1, 1, 0]);
    const slider = (fig.layout.sliders as Array<{ active: number; steps: Array<{ label: string; args: unknown[] }> }>)[0];
    expect(slider.active).toBe(1);
    expect(slider.steps.map((s) => s.label)).toEqual(["0", "10"]);
    expect(slider.steps[0].args).toEqual([{ visible: [true, false] }, { "annotations[0].text": LEFT_OUT_NOTE }]);
    expect((fig.layout.annotations as Array<{ text: string }>)[0].text).toBe(LEFT_OUT_NOTE);
    expect(JSON.stringify(fig.layout.title)).toContain("sft-seed1, refusal");
  });
  it("with the check rows, each checkpoint's check is shown under the title and moves with the slider", async () => {
    const logs = await load();
    const s = dynamicsSummary(logs, { k: 1 });
    const fig = influenceHeatmapFigure(influenceMatrices(logs.influence), { run: "sft-seed1", split: "harmful", approximation: s.approximation });
    const slider = (fig.layout.sliders as Array<{ steps: Array<{ args: Array<Record<string, unknown>> }> }>)[0];
    // step 0: r sqrt(4/7) = 0.76, ratio 1, relative error 23.57%; step 10: r n/a, ratio 0, relative error 100%
    expect(slider.steps[0].args[1]["annotations[0].text"]).toBe(`check: r 0.76, ratio of sums 1.00, relative error 24%; ${LEFT_OUT_NOTE}`);
    expect(slider.steps[1].args[1]["annotations[0].text"]).toBe(`check: r n/a, ratio of sums 0.00, relative error 100%; ${LEFT_OUT_NOTE}`);
    expect((fig.layout.annotations as Array<{ text: string }>)[0].text).toBe(slider.steps[1].args[1]["annotations[0].text"]);
    const refusal = influenceHeatmapFigure(influenceMatrices(logs.influence), { run: "sft-seed1", split: "refusal", approximation: s.approximation });
    expect((refusal.layout.annotations as Array<{ text: string }>)[0].text).toBe(`not checked (no probe-change log for this step); ${LEFT_OUT_NOTE}`);
  });
  it("no matrix for the run and probe set: an empty figure without a slider", async () => {
    const fig = influenceHeatmapFigure(influenceMatrices((await load()).influence), { run: "sft-seed2", split: "refusal" });
    expect(fig.data).toEqual([]);
    expect(fig.layout.sliders).toBeUndefined();
  });
  it('scale "each": every checkpoint centred on 0 at its own largest |I|', async () => {
    const fig = influenceHeatmapFigure(influenceMatrices((await load()).influence), { run: "sft-seed1", split: "refusal", scale: "each" });
    // step 0 refusal: largest |I| 0.5; step 10: 1
    expect(fig.data.map((d) => [d.zmin, d.zmax, d.zmid])).toEqual([[-0.5, 0.5, 0], [-1, 1, 0]]);
  });
  it("the active checkpoint can be chosen", async () => {
    const fig = influenceHeatmapFigure(influenceMatrices((await load()).influence), { run: "sft-seed1", split: "harmful", active: 0 });
    expect(fig.data.map((d) => d.visible)).toEqual([true, false]);
  });
});

describe("sourceEarlyShareFigure", () => {
  it("seeds as thin lines, the recipe mean thick with its seed interval, the token share dotted", async () => {
    const s = dynamicsSummary(await load(), { k: 1 });
    const fig = sourceEarlyShareFigure(s.influence, s.recipes, { split: "harmful", k: 1 });
    expect(fig.data.map((d) => d.name)).toEqual(["sft-seed1", "sft-seed2", "sft (mean of 2 seeds)", "sft: token share"]);
    // sft-seed1 harmful: S_1 = 0.7 at step 0, null at step 10 (no net change: left out of the line)
    expect(fig.data[0]).toMatchObject({ x: [0], y: [0.7], line: { width: 1 } });
    expect(fig.data[1]).toMatchObject({ x: [0], y: [0.5] });
    // recipe at step 0: mean 0.6, t interval half width 1.2706204736174698
    expect(fig.data[2].x).toEqual([0]);
    expect((fig.data[2].y as number[])[0]).toBeCloseTo(0.6, 12);
    const ey = fig.data[2].error_y as { array: number[]; arrayminus: number[] };
    expect(ey.array[0]).toBeCloseTo(1.2706204736174698, 9);
    expect(ey.arrayminus[0]).toBeCloseTo(1.2706204736174698, 9);
    // token share k = 1: 0.4 for both seeds at step 0, 0.4 for seed 1 at step 10
    expect(fig.data[3]).toMatchObject({ x: [0, 10], line: { dash: "dot" } });
    expect((fig.data[3].y as number[]).map((v) => Number(v.toFixed(12)))).toEqual([0.4, 0.4]);
    // names from logs are trace names, never spliced into a hover template
    for (const d of fig.data) expect(String(d.hovertemplate)).not.toContain("sft");
    expect((fig.layout.annotations as Array<{ text: string }>)[0].text).toBe(LEFT_OUT_NOTE);
  });
});

describe("sourceEarlyShareFigure with a colour map and a subset of recipes", () => {
  it("a recipe keeps the map's colour (and an ablation's dash) whatever else is drawn", async () => {
    const s = dynamicsSummary(await load(), { k: 1 });
    // "aaa" sorts before "sft": by default sft would get the first colour; the map gives it the second.
    const colors = runColors(["aaa", "sft"], { ablations: ["sft"] });
    const fig = sourceEarlyShareFigure(s.influence, s.recipes, { split: "harmful", k: 1, colors, recipes: ["nothing-like-it", "sft"] });
    expect(fig.data.map((d) => d.name)).toEqual(["sft-seed1", "sft-seed2", "sft (mean of 2 seeds)", "sft: token share"]);
    for (const d of fig.data) expect((d.line as { color: string }).color).toBe(RUN_COLOR_CYCLE[1]);
    expect((fig.data[2].line as { dash: string }).dash).toBe("dash");
    // a recipe list without the rows' recipes draws nothing
    expect(sourceEarlyShareFigure(s.influence, s.recipes, { split: "harmful", k: 1, recipes: ["other"] }).data).toEqual([]);
  });
});

describe("sourceEarlyShareFigure with a y range", () => {
  it("fixes the axis and counts the points and interval ends off the scale", async () => {
    const s = dynamicsSummary(await load(), { k: 1 });
    // harmful, step 0: seeds 0.7 and 0.5, mean 0.6 with interval 0.6 +/- 1.2706 (both ends off [0, 1]); token share 0.4 at steps 0 and 10
    const fig = sourceEarlyShareFigure(s.influence, s.recipes, { split: "harmful", k: 1, yRange: [0, 1] });
    expect((fig.layout.yaxis as { range: number[]; autorange: boolean })).toMatchObject({ range: [0, 1], autorange: false });
    expect((fig.layout.annotations as Array<{ text: string }>)[0].text).toBe(`2 points or interval ends outside 0 to 1 off the scale (zoom out); ${LEFT_OUT_NOTE}`);
    // seed 1 at 0.7 is off [0, 0.65], and the interval's upper end; the lower end -0.67 too
    const tight = sourceEarlyShareFigure(s.influence, s.recipes, { split: "harmful", k: 1, yRange: [-1, 0.65] });
    expect((tight.layout.annotations as Array<{ text: string }>)[0].text).toMatch(/^2 points or interval ends outside -1 to 0.65/);
    const wide = sourceEarlyShareFigure(s.influence, s.recipes, { split: "harmful", k: 1, yRange: [-2, 3] });
    expect((wide.layout.annotations as Array<{ text: string }>)[0].text).toBe(LEFT_OUT_NOTE);
  });
});

describe("predictedVsMeasuredFigure", () => {
  it("predicted and measured change per position, the check's numbers in the title", async () => {
    const s = dynamicsSummary(await load(), { k: 1 });
    const fig = predictedVsMeasuredFigure(s.approximation, { run: "sft-seed1", split: "harmful", step: 0 });
    expect(fig.data.map((d) => [d.x, d.y])).toEqual([
      [[0, 1, 2], [-0.625, -0.375, -0.25]],
      [[0, 1, 2], [-0.5, -0.5, -0.25]],
    ]);
    // r = sqrt(4/7) = 0.756, ratio 1, relative error 0.2357
    expect((fig.layout.title as { text: string }).text).toBe("Predicted vs measured change, sft-seed1, harmful, step 0: r 0.76, ratio of sums 1.00, relative error 24%");
    const last = predictedVsMeasuredFigure(s.approximation, { run: "sft-seed1", split: "harmful" });
    expect((last.layout.title as { text: string }).text).toContain("step 10: r n/a, ratio of sums 0.00, relative error 100%");
    expect((last.layout.annotations as Array<{ text: string }>)[0].text).toBe(LEFT_OUT_NOTE);
  });
});

describe("percentFine", () => {
  it("two significant digits below 1%, whole percent above", () => {
    expect(percentFine(0.0013)).toBe("0.13%");
    expect(percentFine(0.2357)).toBe("24%");
    expect(percentFine(0)).toBe("0%");
    expect(percentFine(null)).toBe("n/a");
  });
});
