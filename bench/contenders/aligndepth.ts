/** Contender: aligndepth's public API, as a notebook would call it. */
import { concentration, loadTokenLogs, massByRun, positionProfile, updateProfile, summary, updateByStep, metricByPositionFigure, updateHeatmapFigure, cumulativeShareFigure, earlyShareFigure, figureBundle, plotlyScript } from "../../src/index";
import { pairsSql } from "../../src/stats/updateProfile";
import { bootstrapMass, groupDiffs } from "../../src/stats/bootstrap";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Answers, ChildResult, K, emit, profileKey, readManifest, timed, vmHwm } from "./common";

async function main(): Promise<void> {
  const [manifestPath, ...flags] = process.argv.slice(2);
  const m = readManifest(manifestPath);
  const times: Record<string, number> = {};
  const answers: Answers = {};
  const extra: Record<string, unknown> = {};
  const flag = (k: string) => {
    const i = flags.indexOf(`--${k}`);
    return i >= 0 ? flags[i + 1] : undefined;
  };
  // The validation cache: --cold empties it first (a first load, which writes it); --warm loads with
  // it filled (an untimed load first if it is empty), as a researcher reopening a notebook would.
  const cacheDir = flag("cache");
  if (cacheDir) {
    process.env.ALIGNDEPTH_CACHE_DIR = cacheDir;
    if (flags.includes("--cold")) rmSync(cacheDir, { recursive: true, force: true });
    if (flags.includes("--warm") && !existsSync(join(cacheDir, "validation"))) (await loadTokenLogs(m.files, { progress: false })).close();
  }
  const tasks = (flag("tasks") ?? "profile,update,concentration").split(",");
  const logs = await timed(times, "load", () => loadTokenLogs(m.files, { progress: false }));
  for (const [stage, s] of Object.entries(logs.report.seconds ?? {})) times[`stage_${stage}`] = s;
  times.cache_hits = logs.report.cache?.hits ?? 0;
  const t0 = times.load;
  const profile = await timed(times, "profile", () => positionProfile(logs, { metric: "loss" }));
  times.load_profile = t0 + times.profile;
  answers.profile = Object.fromEntries(profile.map((r) => [profileKey(r.run, r.step, r.position), [r.n, r.mean, r.sd]]));
  if (tasks.includes("summary")) {
    // The per-run summary with 1000 bootstrap replicates (the 10^9-row workload's second task).
    const s = await timed(times, "summary", () => summary(logs, { metric: "loss", k: K, bootstrap: 1000, seed: 0 }));
    extra.summary = s.map((r) => ({ run: r.run, examples: r.examples, positions: r.positions, early_share: r.early_share, ci: r.ci.early_share }));
  }
  if (!tasks.includes("update")) {
    logs.close();
    emit({ contender: "aligndepth", workload: m.spec.name, times, answers, peakRss: vmHwm(), extra });
    return;
  }
  const { up, masses } = await timed(times, "update", async () => {
    const up = await updateProfile(logs, { metric: "loss" });
    return { up, masses: massByRun(up, { k: K }) };
  });
  const bounds = new Map(up.map((r) => [r.run, [r.from, r.to]]));
  answers.mass = Object.fromEntries(masses.map(({ run, mass }) => [run, { earlyShare: mass.earlyShare, d50: mass.d50, d90: mass.d90, from: bounds.get(run)![0], to: bounds.get(run)![1] }]));
  const conc = await timed(times, "concentration", () => concentration(logs, { metric: "loss", k: K }));
  answers.concentration = Object.fromEntries(conc.map((r) => [`${r.run}|${r.step}`, r.earlyShare]));
  if (flags.includes("--extras")) {
    // The per-run summary with 1000 bootstrap replicates (the notebook's first table).
    const s = await timed(times, "summary_bootstrap", () => summary(logs, { metric: "loss", k: K, bootstrap: 1000, seed: 0 }));
    extra.summary = s.map((r) => ({ run: r.run, examples: r.examples, positions: r.positions, early_share: r.early_share, ci: r.ci.early_share }));
    // The bootstrap alone: 1000 replicates over the examples of the first run (10,000 at full scale).
    const run = (await logs.runs())[0];
    const { sql, params } = pairsSql(logs, { metric: "loss", runs: [run] });
    const cols = await logs.engine.columns(`${sql} SELECT example, "position", diff FROM pairs ORDER BY example, "position"`, params);
    const diffs = groupDiffs(cols.example as string[], cols.position as number[], cols.diff as number[]);
    await timed(times, "bootstrap", () => bootstrapMass(diffs, { replicates: 1000, seed: 0, k: K }));
    Object.assign(extra, { bootstrapRun: run, bootstrapReplicates: 1000, bootstrapExamples: diffs.offsets.length - 1, bootstrapPairs: diffs.diffs.length });
    // Notebook-like output: the four core figures as the notebook shows them (JSON + HTML + text per output).
    const byStep = await updateByStep(logs, { metric: "loss" });
    const figs = [
      ...(await logs.runs()).map((run) => metricByPositionFigure(profile, { run, metric: "loss" })),
      updateHeatmapFigure(byStep, { metric: "loss" }),
      cumulativeShareFigure(massByRun(up, { k: K }), { metric: "loss" }),
      earlyShareFigure(conc, { k: K, metric: "loss" }),
    ];
    const outputs = figs.map((f) => JSON.stringify(figureBundle(f)));
    extra.figures = figs.length;
    extra.figureBytes = outputs.reduce((a, s) => a + Buffer.byteLength(s), 0);
    extra.figureJsonBytes = figs.reduce((a, f) => a + Buffer.byteLength(JSON.stringify(f)), 0);
    extra.plotlyBytes = Buffer.byteLength(plotlyScript());
  }
  logs.close();
  const r: ChildResult = { contender: "aligndepth", workload: m.spec.name, times, answers, peakRss: vmHwm(), extra };
  emit(r);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
