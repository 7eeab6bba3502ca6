/** Attack figures: traces, error bars from Wilson intervals, the heatmap and its dropdown. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { asrByK, asrByPrefixLen, asrBySpanLen, asrTable2d } from "../../src/attacks/asr";
import { loadAttackResults } from "../../src/attacks/load";
import { asrByKFigure, asrByPrefixLenFigure, asrBySpanLenFigure, asrHeatmapFigure, mostInformativeTable } from "../../src/figures/attacks";

const fx = (name: string) => join(__dirname, "..", "fixtures", "attacks", name);

describe("attack figures", () => {
  it("ASR by k: one line per run, asymmetric Wilson error bars", async () => {
    const { records } = await loadAttackResults(fx("results.jsonl"));
    const fig = asrByKFigure(asrByK(records));
    expect(fig.data.map((t) => t.name)).toEqual(["augment", "sft"]);
    const sft = fig.data[1] as { x: number[]; y: number[]; customdata: unknown[][]; error_y: { array: number[]; arrayminus: number[] } };
    // Two runs dodged by +-0.3 * 5 / 2 = 0.75 around the true k (the hover shows the true k).
    expect(sft.x).toEqual([5.75, 10.75]);
    expect(fig.data[0].x).toEqual([4.25]); // augment has k = 5 only
    expect(sft.customdata.map((c) => c[4])).toEqual([5, 10]);
    expect(asrByKFigure(asrByK(records), { dodge: 0 }).data[1].x).toEqual([5, 10]);
    expect(sft.y[1]).toBeCloseTo(2 / 3, 12);
    // 2/3: Wilson [0.207660, 0.938508] -> +0.271841, -0.459007
    expect(sft.error_y.array[1]).toBeCloseTo(0.938508 - 2 / 3, 5);
    expect(sft.error_y.arrayminus[1]).toBeCloseTo(2 / 3 - 0.20766, 5);
    expect((fig.layout.xaxis as { tickvals: number[] }).tickvals).toEqual([5, 10]);
    expect(JSON.parse(JSON.stringify(fig))).toEqual(fig);
  });
  it("the y axis and hover name the interval method the rows used (Wilson, or the cluster bootstrap)", async () => {
    const { records } = await loadAttackResults(fx("results.jsonl"));
    const fig = asrByKFigure(asrByK(records));
    expect((fig.layout.yaxis as { title: { text: string } }).title.text).toBe("attack success rate (95% CI: Wilson)");
    expect((fig.data[1] as { customdata: unknown[][] }).customdata[0][5]).toBe("Wilson");
    // two samples per example: e1 [harmful, not], e2 [not, not]: 1/4, the cluster bootstrap
    const rec = (example: string, sample: number, harmful: boolean) => ({ run: "sft", attack: "prefill", example, sample, k: 5, prefix_len: null, span_len: null, conditions: {}, harmful, score: null, file: "mem", line: 1 });
    const sampled = asrByK([rec("e1", 0, true), rec("e1", 1, false), rec("e2", 0, false), rec("e2", 1, false), ...records.filter((r) => r.run === "augment")]);
    const mixed = asrByKFigure(sampled);
    expect((mixed.layout.yaxis as { title: { text: string } }).title.text).toBe("attack success rate (95% CI: Wilson, cluster bootstrap)");
    const faceted = asrByKFigure(sampled.filter((r) => r.run === "sft"), { facets: true });
    expect((faceted.layout.yaxis as { title: { text: string } }).title.text).toBe("ASR (95% CI: cluster bootstrap)");
  });
  it("ASR by k with more than 2 runs: one panel per run on one y axis, nothing drawn on top of another", () => {
    const row = (run: string, k: number, asr: number) => ({ run, attack: "prefill", k, prefix_len: null, span_len: null, n: 10, harmful: asr * 10, asr, ci: [Math.max(0, asr - 0.2), Math.min(1, asr + 0.2)] as [number, number] });
    const rows = ["sft", "augment", "base", "worst"].flatMap((run) => [row(run, 0, 0), row(run, 1, run === "augment" ? 0 : 1)]);
    const fig = asrByKFigure(rows);
    // Panels in name order: augment, base, sft, worst.
    expect(fig.data.map((t) => [t.name, t.xaxis, t.yaxis])).toEqual([["sft", "x3", "y3"], ["augment", "x", "y"], ["base", "x2", "y2"], ["worst", "x4", "y4"]]);
    // 2 x 2 grid, every panel on [-0.04, 1.04], the true k (no dodge with one series per panel).
    for (const ax of ["yaxis", "yaxis2", "yaxis3", "yaxis4"]) expect((fig.layout[ax] as { range: number[] }).range).toEqual([-0.04, 1.04]);
    expect((fig.layout.xaxis2 as { domain: number[] }).domain[0]).toBeCloseTo(0.52, 12);
    expect(fig.data[0].x).toEqual([0, 1]);
    expect((fig.layout.annotations as Array<{ text: string }>).map((a) => a.text)).toEqual(["<b>augment</b>", "<b>base</b>", "<b>sft</b>", "<b>worst</b>"]);
    expect(asrByKFigure(rows, { facets: false }).layout.xaxis2).toBeUndefined();
  });
  it("ASR by prefix_len and by span_len", async () => {
    const { records } = await loadAttackResults(fx("results.jsonl"));
    const p = asrByPrefixLenFigure(asrByPrefixLen(records));
    expect(p.data).toHaveLength(1);
    expect(p.data[0]).toMatchObject({ name: "sft", x: [0, 2] });
    expect((p.data[0].y as number[]).map((v) => +v.toFixed(6))).toEqual([0.666667, 0.333333]);
    const s = asrBySpanLenFigure(asrBySpanLen(records));
    expect(s.data[0]).toMatchObject({ x: [2, 4], y: [0.6, 0] });
    expect((s.data[0].error_y as { arrayminus: number[] }).arrayminus[1]).toBe(0);
  });
  it("heatmap: prefix_len rows x span_len columns, dropdown over runs", async () => {
    const { records } = await loadAttackResults(fx("results.jsonl"));
    const extra = records.filter((r) => r.attack === "insertion").map((r) => ({ ...r, run: "augment", harmful: false }));
    const tables = asrTable2d([...records, ...extra]);
    const fig = asrHeatmapFigure(tables, { run: "sft" });
    expect(fig.data.map((t) => [t.name, t.visible])).toEqual([["augment", false], ["sft", true]]);
    expect(fig.data[1]).toMatchObject({ type: "heatmap", x: ["2", "4"], y: ["0", "2"], z: [[1, 0], [1 / 3, null]], zmin: 0, zmax: 1 });
    const menu = (fig.layout.updatemenus as Array<{ active: number; buttons: Array<{ label: string; args: unknown[] }> }>)[0];
    expect(menu.active).toBe(1);
    expect(menu.buttons.map((b) => b.label)).toEqual(["augment", "sft"]);
    expect(menu.buttons[0].args[0]).toEqual({ visible: [true, false] });
    expect(asrHeatmapFigure(tables.slice(1)).layout.updatemenus).toBeUndefined();
    // Without a run it opens on the most varied table: augment is all 0 (variance 0), sft is not.
    expect(mostInformativeTable(tables)).toBe(1);
    expect(asrHeatmapFigure(tables).data.map((t) => t.visible)).toEqual([false, true]);
  });
});

describe("ASR against another condition field", () => {
  it("ft_step from the rows' other conditions: x values, hover, axis title", async () => {
    const { attackSuccess } = await import("../../src/attacks/asr");
    const { asrLineFigure } = await import("../../src/figures/attacks");
    const rec = (example: number, ft: number, harmful: boolean) => ({ run: "r", attack: "finetune", example, sample: null, k: null, prefix_len: null, span_len: null, conditions: { ft_step: ft }, harmful, score: null, file: "m", line: 1 });
    const rows = attackSuccess([rec(0, 0, false), rec(1, 0, false), rec(0, 5, true), rec(1, 5, false)], { by: ["ft_step"] });
    const fig = asrLineFigure(rows, "ft_step", { dodge: 0 });
    expect(fig.data).toHaveLength(1);
    expect(fig.data[0].x).toEqual([0, 5]);
    expect(fig.data[0].y).toEqual([0, 0.5]);
    expect((fig.data[0].customdata as unknown[][]).map((c) => c[4])).toEqual([0, 5]);
    expect((fig.layout.xaxis as { title: { text: string } }).title.text).toBe("fine-tuning attack steps (ft_step)");
  });
});
