/** Probe sets come from the labels present; a log without `split` means every row. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokenLogs } from "../src/index";
import { labelValues, pickProbeSet, probeSets } from "../src/labels";
import { writeReportFixture } from "./report/fixture";

describe("probe sets", () => {
  it("reads the split values present and picks the preferred one, else the first", async () => {
    const fx = writeReportFixture(mkdtempSync(join(tmpdir(), "aligndepth-labels-")));
    const logs = await loadTokenLogs(fx.tokens, { skipInvalid: true });
    try {
      expect(await probeSets(logs)).toEqual(["benign", "refusal"]);
      expect(await pickProbeSet(logs, ["harmful", "refusal"])).toEqual({ set: "refusal", where: { split: "refusal" }, what: "refusal probes" });
      expect((await pickProbeSet(logs, ["harmful"])).set).toBe("benign");
      expect(await labelValues(logs, "nope")).toEqual([]);
    } finally {
      logs.close();
    }
  });
  it("without a split label: every row", async () => {
    const logs = await loadTokenLogs(join(__dirname, "fixtures", "core", "shard-a.jsonl"));
    try {
      expect(await probeSets(logs)).toEqual([]);
      expect(await pickProbeSet(logs, ["harmful"])).toEqual({ set: null, where: undefined, what: "all probe sequences" });
    } finally {
      logs.close();
    }
  });
});
