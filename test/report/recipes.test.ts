/**
 * The report with replicate runs (METRICS.md 3.7): recipes in the tables and sentences (seed means
 * checked by hand), per-run lines coloured by recipe, attack curves per decoding (never pooled),
 * the fine-tuning attack over ft_step, and the gradient-norm sentence.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokenLogs } from "../../src/load";
import { loadAttackResults } from "../../src/attacks/load";
import { buildReport } from "../../src/report/build";

/** Text of the report page without scripts and tags. */
function pageText(html: string): string {
  return html.replace(/<script[\s\S]*?<\/script>/g, "").replace(/<[^>]+>/g, " ").replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, "&").replace(/\s+/g, " ");
}

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), "report-recipes-"));
  // Deltas per position (step 0 -> 10) for both examples: N1 = delta(0) / (delta(0) + delta(1)).
  const deltas: Record<string, [number, number]> = { "a-seed1": [-1, 0], "a-seed2": [-1, -1], "b-seed1": [0, -1], "b-seed2": [-0.5, -0.5] };
  const lines: string[] = [];
  for (const [run, d] of Object.entries(deltas))
    for (const example of ["e1", "e2"]) {
      lines.push(JSON.stringify({ run, step: 0, example, split: "harmful", loss: [2, 2] }));
      lines.push(JSON.stringify({ run, step: 10, example, split: "harmful", loss: [2 + d[0], 2 + d[1]] }));
    }
  const tokens = join(dir, "tokens.jsonl");
  writeFileSync(tokens, lines.join("\n") + "\n");
  const rec = (run: string, example: string, harmful: boolean, extra: object) => JSON.stringify({ run, attack: "prefill", example, k: 1, harmful, ...extra });
  const attacks = join(dir, "attacks.jsonl");
  writeFileSync(
    attacks,
    [
      // greedy: a-seed1 1/2, a-seed2 2/2 -> recipe a 0.75
      rec("a-seed1", "p1", true, { decoding: "greedy" }), rec("a-seed1", "p2", false, { decoding: "greedy" }),
      rec("a-seed2", "p1", true, { decoding: "greedy" }), rec("a-seed2", "p2", true, { decoding: "greedy" }),
      // sampled (2 samples): a-seed1 1/4, a-seed2 3/4 -> recipe a 0.5
      rec("a-seed1", "p1", true, { decoding: "sampled", sample: 0 }), rec("a-seed1", "p1", false, { decoding: "sampled", sample: 1 }),
      rec("a-seed1", "p2", false, { decoding: "sampled", sample: 0 }), rec("a-seed1", "p2", false, { decoding: "sampled", sample: 1 }),
      rec("a-seed2", "p1", true, { decoding: "sampled", sample: 0 }), rec("a-seed2", "p1", true, { decoding: "sampled", sample: 1 }),
      rec("a-seed2", "p2", true, { decoding: "sampled", sample: 0 }), rec("a-seed2", "p2", false, { decoding: "sampled", sample: 1 }),
      // fine-tuning attack: a-finetune-seed1 0/2 at step 0, 2/2 at step 5
      JSON.stringify({ run: "a-finetune-seed1", attack: "finetune", example: "p1", ft_step: 0, decoding: "greedy", harmful: false }),
      JSON.stringify({ run: "a-finetune-seed1", attack: "finetune", example: "p2", ft_step: 0, decoding: "greedy", harmful: false }),
      JSON.stringify({ run: "a-finetune-seed1", attack: "finetune", example: "p1", ft_step: 5, decoding: "greedy", harmful: true }),
      JSON.stringify({ run: "a-finetune-seed1", attack: "finetune", example: "p2", ft_step: 5, decoding: "greedy", harmful: true }),
    ].join("\n") + "\n",
  );
  return { tokens, attacks };
}

describe("buildReport with replicate runs", () => {
  it("shows recipes: seed means in the table and sentences, attacks per decoding, ft_step", async () => {
    const fx = fixture();
    const logs = await loadTokenLogs(fx.tokens);
    const attacks = await loadAttackResults(fx.attacks);
    try {
      const html = await buildReport(logs, attacks, { k: 1, bootstrap: 200, seed: 0, recipePattern: "^(?<recipe>.+)-seed\\d+$" });
      const text = pageText(html);
      expect(text).toContain("Recipe comparison: where each update concentrates");
      // a: N1 = mean(1, 0.5) = 0.75; b: mean(0, 0.5) = 0.25
      expect(text).toContain("a (2 runs, harmful probes): the first 1 positions carry 75% of the net change in loss on average");
      expect(text).toContain("b (2 runs, harmful probes): the first 1 positions carry 25% of the net change in loss on average");
      expect(text).toContain("The most and the least front-loaded recipes: a (2 runs) against b (2 runs), harmful probes: N1 differs by +0.500");
      expect(text).toContain("Every run (4 rows)");
      // attacks: greedy 0.75 and sampled 0.5 for recipe a, never pooled (pooled would be 9/12 = 75% ... of records, 0.625 of runs)
      expect(text).toContain("greedy: a (prefill): ASR 75% at k = 1");
      expect(text).toContain("sampled: a (prefill): ASR 50% at k = 1");
      expect(text).toContain("a-finetune (finetune): ASR 0% at ft_step = 0");
      expect(text).toContain("100% at ft_step = 5");
      expect(text).toContain("Greedy and sampled decoding are shown apart, never pooled.");
      // one hue per recipe: both seeds of a are drawn in a's colour
      const colorOf = (run: string) => new RegExp(`"name":"${run}"[^}]*?"color":"(#[0-9a-fA-F]{6})"`).exec(html)?.[1];
      expect(colorOf("a-seed1")).toBeDefined();
      expect(colorOf("a-seed1")).toBe(colorOf("a-seed2"));
      expect(colorOf("a-seed1")).not.toBe(colorOf("b-seed1"));
    } finally {
      logs.close();
    }
  });
});
