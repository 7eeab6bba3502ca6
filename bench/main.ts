/**
 * `npm run bench`: aligndepth against hand-written DuckDB SQL, pandas and danfo.js on generated
 * workloads at the scale of real runs, side by side in one run. Each contender runs in its own
 * child process (clean peak memory), contenders alternate within each repetition, and the table
 * reports medians. Writes BENCH.md and .bench/results.json.
 *
 *   npm run bench                 # full scale (10M and 100M token rows; about 30 minutes)
 *   npm run bench -- --scale 0.01 # 1% of the rows, for developing the bench
 *   npm run bench -- --reps 1
 *   npm run bench -- --report     # rewrite BENCH.md from .bench/results.json
 *   npm run bench -- --no-billion # without the 10^9-row workloads (about 13 GB of Parquet, generated once)
 */
import { spawn } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { ChildResult, readManifest } from "./contenders/common";
import { BENCH_DIR, BILLION_ONE, BILLION_PARTS, LONG_HALF_PARQUET, LONG_PARQUET, LONG_SUBSET_CSV, LONG_SUBSET_PARQUET, Manifest, WIDE_JSONL, WIDE_JSONL_GZ, ensureWorkload, scaled } from "./workloads";
import { agreement, Agreement } from "./agree";
import { writeReport } from "./report";

const ROOT = join(__dirname, "..", "..", "..");
const BUILD = join(__dirname);

export interface Outcome {
  contender: string;
  workload: string;
  rep: number;
  ok: boolean;
  /** Why it stopped, when not ok: "time limit 300 s", "memory cap 8 GB", or the error. */
  stopped?: string;
  wallSeconds: number;
  peakRss: number;
  result?: ChildResult;
  /** Task times a stopped child reported before it stopped. */
  partial?: Record<string, number>;
}

interface Contender {
  name: string;
  command: (manifest: string, flags: string[]) => [string, string[]];
  reps: number;
  timeLimit: number;
  memCap: number;
  /** A whole process timed from spawn to exit (`process`), its stdout the profile as JSON; no @@RESULT line. */
  wholeProcess?: boolean;
  env?: (manifest: string) => Record<string, string>;
  /** Run before each child (not timed). */
  before?: (manifest: string) => void;
}

const GB = 1024 ** 3;
const node = process.execPath;
const CONTENDERS: Record<string, Contender> = {
  // Cold: a first load (the validation cache emptied first); warm: the same load again, cache filled.
  aligndepth: { name: "aligndepth", command: (m, f) => [node, [join(BUILD, "contenders", "aligndepth.js"), m, "--cold", "--cache", cacheFor(m), ...f]], reps: 3, timeLimit: 900, memCap: 8 * GB },
  "aligndepth-warm": { name: "aligndepth-warm", command: (m, f) => [node, [join(BUILD, "contenders", "aligndepth.js"), m, "--warm", "--cache", cacheFor(m), ...f]], reps: 3, timeLimit: 900, memCap: 8 * GB },
  "duckdb-sql": { name: "duckdb-sql", command: (m, f) => [node, [join(BUILD, "contenders", "sql.js"), m, ...f]], reps: 3, timeLimit: 900, memCap: 8 * GB },
  pandas: { name: "pandas", command: (m) => ["/usr/bin/python3", [join(ROOT, "bench", "contenders", "pandas_tasks.py"), m]], reps: 3, timeLimit: 300, memCap: 8 * GB },
  "danfo.js": { name: "danfo.js", command: (m) => [node, ["--max-old-space-size=7168", join(BUILD, "contenders", "danfo.js"), m]], reps: 1, timeLimit: 300, memCap: 8 * GB },
};

/** The validation cache of the CLI children (ALIGNDEPTH_CACHE_DIR), emptied before each cold one. */
const cliCache = (m: string) => join(BENCH_DIR, "cache-cli", basename(dirname(m)));
/**
 * Whole processes on (b50): `aligndepth profile FILES --json` (cold: cache emptied first; warm: cache
 * filled by the cold run before it) and the hand-written DuckDB profile in its own process.
 */
