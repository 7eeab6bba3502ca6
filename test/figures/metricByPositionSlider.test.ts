import { describe, expect, it } from "vitest";
import { metricByPositionSliderFigure } from "../../src/figures/metricByPositionSlider";
import type { PositionProfileRow } from "../../src/stats/positionProfile";

const row = (run: string, step: number, position: number, mean: number, se: number | null): PositionProfileRow => ({ run, step, position, n: 4, mean, sd: se === null ? null : se * 2, se });

describe("metricByPositionSliderFigure", () => {
  const rows = [
    row("sft", 0, 1, 3, 0.5), row("sft", 0, 0, 4, 0.5),
    row("sft", 10, 0, 2, 0.1), row("sft", 10, 1, 3, 0.1),
    row("sft", 20, 0, 1, null), row("sft", 20, 1, 2.5, null),
    row("augment", 0, 0, 9, 0),
  ];
  it("draws one trace per checkpoint of the run, positions in order, the last one visible, plus the first as reference", () => {
    const fig = metricByPositionSliderFigure(rows, { run: "sft", what: "refusal probes" });
    expect(fig.data.map((t) => t.name)).toEqual(["step 0", "step 10", "step 20", "step 0 (first)"]);
    expect(fig.data.map((t) => t.visible)).toEqual([false, false, true, undefined]);
    expect(fig.data[0].x).toEqual([0, 1]);
    expect(fig.data[0].y).toEqual([4, 3]);
    expect((fig.data[0].error_y as { array: number[] }).array).toEqual([0.98, 0.98]);
    expect((fig.data[2].error_y as { array: number[] }).array).toEqual([0, 0]); // no se, no bar
    expect(fig.data[3].y).toEqual([4, 3]);
    expect((fig.layout.title as { text: string }).text).toBe("loss by position (refusal probes), sft");
  });
  it("has a slider with one stop per checkpoint, each showing only its trace (and the reference)", () => {
    const fig = metricByPositionSliderFigure(rows, { run: "sft" });
    const [slider] = fig.layout.sliders as Array<{ active: number; currentvalue: { prefix: string }; steps: Array<{ label: string; method: string; args: [{ visible: boolean[] }] }> }>;
    expect(slider.active).toBe(2);
    expect(slider.steps.map((s) => s.label)).toEqual(["0", "10", "20"]);
    expect(slider.steps[1].method).toBe("update");
    expect(slider.steps[1].args[0].visible).toEqual([false, true, false, true]);
    expect(slider.currentvalue.prefix).toBe("checkpoint: step ");
  });
  it("fixes the y range over all checkpoints: lowest mean - 1.96 se to highest + 1.96 se, padded by 5%", () => {
    const fig = metricByPositionSliderFigure(rows, { run: "sft" });
    // lo = min(4 - 0.98, 3 - 0.98, 2 - 0.196, 3 - 0.196, 1, 2.5) = 1; hi = 4.98; pad = 0.05 * 3.98 = 0.199
    const [lo, hi] = (fig.layout.yaxis as { range: number[] }).range;
    expect(lo).toBeCloseTo(1 - 0.199, 12);
    expect(hi).toBeCloseTo(4.98 + 0.199, 12);
    // A range shared with other runs' figures replaces it.
    expect((metricByPositionSliderFigure(rows, { run: "sft", yRange: [0, 12] }).layout.yaxis as { range: number[] }).range).toEqual([0, 12]);
  });
  it("takes chosen steps, without bars or reference, and the first run by default", () => {
    const fig = metricByPositionSliderFigure(rows, { steps: [0, 20, 99], band: false, reference: false, active: 0, metric: "kl" });
    expect(fig.data.map((t) => t.name)).toEqual(["step 0", "step 20"]); // 99 is not a step of the run
    expect(fig.data.map((t) => t.visible)).toEqual([true, false]);
    expect(fig.data[0].error_y).toBeUndefined();
    expect((fig.layout.yaxis as { title: { text: string } }).title.text).toBe("mean kl");
    const [slider] = fig.layout.sliders as Array<{ steps: Array<{ args: [{ visible: boolean[] }] }> }>;
    expect(slider.steps[1].args[0].visible).toEqual([false, true]);
  });
  it("rounds means to 5 significant digits and error bars to 3", () => {
    const fig = metricByPositionSliderFigure([row("sft", 0, 0, 1.23456789, 0.0123456789), row("sft", 1, 0, 2 / 3, null)]);
    expect(fig.data[0].y).toEqual([1.2346]);
    expect((fig.data[0].error_y as { array: number[] }).array).toEqual([0.0242]);
    expect(fig.data[1].y).toEqual([0.66667]);
  });
  it("spreads at most maxSteps checkpoints over a long run", () => {
    const many = Array.from({ length: 100 }, (_, s) => row("sft", s * 10, 0, s, 0.1));
    const fig = metricByPositionSliderFigure(many, { maxSteps: 5 });
    expect(fig.data.map((t) => t.name)).toEqual(["step 0", "step 250", "step 500", "step 740", "step 990", "step 0 (first)"]);
  });
});
