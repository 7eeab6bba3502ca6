/**
 * Selections that select nothing are warned about (stderr and JSON `warnings`), never passed over
 * in silence: a --where value no row has, and --from/--to steps that are not checkpoints.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeReportFixture } from "../report/fixture";
import { run } from "./run";

let tokens = "";
beforeAll(() => {
  tokens = writeReportFixture(mkdtempSync(join(tmpdir(), "aligndepth-warn-"))).tokens;
});

describe("selection warnings", () => {
  it("--where with a value no row has: a warning naming the values present, in text and JSON", async () => {
    const t = await run(["profile", tokens, "--skip-invalid", "--where", "split=refusl"]);
    expect(t.code).toBe(0);
    expect(t.stderr).toContain("warning: --where split=refusl matches no row (split has: benign, refusal)\n");
    const j = await run(["summary", tokens, "--skip-invalid", "--where", "split=refusl", "--bootstrap", "0", "--json"]);
    expect(j.code).toBe(0);
    // summary's JSON (schema 2) always has `warnings`; the selection warnings come first.
    expect(JSON.parse(j.stdout).warnings[0]).toBe("--where split=refusl matches no row (split has: benign, refusal)");
    // A value that exists: no selection warning.
    const ok = await run(["summary", tokens, "--skip-invalid", "--where", "split=refusal", "--bootstrap", "0", "--json"]);
    expect(ok.stderr).not.toContain("matches no row");
    expect(JSON.parse(ok.stdout).warnings.join("\n")).not.toContain("matches no row");
  });
  it("filters that exist one by one but match nothing together", async () => {
    const r = await run(["profile", tokens, "--skip-invalid", "--where", "split=refusal", "--where", "run=nope", "--json"]);
    expect(JSON.parse(r.stdout).warnings).toEqual([expect.stringMatching(/^--where run=nope matches no row \(run has: /)]);
    const both = await run(["profile", tokens, "--skip-invalid", "--where", "split=refusal", "--where", "example=benign-0", "--json"]);
    expect(JSON.parse(both.stdout).warnings).toEqual(["the --where filters together match no row (split=refusal and example=benign-0)"]);
  });
  it("--from / --to steps that are not checkpoints", async () => {
    const r = await run(["summary", tokens, "--skip-invalid", "--from", "3", "--to", "20", "--bootstrap", "0", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).warnings[0]).toBe("--from 3: no run has a checkpoint at step 3, so there is nothing to pair (checkpoints of </script><script>window.__pwned=2</script>: 0, 10, 20)");
    expect(r.stderr).toContain("warning: --from 3: no run has a checkpoint at step 3");
  });
});