const cliProfile = (name: string, cold: boolean): Contender => ({
  name,
  command: (m) => [node, [join(BUILD, "contenders", "cli.js"), "profile", ...readManifest(m).files, "--json", "--no-progress"]],
  reps: 3,
  timeLimit: 900,
  memCap: 8 * GB,
  wholeProcess: true,
  env: (m) => ({ ALIGNDEPTH_CACHE_DIR: cliCache(m) }),
  ...(cold ? { before: (m: string) => rmSync(cliCache(m), { recursive: true, force: true }) } : {}),
});
const PROCESS_CONTENDERS: Record<string, Contender> = {
  aligndepth: cliProfile("aligndepth", true),
  "aligndepth-warm": cliProfile("aligndepth-warm", false),
  "duckdb-sql": { name: "duckdb-sql", command: (m) => [node, [join(BUILD, "contenders", "sqlProfile.js"), m]], reps: 3, timeLimit: 900, memCap: 8 * GB, wholeProcess: true },
};

/** The validation cache of a workload's aligndepth children (never the user's). */
function cacheFor(manifestPath: string): string {
  return join(BENCH_DIR, "cache", basename(dirname(manifestPath)));
}

/** Runs one child with nice, a time limit and a memory cap (VmRSS polled); its last line is the result. */
function runChild(c: Contender, manifest: Manifest, manifestPath: string, rep: number, flags: string[] = []): Promise<Outcome> {
  const [cmd, args] = c.command(manifestPath, flags);
  c.before?.(manifestPath);
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn("nice", ["-n", "10", cmd, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...(c.env?.(manifestPath) ?? {}) } });
    let out = "";
    let err = "";
    let stopped: string | undefined;
    let peak = 0;
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    const poll = setInterval(() => {
      const s = procStatus(child.pid!);
      peak = Math.max(peak, s.hwm);
      if (s.rss > c.memCap && !stopped) {
        stopped = `memory cap ${(c.memCap / GB).toFixed(0)} GB`;
        child.kill("SIGKILL");
      }
      if ((Date.now() - t0) / 1000 > c.timeLimit && !stopped) {
        stopped = `time limit ${c.timeLimit} s`;
        child.kill("SIGKILL");
      }
    }, 100);
    child.on("exit", (code) => {
      clearInterval(poll);
      const wallSeconds = (Date.now() - t0) / 1000;
      const line = out.split("\n").find((l) => l.startsWith("@@RESULT "));
      if (c.wholeProcess && code === 0 && !stopped) {
        // The profile as printed: its rows are the answers checked for agreement.
        const printed = JSON.parse(out) as { rows: Array<{ run: string; step: number; position: number; n: number; mean: number | null; sd: number | null }> };
        const profile = Object.fromEntries(printed.rows.map((r) => [`${r.run}|${r.step}|${r.position}`, [Number(r.n), r.mean, r.sd] as [number, number | null, number | null]]));
        const result: ChildResult = { contender: c.name, workload: manifest.spec.name, times: { process: wallSeconds }, answers: { profile }, peakRss: peak };
        resolve({ contender: c.name, workload: manifest.spec.name, rep, ok: true, wallSeconds, peakRss: peak, result });
      } else if (line && code === 0) {
        const result = JSON.parse(line.slice(9)) as ChildResult;
        resolve({ contender: c.name, workload: manifest.spec.name, rep, ok: true, wallSeconds, peakRss: Math.max(peak, result.peakRss), result });
      } else {
        const why = stopped ?? lastErrorLine(err) ?? `exit code ${code}`;
        const partials = out.split("\n").filter((l) => l.startsWith("@@PARTIAL "));
        const partial = partials.length ? (JSON.parse(partials[partials.length - 1].slice(10)) as Record<string, number>) : undefined;
        resolve({ contender: c.name, workload: manifest.spec.name, rep, ok: false, stopped: why, wallSeconds, peakRss: peak, partial });
      }
    });
  });
}

function lastErrorLine(err: string): string | undefined {
  const lines = err.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("at ") && !l.startsWith("npm warn"));
  const hit = lines.find((l) => /Error|error|heap out of memory|Killed/.test(l));
  return hit ?? lines[lines.length - 1];
}

