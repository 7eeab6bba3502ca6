/**
 * `npm run coverage`: runs the coverage study (study.ts) and writes COVERAGE.md.
 * Options: --datasets N (default 2000 per scenario), --B N (default 1000 replicates; 2000 for ASR),
 * --seed N (default 1), --out FILE (default COVERAGE.md), --only NAME (one scenario), --jobs N (worker
 * threads, default the number of cores, at most 4): each scenario runs in one worker.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { wilson } from "../src/index";
import { ASR_SCENARIOS, CoverageCell, K, SCENARIOS, STUDIED, ScenarioResult, asrCoverage, coverage } from "./study";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : def;
}
const datasets = Number(arg("datasets", "2000"));
const B = Number(arg("B", "1000"));
const seed = Number(arg("seed", "1"));
const out = arg("out", "COVERAGE.md");
const only = arg("only", "");

const f3 = (x: number) => x.toFixed(3);
function cellText(c: CoverageCell): { text: string; lo: number; hi: number; cov: number } {
  if (c.n === 0) return { text: `no interval (${c.none})`, lo: NaN, hi: NaN, cov: NaN };
  const [lo, hi] = wilson(c.covered, c.n)!;
  const cov = c.covered / c.n;
  return { text: `${f3(cov)} [${f3(lo)}, ${f3(hi)}]${c.none ? `, ${c.none} without` : ""}; width ${f3(c.width)}`, lo, hi, cov };
}
/** Target 0.92-0.98, judged on the Wilson interval of the observed coverage. */
function verdict(lo: number, hi: number, cov: number): string {
  if (Number.isNaN(cov)) return "n/a";
  if (hi < 0.92) return "MISS (under)";
  if (lo > 0.98) return "MISS (over)";
  if (cov >= 0.92 && cov <= 0.98) return "met";
  return "unclear";
}

type Task = { kind: "update" | "asr"; name: string };
type Done = { task: Task; result: ScenarioResult | ReturnType<typeof asrCoverage> };

function runTask(t: Task): Done["result"] {
  if (t.kind === "update") return coverage(SCENARIOS.find((s) => s.name === t.name)!, { datasets, B, seed });
  return asrCoverage(ASR_SCENARIOS.find((s) => s.name === t.name)!, { datasets, B: 2000, seed });
}

if (!isMainThread) {
  parentPort!.postMessage(runTask(workerData as Task));
} else void mainThread();

async function mainThread(): Promise<void> {
const t0 = Date.now();
const tasks: Task[] = [
  ...SCENARIOS.filter((s) => !only || s.name === only).map((s) => ({ kind: "update" as const, name: s.name })),
  ...ASR_SCENARIOS.filter((s) => !only || s.name === only).map((s) => ({ kind: "asr" as const, name: s.name })),
];
// Slowest first (seeds), so that the workers finish together.
tasks.sort((a, b) => Number(b.name.startsWith("seeds")) - Number(a.name.startsWith("seeds")));
const jobs = Math.max(1, Number(arg("jobs", String(Math.min(4, cpus().length)))));
const done = new Map<string, Done["result"]>();
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      const result = await new Promise<Done["result"]>((resolve, reject) => {
        const w = new Worker(__filename, { workerData: task, argv: process.argv.slice(2) });
        w.once("message", resolve);
        w.once("error", reject);
      });
      done.set(task.name, result);
      process.stderr.write(`${task.name}: ${result.seconds.toFixed(0)} s\n`);
    }
  }),
);
const results = SCENARIOS.filter((s) => done.has(s.name)).map((s) => done.get(s.name) as ScenarioResult);
const asr = ASR_SCENARIOS.filter((s) => done.has(s.name)).map((s) => done.get(s.name) as ReturnType<typeof asrCoverage>);
const seconds = (Date.now() - t0) / 1000;

