import { describe, expect, it } from "vitest";
import { profileOverlayFigure } from "../../src/figures/profileOverlay";
import type { PositionProfileRow } from "../../src/stats/positionProfile";

const row = (run: string, step: number, position: number, mean: number, se: number | null): PositionProfileRow => ({ run, step, position, n: 3, mean, sd: se === null ? null : se * Math.sqrt(3), se });

describe("profileOverlayFigure", () => {
  const rows = [
    row("sft", 10, 1, 0.1, 0.05), row("sft", 10, 0, 0.8, 0.1), row("sft", 0, 0, 0, 0),
    row("augment", 20, 0, 0.5, null), row("augment", 20, 1, 0.5, null),
  ];
  it("draws one line per series, only that (run, step), positions in order, with a se band", () => {
    const fig = profileOverlayFigure(rows, [{ run: "sft", step: 10, label: "standard" }, { run: "augment", step: 20 }], { metric: "kl" });
    const lines = fig.data.filter((t) => t.mode === "lines+markers");
    expect(lines.map((t) => [t.name, t.x, t.y])).toEqual([["standard", [0, 1], [0.8, 0.1]], ["augment, step 20", [0, 1], [0.5, 0.5]]]);
    const band = fig.data[0] as { fill: string; x: number[]; y: number[] };
    expect(band.fill).toBe("toself");
    expect(band.x).toEqual([0, 1, 1, 0]);
    expect(band.y[0]).toBeCloseTo(0.8 + 1.96 * 0.1, 12);
    expect(band.y[3]).toBeCloseTo(0.8 - 1.96 * 0.1, 12);
    expect(fig.data).toHaveLength(3); // no band without se
    expect((fig.layout.yaxis as { title: { text: string } }).title.text).toBe("mean kl");
  });
  it("overlays two steps of one run, without bands, on a log axis", () => {
    const fig = profileOverlayFigure(rows, [{ run: "sft", step: 0 }, { run: "sft", step: 10 }], { metric: "grad_norm_l3", band: false, logY: true });
    expect(fig.data.map((t) => t.name)).toEqual(["sft, step 0", "sft, step 10"]);
    expect((fig.layout.yaxis as { type: string }).type).toBe("log");
  });
});
