import { describe, expect, it } from "vitest";
import { compareRunsFigure } from "../../src/figures/compareRuns";
import type { RunComparison } from "../../src/stats/compare";

const base = (run: string, es: number, d90: number): RunComparison => ({
  run, split: "refusal", from: 0, to: 10, examples: 2, early_share: es, d50: 1, d90,
  ci: { early_share: [es - 0.1, es + 0.05], d50: [1, 1], d90: [d90 - 1, d90] },
  final_step: 10, final_loss: { refusal: 1.5, harmful: 2 }, asr: {},
});

describe("compareRunsFigure", () => {
  it("draws one panel per quantity with runs on x and interval bars", () => {
    const rows = [base("sft", 0.8, 2), { ...base("augment", 0.3, 3), asr: { prefill: { attack: "prefill", condition: "k=10", conditions: 1, n: 3, harmful: 1, asr: 1 / 3, ci: [0.0615, 0.7923] as [number, number] } } }];
    const fig = compareRunsFigure(rows, { k: 5 });
    expect(fig.data.map((t) => t.name)).toEqual([
      "early share E5: E_k", "depth (positions): d50", "depth (positions): d90",
      "final loss: harmful", "final loss: refusal", "attack success rate: prefill",
      // legend: the runs in their colours, then the series' symbols
      "sft", "augment", "depth (positions): d50", "depth (positions): d90", "final loss: harmful", "final loss: refusal",
    ]);
    // Each point has its run's colour (runColors over {augment, sft}: augment blue, sft vermillion).
    expect((fig.data[0].marker as { color: string[] }).color).toEqual(["#D55E00", "#0072B2"]);
    expect((fig.data[6].marker as { color: string }).color).toBe("#D55E00");
    expect(fig.data.slice(0, 6).every((t) => t.showlegend === false)).toBe(true);
    const es = fig.data[0] as { x: number[]; y: number[]; xaxis: string; error_y: { array: number[]; arrayminus: number[] } };
    expect(es.x).toEqual([0, 1]);
    expect(es.y).toEqual([0.8, 0.3]);
    expect(es.error_y.array[0]).toBeCloseTo(0.05, 12);
    expect(es.error_y.arrayminus[0]).toBeCloseTo(0.1, 12);
    expect(fig.data[5]).toMatchObject({ xaxis: "x4", yaxis: "y4", y: [null, 1 / 3] });
    expect(fig.layout.xaxis4).toMatchObject({ ticktext: ["sft", "augment"], tickvals: [0, 1] });
    expect((fig.data[1].x as number[])[0]).toBeCloseTo(-0.075, 12); // d50 and d90 side by side
    expect(fig.data[3].error_y).toBeUndefined();
  });
  it("leaves out the ASR panel without attack results", () => {
    const fig = compareRunsFigure([base("sft", 0.8, 2)]);
    expect(fig.layout.xaxis4).toBeUndefined();
    expect(fig.layout.xaxis3).toBeDefined();
  });
});