const lines: string[] = [
  "# Coverage of the kit's 95% intervals",
  "",
  `Written by \`npm run coverage\` (coverage/main.ts; the simulations are in coverage/study.ts). ${datasets} simulated datasets per scenario, ` +
    `B = ${B} bootstrap replicates per dataset (2000 for ASR), seed ${seed}; runtime ${(seconds / 60).toFixed(1)} min on ${cpus().length} cores (${jobs} worker threads, one scenario each; the cores were shared with other work when this file was written). ` +
    `Rerun with \`npm run coverage\` (options: \`-- --datasets N --B N --seed N --only SCENARIO\`).`,
  "",
  "Each cell: observed coverage [95% Wilson interval of the coverage]; mean interval width. " +
    "Target for the BCa interval of N_k (METRICS.md 3.6): coverage between 0.92 and 0.98, judged on the Wilson interval: " +
    "**met** when the observed coverage lies in [0.92, 0.98], **MISS** when the whole Wilson interval lies outside, **unclear** otherwise. " +
    `k = ${K}. The truth is the statistic of the true profile (for seeds: its mean over seeds).`,
  "",
  "## One run: N_k, z90 and E_k (absolute share) by interval method",
  "",
];
for (const r of results.filter((x) => (x.scenario.runs ?? 1) === 1)) {
  const sc = r.scenario;
  lines.push(`### ${sc.name}`, "", `${sc.description}; example effect tau ${sc.tau}. Truth: N${K} ${f3(r.truth.net_early_share)}, z90 ${f3(r.truth.z90)}, E${K} ${f3(r.truth.early_share)}. ` +
    `Mean estimate (bias): N${K} ${f3(r.mean.net_early_share)} (${f3(r.mean.net_early_share - r.truth.net_early_share)}), z90 ${f3(r.mean.z90)} (${f3(r.mean.z90 - r.truth.z90)}), E${K} ${f3(r.mean.early_share)} (${f3(r.mean.early_share - r.truth.early_share)}). ` +
    `Steepness at the 0.9 crossing: delta(p*)/D = ${f3(r.steep.share)}, its sd over datasets ${f3(r.steep.sd)} (${(r.steep.share / r.steep.sd).toFixed(1)} se: ${r.steep.share / r.steep.sd >= 3 ? "steep, z90 held to the target" : "not steep, z90 coverage reported only"}). ${r.seconds.toFixed(0)} s.`, "");
  lines.push(`| method | N${K} | N${K} target | z90 | E${K} (absolute) |`, "| --- | --- | --- | --- | --- |");
  for (const [m, cells] of Object.entries(r.cells)) {
    const n = cellText(cells.net_early_share);
    const z = cellText(cells.z90);
    const zv = r.steep.share / r.steep.sd >= 3 ? ` (${verdict(z.lo, z.hi, z.cov)})` : "";
    lines.push(`| ${m} | ${n.text} | ${m === "bca" ? verdict(n.lo, n.hi, n.cov) : ""} | ${z.text}${zv} | ${cellText(cells.early_share).text} |`);
  }
  lines.push("");
}
const reps = results.filter((x) => (x.scenario.runs ?? 1) > 1);
if (reps.length) {
  lines.push("## Replicate runs (seeds): recipe intervals (METRICS.md 3.7)", "");
  for (const r of reps) {
    const sc = r.scenario;
    lines.push(`### ${sc.name}`, "", `${sc.description}. Truth (mean over seeds, Monte Carlo): N${K} ${f3(r.truth.net_early_share)}, z90 ${f3(r.truth.z90)}, E${K} ${f3(r.truth.early_share)}. ${r.seconds.toFixed(0)} s.`, "");
    lines.push(`| rule | N${K} | N${K} target | z90 | E${K} (absolute) |`, "| --- | --- | --- | --- | --- |");
    for (const [m, cells] of Object.entries(r.cells)) {
      const n = cellText(cells.net_early_share);
      lines.push(`| ${m} | ${n.text} | ${verdict(n.lo, n.hi, n.cov)} | ${cellText(cells.z90).text} | ${cellText(cells.early_share).text} |`);
    }
    lines.push("");
  }
}
if (asr.length) {
  lines.push("## Attack success rate pooled over samples", "", "Wilson with n = records treats samples of one prompt as independent; the cluster bootstrap resamples prompts (percentile, 2000 replicates; METRICS.md 4). The cluster bootstrap is the kit's `clusterBootstrapAsr` (src/attacks/clusterBootstrap.ts).", "");
  lines.push("| scenario | truth | Wilson (n = records) | cluster bootstrap |", "| --- | --- | --- | --- |");
  for (const r of asr) lines.push(`| ${r.scenario.name}: ${r.scenario.description} | ${f3(r.truth)} | ${cellText(r.cells.wilson).text} | ${cellText(r.cells.cluster).text} |`);
  lines.push("");
}
// Misses, stated plainly.
const misses: string[] = [];
for (const r of results) {
  const m = (r.scenario.runs ?? 1) === 1 ? "bca" : Object.keys(r.cells)[0];
  const n = cellText(r.cells[m].net_early_share);
  const v = verdict(n.lo, n.hi, n.cov);
  if (v !== "met") misses.push(`- ${r.scenario.name}: the ${m} interval of N${K} covers ${f3(n.cov)} (${v}).`);
  const e = cellText(r.cells[m].early_share);
  if (e.hi < 0.92) misses.push(`- ${r.scenario.name}: the ${m} interval of E${K} (absolute share) covers only ${f3(e.cov)}: noise at unchanged positions biases E${K} (METRICS.md 3.3 caveat).`);
  if (r.steep.share / r.steep.sd >= 3) {
    const z = cellText(r.cells[m].z90);
    const zv = verdict(z.lo, z.hi, z.cov);
    if (zv !== "met") misses.push(`- ${r.scenario.name}: z90 (steep crossing) covers ${f3(z.cov)} with ${m} (${zv}).`);
  }
}
for (const r of asr) {
  const w = cellText(r.cells.wilson);
  if (w.hi < 0.92) misses.push(`- ${r.scenario.name}: Wilson with n = records covers only ${f3(w.cov)}: use the cluster bootstrap when prompts have several samples.`);
}
lines.push("## Misses", "", ...(misses.length ? misses : ["None: every target is met."]), "");
writeFileSync(out, lines.join("\n"));
process.stderr.write(`wrote ${out} in ${(seconds / 60).toFixed(1)} min\n`);
}
