/**
 * Analyses skip the IS NOT NULL filter only for metrics every file has: a metric that one file lacks
 * is null in that file's rows, and those rows must still be left out.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { concentration, loadTokenLogs, positionProfile, updateProfile } from "../../src/index";

describe("metrics missing from some files", () => {
  it("are filtered per row; metrics in every file are complete", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ad-source-"));
    const a = join(dir, "a.jsonl");
    const b = join(dir, "b.jsonl");
    writeFileSync(a, [`{"run":"r","step":0,"example":"e1","loss":[2,4],"kl":[0,0]}`, `{"run":"r","step":5,"example":"e1","loss":[1,4],"kl":[1,3]}`].join("\n") + "\n");
    writeFileSync(b, [`{"run":"r","step":0,"example":"e2","loss":[3]}`, `{"run":"r","step":5,"example":"e2","loss":[1]}`].join("\n") + "\n");
    const logs = await loadTokenLogs([a, b], { progress: false });
    expect(logs.report.completeMetrics).toEqual(["loss"]);
    const kl = await updateProfile(logs, { metric: "kl" });
    expect(kl.map((r) => [r.position, r.n, r.delta])).toEqual([[0, 1, 1], [1, 1, 3]]);
    const loss = await updateProfile(logs, { metric: "loss" });
    expect(loss.map((r) => [r.position, r.n, r.delta])).toEqual([[0, 2, -1.5], [1, 1, 0]]);
    expect((await positionProfile(logs, { metric: "kl" })).map((r) => r.n)).toEqual([1, 1, 1, 1]);
    expect((await concentration(logs, { metric: "kl", k: 1 }))[0].earlyShare).toBeCloseTo(0.25, 12);
    logs.close();
  });
});
