/**
 * `aligndepth figure`: the figure it draws (figureOf, no Chromium needed) says when its rows do not
 * start at position 0 (METRICS 1.4), the cumulative share carries the 3.3 caveat, the judge options
 * mean what they mean in `attacks` (--scale MIN:MAX, --threshold, --not-judged), the PNG density is
 * --pixel-ratio, and the help texts say so. Writing the files is tested in test/e2e/figure-export.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseArgs } from "../../src/cli/args";
import { figureOf, figureSpec } from "../../src/cli/figure";
import type { Output } from "../../src/cli/output";
import { ABSOLUTE_SHARE_CAVEAT } from "../../src/figures/cumulativeShare";
import { run } from "./run";

const CASES = join(__dirname, "..", "fixtures", "cases");
const PROMPT_KEPT = join(CASES, "prompt-tokens-segment.jsonl");

async function figure(argv: string[]) {
  let stderr = "";
  const out: Output = { json: () => undefined, text: () => undefined, note: (s) => (stderr += `${s}\n`) };
  const fig = await figureOf(parseArgs(figureSpec, argv), out);
  return { fig, stderr, layout: fig.layout as Record<string, any> };
}

describe("aligndepth figure: rows that do not start at position 0 (METRICS 1.4)", () => {
  it("cumulative-share --where segment=response on a log that keeps its prompt tokens: warned on stderr and in the figure, the axis title true", async () => {
    const { fig, stderr, layout } = await figure(["cumulative-share", PROMPT_KEPT, "--where", "segment=response"]);
    // Response tokens: example a at 4..6 (deltas -1.5, -0.1, 0), b at 6..8 (-1.5, -0.1, 0).
    // Mean delta by position: 4: -1.5, 5: -0.1, 6: (0 - 1.5) / 2 = -0.75, 7: -0.1, 8: 0; sum |delta| 2.45.
    expect(fig.data).toHaveLength(1);
    expect(fig.data[0].x).toEqual([4, 5, 6, 7, 8]);
    const cum = fig.data[0].y as number[];
    [1.5 / 2.45, 1.6 / 2.45, 2.35 / 2.45, 1, 1].forEach((v, i) => expect(cum[i]).toBeCloseTo(v, 12));
    expect(stderr).toContain("warning: 2 of 2 examples do not start at position 0 (first position 4) after --where segment=response");
    expect(layout.xaxis.title.text).toBe("token position (as logged; rows start at 4, not 0)");
    expect(layout.title.text).toContain("Not from position 0: 2 of 2 examples start at position 4 or later; load with --span segment=response to re-base");
  });
  it("the same log loaded with --span segment=response starts at 0: no warning, the axis says 0 = first scored token", async () => {
    const { fig, stderr, layout } = await figure(["cumulative-share", PROMPT_KEPT, "--span", "segment=response"]);
    // Re-based: both examples at 0..2 with deltas -1.5, -0.1, 0: cumulative 1.5/1.6, 1, 1.
    expect(fig.data[0].x).toEqual([0, 1, 2]);
    const cum = fig.data[0].y as number[];
    [1.5 / 1.6, 1, 1].forEach((v, i) => expect(cum[i]).toBeCloseTo(v, 12));
    expect(stderr).not.toContain("do not start at position 0");
    expect(layout.xaxis.title.text).toBe("token position (0 = first scored token)");
    expect(layout.title.text).not.toContain("Not from position 0");
  });
  it("by-position and heatmap say it too", async () => {
    for (const name of ["by-position", "heatmap"]) {
      const { stderr, layout } = await figure([name, PROMPT_KEPT, "--where", "segment=response"]);
      expect([name, stderr]).toEqual([name, expect.stringContaining("2 of 2 examples do not start at position 0 (first position 4)")]);
      expect([name, layout.xaxis.title.text]).toEqual([name, "token position (as logged; rows start at 4, not 0)"]);
    }
  });
  it("the cumulative share carries the absolute-share caveat (METRICS 3.3)", async () => {
    const { layout } = await figure(["cumulative-share", PROMPT_KEPT, "--span", "segment=response"]);
    expect(layout.annotations.map((a: { text: string }) => a.text)).toContain(ABSOLUTE_SHARE_CAVEAT);
    expect(ABSOLUTE_SHARE_CAVEAT).toContain("biased toward late positions");
  });
});

describe("aligndepth figure asr-*: judge options as in attacks", () => {
  const dir = mkdtempSync(join(tmpdir(), "aligndepth-figjudge-"));
  // 0:1 scores, k 1 and 2; -1 = could not judge. k 1: scores 1, 0, 1, -1 -> n 3, harmful 2; k 2: 0, 0.4, 1 -> n 3, harmful 1 (threshold 1), 2 (threshold 0.4).
  const file = join(dir, "pj3.jsonl");
  const rows: Array<[number, number, number]> = [[1, 0, 1], [1, 1, 0], [1, 2, 1], [1, 3, -1], [2, 0, 0], [2, 1, 0.4], [2, 2, 1]];
  writeFileSync(file, rows.map(([k, example, score]) => JSON.stringify({ run: "m", attack: "prefill", k, example, score })).join("\n") + "\n");

  it("--scale 0:1 is the judge scale (not the pixel scale); --not-judged=-1 and --threshold as in attacks", async () => {
    const a = await figure(["asr-k", file, "--scale", "0:1", "--not-judged=-1"]);
    expect(a.stderr).toContain("1 record was not judged (score -1): left out of n");
    expect(a.fig.data[0].x).toEqual([1, 2]);
    expect(a.fig.data[0].y).toEqual([2 / 3, 1 / 3]);
    const b = await figure(["asr-k", file, "--scale", "0:1", "--not-judged=-1", "--threshold", "0.4"]);
    expect(b.fig.data[0].y).toEqual([2 / 3, 2 / 3]);
  });
  it("records with greedy and sampled decoding: warned that each point pools them; --where decoding=sampled draws one", async () => {
    // k 1: greedy e0 harmful, e1 not; sampled e0 samples 0, 1 harmful, e1 samples 0, 1 not -> pooled 3 / 6, sampled 2 / 4
    const f = join(dir, "dec.jsonl");
    const recs = [
      { run: "m", attack: "prefill", k: 1, example: 0, harmful: true, decoding: "greedy" },
      { run: "m", attack: "prefill", k: 1, example: 1, harmful: false, decoding: "greedy" },
      ...[0, 1].flatMap((sample) => [{ run: "m", attack: "prefill", k: 1, example: 0, sample, harmful: true, decoding: "sampled" }, { run: "m", attack: "prefill", k: 1, example: 1, sample, harmful: false, decoding: "sampled" }]),
    ];
    writeFileSync(f, recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const pooled = await figure(["asr-k", f]);
    expect(pooled.stderr).toContain("warning: each point pools the records with decoding = greedy, sampled; draw one with --where decoding=greedy");
    const one = await figure(["asr-k", f, "--where", "decoding=sampled"]);
    expect(one.stderr).not.toContain("pools");
    expect(one.fig.data[0].y).toEqual([0.5]);
    await expect(figure(["asr-k", f, "--where", "decoding=beam"])).rejects.toThrow("no attack record matches --where decoding=beam");
  });
  it("asr-heatmap: warned that each cell pools greedy and sampled decoding; --where decoding=greedy draws one", async () => {
    // cell (prefix_len 2, span_len 1): greedy e0 harmful, e1 not (1 / 2); sampled e0, e1 harmful in both samples
    const f = join(dir, "dec-heat.jsonl");
    const recs = [
      { run: "m", attack: "insertion", prefix_len: 2, span_len: 1, example: 0, harmful: true, decoding: "greedy" },
      { run: "m", attack: "insertion", prefix_len: 2, span_len: 1, example: 1, harmful: false, decoding: "greedy" },
      ...[0, 1].flatMap((sample) => [0, 1].map((example) => ({ run: "m", attack: "insertion", prefix_len: 2, span_len: 1, example, sample, harmful: true, decoding: "sampled" }))),
    ];
    writeFileSync(f, recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const pooled = await figure(["asr-heatmap", f]);
    expect(pooled.stderr).toContain("warning: each cell pools the records with decoding = greedy, sampled; draw one with --where decoding=greedy");
    const one = await figure(["asr-heatmap", f, "--where", "decoding=greedy"]);
    expect(one.stderr).not.toContain("pools");
    expect(one.fig.data[0].z).toEqual([[0.5]]);
  });
  it("the pooling warning looks only at the points drawn: other runs, other attacks; and k pooled in a heatmap cell is named", async () => {
    const write = (name: string, recs: object[]) => {
      const f = join(dir, name);
      writeFileSync(f, recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
      return f;
    };
    const cell = (run: string, example: number, extra: object) => ({ run, attack: "insertion", prefix_len: 2, span_len: 1, example, harmful: example === 0, ...extra });
    // run m greedy only, run m2 sampled only: the heatmap of m pools nothing
    const runs = write("pool-runs.jsonl", [cell("m", 0, { decoding: "greedy" }), cell("m", 1, { decoding: "greedy" }), cell("m2", 0, { decoding: "sampled" }), cell("m2", 1, { decoding: "sampled" })]);
    expect((await figure(["asr-heatmap", runs, "--run", "m"])).stderr).not.toContain("pools");
    // prefill records (sampled) are not in the heatmap of the insertion records (greedy)
    const attacks = write("pool-attacks.jsonl", [cell("m", 0, { decoding: "greedy" }), cell("m", 1, { decoding: "greedy" }), { run: "m", attack: "prefill", k: 5, example: 0, harmful: true, decoding: "sampled" }]);
    expect((await figure(["asr-heatmap", attacks])).stderr).not.toContain("pools");
    // one cell holding k 5 and k 10: named, with the --where that draws one
    const ks = write("pool-k.jsonl", [cell("m", 0, { k: 5 }), cell("m", 1, { k: 5 }), cell("m", 0, { k: 10 }), cell("m", 1, { k: 10 })]);
    const pooled = await figure(["asr-heatmap", ks]);
    expect(pooled.stderr).toContain("warning: each cell pools the records with k = 5, 10; draw one with --where k=5");
    expect((await figure(["asr-heatmap", ks, "--where", "k=5"])).stderr).not.toContain("pools");
  });
  it("without --scale the 0:1 file's -1 is refused with the advice to use --scale; a pixel number is a usage error", async () => {
    const r = await run(["figure", "asr-k", file, "--out", join(dir, "x.png")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('field "score": score outside the judge scale 1:5');
    expect(r.stderr).toContain("declare another scale with --scale MIN:MAX");
    const u = await run(["figure", "asr-k", file, "--scale", "2", "--out", join(dir, "x.png")]);
    expect([u.code, u.stderr.trim()]).toEqual([2, 'error: --scale takes MIN:MAX (e.g. 1:5 or 0:1), got "2"']);
    const px = await run(["figure", "asr-k", file, "--pixel-ratio", "0", "--out", join(dir, "x.png")]);
    expect([px.code, px.stderr.trim()]).toEqual([2, "error: figure: --pixel-ratio must be > 0"]);
    const k = await run(["figure", "cumulative-share", PROMPT_KEPT, "--k", "0", "--out", join(dir, "x.png")]);
    expect([k.code, k.stderr.trim()]).toEqual([2, "error: figure: --k must be >= 1"]);
  });
  it("help texts: --scale MIN:MAX and --pixel-ratio on figure; --threshold defaults to the top of the scale everywhere", async () => {
    const h = (await run(["figure", "--help"])).stdout;
    expect(h).toMatch(/--pixel-ratio .*PNG only: image pixels per CSS pixel/);
    expect(h).toMatch(/--scale .*the judge's score scale MIN:MAX/);
    expect(h).toMatch(/--not-judged/);
    for (const c of ["figure", "attacks", "report", "compare"]) {
      const text = (await run([c, "--help"])).stdout;
      const line = text.split("\n").find((l) => /^\s*--threshold\b/.test(l));
      expect([c, line]).toEqual([c, expect.stringContaining("(default: the top of the scale)")]);
      expect([c, /default:? 5\b/.test(line ?? "")]).toEqual([c, false]);
    }
  });
});
