/**
 * Contender: danfo.js alone (what the design card would do without a database): the file is
 * streamed and parsed in JS into long columns, put in a danfo DataFrame, and the three tasks use
 * danfo's groupby, query and merge. danfo's readCSV needs XMLHttpRequest (browser build), so the
 * file is parsed by hand, which is the faster path anyway.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type * as Danfo from "danfojs/dist/danfojs-browser/src/index";
import { Answers, ChildResult, K, emit, profileKey, readManifest, timed, vmHwm } from "./common";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const dfd: typeof Danfo = require("danfojs");

type Cols = { run: string[]; step: number[]; example: string[]; position: number[]; loss: number[] };

/** danfo gives NaN where the sd is undefined (one value); the others give null. */
const finite = (x: number) => (Number.isFinite(x) ? x : null);

async function readColumns(files: string[], format: string): Promise<Cols> {
  const c: Cols = { run: [], step: [], example: [], position: [], loss: [] };
  for (const f of files) {
    const rl = createInterface({ input: createReadStream(f), crlfDelay: Infinity });
    let header: string[] | null = null;
    for await (const line of rl) {
      if (!line) continue;
      if (format === "jsonl") {
        const r = JSON.parse(line);
        for (let i = 0; i < r.loss.length; i++) {
          c.run.push(r.run);
          c.step.push(r.step);
          c.example.push(r.example);
          c.position.push(i);
          c.loss.push(r.loss[i]);
        }
      } else {
        const v = line.split(",");
        if (!header) {
          header = v;
          continue;
        }
        c.run.push(v[0]);
        c.step.push(Number(v[1]));
        c.example.push(v[2]);
        c.position.push(Number(v[4]));
        c.loss.push(Number(v[5]));
      }
    }
  }
  return c;
}

function massOf(deltaByPos: Map<number, number>): { earlyShare: number; d50: number; d90: number } {
  const ps = [...deltaByPos.keys()].sort((a, b) => a - b);
  const total = ps.reduce((a, p) => a + Math.abs(deltaByPos.get(p)!), 0);
  let cum = 0;
  let e = 0;
  let d50 = -1;
  let d90 = -1;
  for (const p of ps) {
    const s = Math.abs(deltaByPos.get(p)!) / total;
    if (p < K) e += s;
    cum += s;
    if (d50 < 0 && cum >= 0.5 - 1e-12) d50 = p + 1;
    if (d90 < 0 && cum >= 0.9 - 1e-12) d90 = p + 1;
  }
  return { earlyShare: e, d50, d90 };
}

async function main(): Promise<void> {
  const [manifestPath] = process.argv.slice(2);
  const m = readManifest(manifestPath);
  const times: Record<string, number> = {};
  const answers: Answers = {};
  const df = await timed(times, "load", async () => {
    const cols = await readColumns(m.files, m.spec.format);
    return new dfd.DataFrame(cols as unknown as Record<string, unknown[]>);
  });
  const prof = await timed(times, "profile", () => df.groupby(["run", "step", "position"]).agg({ loss: ["count", "mean", "std"] }));
  times.load_profile = times.load + times.profile;
  const pv = prof.values as unknown[][];
  const pc = prof.columns;
  const ix = (name: string) => pc.indexOf(name);
  answers.profile = Object.fromEntries(pv.map((r) => [profileKey(String(r[ix("run")]), Number(r[ix("step")]), Number(r[ix("position")])), [Number(r[ix("loss_count")]), Number(r[ix("loss_mean")]), finite(Number(r[ix("loss_std")]))]]));

  answers.mass = await timed(times, "update", () => {
    const out: NonNullable<Answers["mass"]> = {};
    const runs = [...new Set(df["run"].values as string[])].sort();
    for (const run of runs) {
      const d = df.query(df["run"].eq(run)).resetIndex();
      const steps = d["step"].values as number[];
      const from = steps.reduce((a, x) => Math.min(a, x), Infinity);
      const to = steps.reduce((a, x) => Math.max(a, x), -Infinity);
      const a = d.query(d["step"].eq(from)).resetIndex().loc({ columns: ["example", "position", "loss"] });
      const b = d.query(d["step"].eq(to)).resetIndex().loc({ columns: ["example", "position", "loss"] }).rename({ loss: "loss_b" });
      const pairs = dfd.merge({ left: a, right: b, on: ["example", "position"], how: "inner" });
      pairs.addColumn("diff", (pairs["loss_b"] as Danfo.Series).sub(pairs["loss"] as Danfo.Series), { inplace: true });
      const g = pairs.groupby(["position"]).col(["diff"]).mean();
      const gv = g.values as number[][];
      const pos = g.columns.indexOf("position");
      const dm = g.columns.indexOf("diff_mean");
      out[run] = { ...massOf(new Map(gv.map((r) => [Number(r[pos]), Number(r[dm])]))), from, to };
    }
    return out;
  });

  answers.concentration = await timed(times, "concentration", () => {
    const out: Record<string, number> = {};
    const runs = [...new Set(df["run"].values as string[])].sort();
    for (const run of runs) {
      const d = df.query(df["run"].eq(run)).resetIndex();
      const first = (d["step"].values as number[]).reduce((a, x) => Math.min(a, x), Infinity);
      const base = d.query(d["step"].eq(first)).resetIndex().loc({ columns: ["example", "position", "loss"] }).rename({ loss: "loss_a" });
      const later = d.query(d["step"].gt(first)).resetIndex().loc({ columns: ["step", "example", "position", "loss"] });
      const pairs = dfd.merge({ left: later, right: base, on: ["example", "position"], how: "inner" });
      pairs.addColumn("diff", (pairs["loss"] as Danfo.Series).sub(pairs["loss_a"] as Danfo.Series), { inplace: true });
      const g = pairs.groupby(["step", "position"]).col(["diff"]).mean();
      const gv = g.values as number[][];
      const si = g.columns.indexOf("step");
      const pi = g.columns.indexOf("position");
      const di = g.columns.indexOf("diff_mean");
      const bySteps = new Map<number, Map<number, number>>();
      for (const r of gv) {
        const s = Number(r[si]);
        if (!bySteps.has(s)) bySteps.set(s, new Map());
        bySteps.get(s)!.set(Number(r[pi]), Number(r[di]));
      }
      for (const [s, byPos] of bySteps) out[`${run}|${s}`] = massOf(byPos).earlyShare;
    }
    return out;
  });
  const r: ChildResult = { contender: "danfo.js", workload: m.spec.name, times, answers, peakRss: vmHwm() };
  emit(r);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
