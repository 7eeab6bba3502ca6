import { describe, expect, it } from "vitest";
import { attackReach } from "../../src/attacks/reach";
import { AsrRow, wilson } from "../../src/attacks/asr";

const row = (run: string, prefix_len: number, harmful: number, n: number, span_len: number | null = null): AsrRow => ({
  run, attack: "insertion", k: null, prefix_len, span_len, n, harmful, asr: harmful / n, ci: wilson(harmful, n), ci_method: "wilson", examples: n, not_judged: 0,
});

describe("attackReach", () => {
  // Wilson lower bounds at n = 10: 0/10 -> 0, 2/10 -> 0.0567, 3/10 -> 0.1078, 8/10 -> 0.4902.
  const rows = [row("sft", 0, 8, 10), row("sft", 7, 3, 10), row("sft", 21, 2, 10), row("augment", 0, 3, 10), row("augment", 7, 0, 10), row("augment", 21, 0, 10), row("deep", 0, 0, 10)];
  it("finds, per run, the largest prefix_len whose ASR lower bound exceeds the level", () => {
    const r = attackReach(rows, { level: 0.1 });
    expect(r.map((x) => [x.run, x.value, x.harmful, x.n, x.minTested, x.maxTested])).toEqual([
      ["sft", 7, 3, 10, 0, 21],
      ["augment", 0, 3, 10, 0, 21],
      ["deep", null, null, null, 0, 0],
    ]);
    expect(r[0].asr).toBe(0.3);
    expect(r[0].ci![0]).toBeCloseTo(0.1078, 4);
    expect(r[2].ci).toBeNull();
  });
  it("takes the level and the field; a lower level reaches further", () => {
    expect(attackReach(rows, { level: 0.05 })[0].value).toBe(21);
    expect(attackReach(rows, { level: 0.2 }).map((x) => x.value)).toEqual([0, null, null]);
    const spans = [row("sft", 0, 3, 10, 1), row("sft", 0, 8, 10, 8)];
    expect(attackReach(spans, { field: "span_len" })[0]).toMatchObject({ field: "span_len", value: 8, harmful: 8, level: 0.1 });
  });
  it("with several conditions at one value, reports the one with the highest lower bound", () => {
    const r = attackReach([row("sft", 7, 3, 10, 1), row("sft", 7, 8, 10, 4), row("sft", 7, 2, 10, 8)]);
    expect([r[0].value, r[0].harmful, r[0].n]).toEqual([7, 8, 10]);
  });
  it("skips rows without the field", () => {
    expect(attackReach([{ ...row("sft", 0, 1, 1), prefix_len: null, k: 5 }])).toEqual([]);
  });
});
