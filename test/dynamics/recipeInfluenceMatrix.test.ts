/** A recipe's mean influence matrix over its seeds, on the hand-made fixture and on ragged grids. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDynamicsLogs } from "../../src/dynamics/load";
import { InfluenceMatrix, influenceMatrices } from "../../src/dynamics/influenceMatrix";
import { recipeInfluenceMatrices } from "../../src/dynamics/recipeInfluenceMatrix";

const dir = join(__dirname, "..", "fixtures", "dynamics");

describe("recipeInfluenceMatrices", () => {
  it("the element-wise mean over the seeds of each (recipe, probe set, step)", async () => {
    const logs = await loadDynamicsLogs(join(dir, "influence-sft.jsonl"));
    const ms = recipeInfluenceMatrices(influenceMatrices(logs.influence), [{ run: "sft-seed1", recipe: "sft" }, { run: "sft-seed2", recipe: "sft" }]);
    expect(ms.map((m) => [m.recipe, m.split, m.step, m.runNames.length])).toEqual([
      ["sft", "harmful", 0, 2],
      ["sft", "harmful", 10, 1],
      ["sft", "refusal", 0, 1],
      ["sft", "refusal", 10, 1],
    ]);
    // seed 2 has only harmful step 0. harmful step 0: seed1 rows [-0.5, -0.125, 0], [-0.25, -0.125, 0], [-0.125, -0.0625, -0.0625]; seed2 [-0.5, -0.5, 0], 0, 0
    expect(Array.from(ms[0].values)).toEqual([-0.5, -0.3125, 0, -0.125, -0.0625, 0, -0.0625, -0.03125, -0.03125]);
    expect(ms[0]).toMatchObject({ run: "sft", positions: [0, 1, 2], sources: [0, 1, 2], missingCells: 0, runNames: ["sft-seed1", "sft-seed2"] });
    // seed 1's harmful step 10 lacks one cell (8 records)
    expect(ms[1].missingCells).toBe(1);
    // a run without a recipe is left out (seed 2 has one matrix: harmful, step 0)
    expect(recipeInfluenceMatrices(influenceMatrices(logs.influence), [{ run: "sft-seed2", recipe: "x" }]).map((m) => [m.recipe, m.runNames])).toEqual([["x", ["sft-seed2"]]]);
  });
  it("ragged grids: the union grid, absent cells count as 0 and are counted per run", () => {
    const a: InfluenceMatrix = { run: "r-seed1", step: 3, split: "s", positions: [0, 1], sources: [0], values: Float64Array.from([2, 4]), missingCells: 0 };
    const b: InfluenceMatrix = { run: "r-seed2", step: 3, split: "s", positions: [1], sources: [0, 1], values: Float64Array.from([6, 8]), missingCells: 0 };
    const [m] = recipeInfluenceMatrices([a, b], [{ run: "r-seed1", recipe: "r" }, { run: "r-seed2", recipe: "r" }]);
    expect(m.positions).toEqual([0, 1]);
    expect(m.sources).toEqual([0, 1]);
    // (0,0): (2 + 0) / 2; (0,1): 0; (1,0): (4 + 6) / 2; (1,1): (0 + 8) / 2; a lacks 2 of 4 cells, b lacks 2
    expect(Array.from(m.values)).toEqual([1, 0, 5, 4]);
    expect(m.missingCells).toBe(4);
  });
});
