/**
 * The report's learning-dynamics section: its figures, table and sentences on the hand-made
 * dynamics fixture (numbers from test/dynamics/statistics.test.ts), escaping of hostile run and
 * probe-set names, and the `report` command with dynamics logs among its inputs (offline: the
 * page holds everything).
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDynamicsLogs } from "../../src/dynamics/load";
import { loadTokenLogs } from "../../src/load";
import { buildReport } from "../../src/report/build";
import { dynamicsHeaderFiles, dynamicsSection } from "../../src/report/dynamicsSection";
import { section } from "../../src/report/sections";
import { main } from "../../src/cli/main";
import type { Output } from "../../src/cli/output";
import { HOSTILE_RUN, writeReportFixture } from "./fixture";

const fixtures = join(__dirname, "..", "fixtures", "dynamics");
const dir = mkdtempSync(join(tmpdir(), "aligndepth-report-dyn-"));
const dynFiles = ["influence-sft.jsonl", "train-gradient-sft.jsonl", "probe-change-sft.jsonl"].map((f) => {
  copyFileSync(join(fixtures, f), join(dir, f));
  return join(dir, f);
});
const markup = (html: string) => html.replace(/<script[^>]*>[\s\S]*?<\/script>/g, "");
/** Text as the page shows it (the entities the escaping writes, decoded). */
const decoded = (html: string) => html.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");

describe("dynamicsSection", () => {
  it("heatmap, S_k figure and the check table with the sentences computed from the fixture", async () => {
    const logs = await loadDynamicsLogs(dynFiles);
    const d = dynamicsSection(logs, { k: 1 });
    expect(d.id).toBe("dynamics");
    expect(d.intro).toContain("2 runs in 1 recipe; probe sets harmful, refusal; shown: the harmful probes");
    expect(d.body).toContain('id="fig-influence-0"');
    expect(d.body).toContain('id="fig-source-early-share"');
    const text = decoded(markup(d.body));
    // describe.test.ts: sft harmful at step 0, S_1 60% across 2 seeds; the check of seed 1 at steps 0 and 10
    expect(text).toContain("sft, harmful probes, step 0: training positions < 1 cause 60% (95% CI across 2 seeds -67% to 187%) of the first-order change of the probe losses (S1)");
    expect(text).toContain("sft, step 10: training positions < 1 carry 25%");
    expect(text).toContain("On the harmful probes, the first-order prediction matches the measured change (median relative L2 error over seeds at most 50%) in 1 of 2 (recipe, step) cells; it fails for sft at step 10 (relative error 100%; 1 of 1 seed checks poor).");
    expect(text).toContain("First-order check over 2 (run, step, probe set) combinations: Pearson r between predicted and measured change across positions median 0.76 (0.76 to 0.76); ratio of sums median 0.50 (0.00 to 1.00); relative L2 error median 62% (24% to 100%).");
    // the table: step 0 of sft, r sqrt(4/7) = 0.756, relative error 0.2357
    expect(text).toMatch(/<td[^>]*>0\.76 \(0\.76 to 0\.76\)<\/td>/);
    expect(text).toContain("0.236 (0.236 to 0.236)");
    // the heatmap is the mean over the seeds: harmful step 0, (p 0, q 1) = (-0.125 - 0.5) / 2
    expect(d.body).toContain("-0.3125");
    // the refusal probes on request
    expect(dynamicsSection(logs, { k: 1, split: "refusal" }).intro).toContain("shown: the refusal probes");
    expect(dynamicsHeaderFiles(logs).map((f) => [f.kind, f.used])).toEqual([["influence log", 44], ["training-gradient log", logs.trainGradient.length], ["probe-change log", logs.probeChange.length]]);
  });

  it("escapes run and probe-set names from the logs", async () => {
    const hostileSplit = `<img src=x onerror="window.__pwned=1">`;
    const lines = readFileSync(dynFiles[0], "utf8").trim().split("\n").map((l) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify({ ...r, run: r.run === "sft-seed1" ? `${HOSTILE_RUN}-seed1` : r.run, split: r.split === "harmful" ? hostileSplit : r.split });
    });
    const file = join(dir, "influence-hostile.jsonl");
    writeFileSync(file, lines.join("\n") + "\n");
    const d = dynamicsSection(await loadDynamicsLogs(file), { k: 1, split: hostileSplit });
    const html = section(d.id, d.title, d.intro, d.body);
    expect(markup(html)).not.toContain("<img");
    expect(markup(html)).not.toContain("<script");
    expect(decoded(markup(html))).toContain(`shown: the ${hostileSplit} probes`);
    // inside the figures' JSON no "</script" can close the script element
    expect(d.body.match(/<\/script>/g)?.length).toBe(d.body.match(/<script/g)?.length);
    expect(decoded(markup(d.body))).toContain(`${HOSTILE_RUN}, ${hostileSplit} probes, step 0`);
  });

  it("buildReport adds the section and lists the dynamics files; without them there is none", { timeout: 60_000 }, async () => {
    const fx = writeReportFixture(join(dir, "report"));
    const logs = await loadTokenLogs(fx.tokens, { skipInvalid: true });
    try {
      const dynamics = await loadDynamicsLogs(dynFiles);
      const html = await buildReport(logs, null, { bootstrap: 20, dynamics });
      expect(html).toContain('<section id="dynamics">');
      expect(html).toContain('href="#dynamics"');
      expect(html).toContain("influence-sft.jsonl");
      expect(html).toContain("training-gradient log");
      expect(await buildReport(logs, null, { bootstrap: 20 })).not.toContain('<section id="dynamics">');
    } finally {
      logs.close();
    }
  });

  it("aligndepth report: dynamics logs among FILES or with --dynamics", { timeout: 120_000 }, async () => {
    const fx = writeReportFixture(join(dir, "cli"));
    let stderr = "";
    const out: Output = { json: () => undefined, text: () => undefined, note: (s) => (stderr += `${s}\n`) };
    const a = join(dir, "a.html");
    const b = join(dir, "b.html");
    expect(await main(["report", fx.tokens, ...dynFiles, "--skip-invalid", "--bootstrap", "20", "--out", a], out)).toBe(0);
    expect(await main(["report", fx.tokens, "--dynamics", dynFiles[0], "--dynamics", dynFiles[1], "--dynamics", dynFiles[2], "--skip-invalid", "--bootstrap", "20", "--out", b], out)).toBe(0);
    const [ha, hb] = [a, b].map((f) => readFileSync(f, "utf8"));
    expect(ha).toBe(hb);
    expect(ha).toContain('<section id="dynamics">');
    expect(ha).toContain("Source early share S5 over training, harmful probes");
    expect(stderr).not.toMatch(/error/i);
  });
});