/** VmRSS and VmHWM of a process (the nice wrapper execs the command, so the pid is the contender's). */
function procStatus(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

export interface Plan {
  /** Workload label in the table. */
  label: string;
  /** Contender -> the workload it reads (pandas and danfo read a CSV form where they cannot read Parquet). */
  inputs: Record<string, Manifest | string>;
  /** Contender -> extra arguments (e.g. `--tasks profile,summary` on the 10^9-row workload). */
  flags?: Record<string, string[]>;
  /** The contenders' commands, when not the task contenders (the whole-process plan). */
  contenders?: Record<string, Contender>;
}

async function machine(): Promise<Record<string, string>> {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  const v = String((await c.runAndReadAll("SELECT version() AS v")).getRowObjects()[0].v);
  c.closeSync();
  db.closeSync();
  const py = await new Promise<string>((res) => {
    const p = spawn("/usr/bin/python3", ["-c", "import pandas, numpy, sys; print(f'pandas {pandas.__version__}, numpy {numpy.__version__}, Python {sys.version.split()[0]}')"]);
    let o = "";
    p.stdout.on("data", (b: Buffer) => (o += b.toString()));
    p.on("exit", () => res(o.trim() || "pandas not available"));
  });
  const danfo = JSON.parse(readFileSync(join(ROOT, "node_modules", "danfojs", "package.json"), "utf8")).version;
  return {
    cpu: `${cpus().length} cores (${cpus()[0]?.model ?? "unknown"})`,
    ram: `${(totalmem() / GB).toFixed(0)} GB`,
    node: process.version,
    duckdb: `DuckDB ${v} (@duckdb/node-api)`,
    python: py,
    danfo: `danfojs ${danfo}`,
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    load: `load average ${loadavg().map((x) => x.toFixed(1)).join(", ")} at the start (children run under nice -n 10)`,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (k: string, d: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? argv[i + 1] : d;
  };
  const scale = Number(opt("scale", process.env.BENCH_SCALE ?? "1"));
  if (argv.includes("--report")) {
    // Rewrite BENCH.md from the last run's results (no measuring).
    const results = JSON.parse(readFileSync(join(BENCH_DIR, `results${scale === 1 ? "" : `-x${scale}`}.json`), "utf8"));
    const out = scale === 1 ? join(ROOT, "BENCH.md") : join(BENCH_DIR, `BENCH-x${scale}.md`);
    writeFileSync(out, writeReport(results));
    console.log(`[bench] wrote ${out} from the last results`);
    return;
  }
  const maxReps = Number(opt("reps", "3"));
  const log = (s: string) => console.log(`[bench] ${s}`);
  const info = await machine();
  log(`${info.cpu}, ${info.ram}, ${info.duckdb}, ${info.load}`);
  log(`workloads (scale ${scale}) in ${BENCH_DIR}/data`);
  const a = await ensureWorkload(scaled(WIDE_JSONL, scale), log);
  const b = await ensureWorkload(scaled(LONG_PARQUET, scale), log);
  const bsubPq = await ensureWorkload(scaled(LONG_SUBSET_PARQUET, scale), log);
  const bsubCsv = await ensureWorkload(scaled(LONG_SUBSET_CSV, scale), log);
  const agz = await ensureWorkload(scaled(WIDE_JSONL_GZ, scale), log);
  const b50 = await ensureWorkload(scaled(LONG_HALF_PARQUET, scale), log);
  // 10^9 token rows (about 6.5 GB per form): skipped with --no-billion.
  const billion = !argv.includes("--no-billion");
  const c1 = billion ? await ensureWorkload(scaled(BILLION_ONE, scale), log) : null;
  const c50 = billion ? await ensureWorkload(scaled(BILLION_PARTS, scale), log) : null;
  const mpath = (m: Manifest) => join(BENCH_DIR, "data", m.spec.name, "manifest.json");
  const noParquet = "cannot read Parquet here (see (b'))";
  const plans: Plan[] = [];
  // The 10^9-row workloads first (the longest and the ones the targets are about), then the rest.
  const billionFlags = { aligndepth: ["--tasks", "profile,summary"], "aligndepth-warm": ["--tasks", "profile,summary"], "duckdb-sql": ["--tasks", "profile"] };
  if (c1 && c50) {
    plans.push({ label: "c", inputs: { aligndepth: c1, "aligndepth-warm": c1, "duckdb-sql": c1 }, flags: billionFlags });
    plans.push({ label: "c50", inputs: { aligndepth: c50, "aligndepth-warm": c50, "duckdb-sql": c50 }, flags: billionFlags });
  }
  plans.push(
    { label: "b", inputs: { aligndepth: b, "aligndepth-warm": b, "duckdb-sql": b, pandas: noParquet, "danfo.js": noParquet } },
    { label: "a", inputs: { aligndepth: a, "aligndepth-warm": a, "duckdb-sql": a, pandas: a, "danfo.js": a } },
    { label: "a-gz", inputs: { aligndepth: agz, "aligndepth-warm": agz, "duckdb-sql": agz } },
    { label: "b-subset", inputs: { aligndepth: bsubPq, "aligndepth-warm": bsubPq, "duckdb-sql": bsubPq, pandas: bsubCsv, "danfo.js": bsubCsv } },
    { label: "b50", inputs: { aligndepth: b50, "aligndepth-warm": b50, "duckdb-sql": b50 }, contenders: PROCESS_CONTENDERS },
  );
  const outcomes: Outcome[] = [];
  const done: Plan[] = [];
  let extras: Outcome | undefined;
  // Results and BENCH.md are rewritten after every workload: a bench stopped part way (a deadline)
  // still leaves what it measured, with the workloads it did not reach marked as not run.
  const save = (final: boolean) => {
    const pending = plans.filter((p) => !done.includes(p)).map((p) => p.label);
    const results = {
      scale,
      machine: { ...info, ...(final ? {} : { finished: `partial: written ${new Date().toISOString().slice(11, 16)} UTC, after ${done.map((p) => p.label).join(", ") || "no workload"}` }) },
      workloads: { a, agz, b, bsubPq, bsubCsv, b50, ...(c1 && c50 ? { c1, c50 } : {}) },
      plans: done.map((p) => ({ label: p.label, inputs: Object.fromEntries(Object.entries(p.inputs).map(([k, v]) => [k, typeof v === "string" ? v : v.spec.name])) })),
      pending,
      billionSkipped: !billion,
      outcomes: outcomes.map(({ result, partial, ...o }) => ({ ...o, times: result?.times ?? partial })),
      extras: extras && { ...extras, result: extras.result && { times: extras.result.times, extra: extras.result.extra } },
      agreement: agreement(outcomes, done),
    };
    writeFileSync(join(BENCH_DIR, `results${scale === 1 ? "" : `-x${scale}`}.json`), JSON.stringify(results, null, 2));
    writeFileSync(out, writeReport(results));
  };
  const out = scale === 1 ? join(ROOT, "BENCH.md") : join(BENCH_DIR, `BENCH-x${scale}.md`);
  for (const plan of plans) {
    log(`workload ${plan.label}`);
    const reps: Record<string, number> = {};
    for (const name of Object.keys(plan.inputs)) reps[name] = Math.min((plan.contenders ?? CONTENDERS)[name].reps, maxReps);
    for (let rep = 0; rep < maxReps; rep++) {
      for (const [name, input] of Object.entries(plan.inputs)) {
        if (typeof input === "string" || rep >= reps[name]) continue;
        const o = await runChild((plan.contenders ?? CONTENDERS)[name], input, mpath(input), rep, plan.flags?.[name] ?? []);
        outcomes.push(o);
        const t = o.result?.times;
        const shown = t ? Object.entries(t).filter(([k]) => !k.startsWith("stage_")).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ") : "";
        log(`  ${plan.label} ${name} rep ${rep + 1}: ${o.ok ? shown : `stopped: ${o.stopped} (finished: ${JSON.stringify(o.partial ?? {})})`}, peak ${(o.peakRss / GB).toFixed(2)} GB`);
        // The slowest get fewer runs: over a minute means one run is enough to see the ratio.
        if (!o.ok || o.wallSeconds > 60) reps[name] = Math.min(reps[name], rep + 1);
      }
    }
    done.push(plan);
    save(false);
  }
  // aligndepth extras on (b): the bootstrap summary and the notebook-sized output, in their own child.
  log("aligndepth extras on b (summary with 1000 bootstrap replicates, figures)");
  extras = await runChild(CONTENDERS.aligndepth, b, mpath(b), 0, ["--extras"]);
  log(`  extras: ${extras.ok ? JSON.stringify(extras.result!.times) : extras.stopped}`);
  save(true);
  log(`wrote ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
