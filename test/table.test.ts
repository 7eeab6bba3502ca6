/** Text tables fit 100 columns: intervals move to a second table, then wide parts wrap, keys repeated. */
import { describe, expect, it } from "vitest";
import { textTable } from "../src/table";

const row = (run: string, es: number) => ({
  run, from: 0, to: 400, examples: 192, positions: 23, tokens: 8704, early_share: es, d50: 1, d90: 3,
  ci: { early_share: [es - 0.05, es + 0.02] as [number, number], d50: [1, 1] as [number, number], d90: [1, 10] as [number, number] },
});

describe("textTable", () => {
  it("keeps a narrow table whole", () => {
    expect(textTable([{ run: "a", n: 1 }])).toBe("run  n\n---  -\na    1");
  });
  it("moves interval columns of a wide table into a second table, each interval as 'lo to hi'", () => {
    const t = textTable([row("sft", 0.9138), row("worst_insertion", 0.2791)]);
    for (const l of t.split("\n")) expect(l.length).toBeLessThanOrEqual(100);
    const [main, iv] = t.split("\n\n");
    expect(main.split("\n")[0]).toBe("run              from   to  examples  positions  tokens  early_share  d50  d90");
    expect(iv.split("\n")).toEqual([
      "intervals (lo to hi):",
      "run                ci_early_share  ci_d50   ci_d90",
      "---------------  ----------------  ------  -------",
      "sft              0.8638 to 0.9338  1 to 1  1 to 10",
      "worst_insertion  0.2291 to 0.2991  1 to 1  1 to 10",
    ]);
  });
  it("wraps a table still too wide into blocks that repeat the key columns", () => {
    const wide = [{ run: "r", step: 5, ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`metric_number_${i}`, i + 0.5])) }];
    const parts = textTable(wide).split("\n\n");
    expect(parts.length).toBe(3);
    for (const p of parts) {
      expect(p.startsWith("run  step  metric_number_")).toBe(true);
      for (const l of p.split("\n")) expect(l.length).toBeLessThanOrEqual(100);
    }
    expect(parts.join("\n").match(/metric_number_\d+/g)).toHaveLength(12); // every column once
    expect(textTable(wide, undefined, { maxWidth: 1000 }).split("\n")).toHaveLength(3);
  });
});
