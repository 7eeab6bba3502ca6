/** What every contender child prints: task times and the answers the parent checks for agreement. */
import { readFileSync } from "node:fs";
import type { Manifest } from "../workloads";

export const K = 5;

export interface Answers {
  /** Position profile: "run|step|position" -> [n, mean, sd]. */
  profile?: Record<string, [number, number | null, number | null]>;
  /** Update first -> last step per run: early share E_5, d50, d90. */
  mass?: Record<string, { earlyShare: number | null; d50: number | null; d90: number | null; from: number; to: number }>;
  /** Concentration over training: "run|step" -> E_5. */
  concentration?: Record<string, number | null>;
}

export interface ChildResult {
  contender: string;
  workload: string;
  /** Seconds per task. */
  times: Record<string, number>;
  answers: Answers;
  /** Peak resident memory of this process (VmHWM), bytes. */
  peakRss: number;
  extra?: Record<string, unknown>;
}

export function readManifest(path: string): Manifest {
  return JSON.parse(readFileSync(path, "utf8")) as Manifest;
}

export function vmHwm(pid: number | "self" = "self"): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Times a task; the times so far go to the parent after each task, so that a contender stopped later still shows what it finished. */
export async function timed<T>(times: Record<string, number>, name: string, f: () => Promise<T> | T): Promise<T> {
  const t0 = process.hrtime.bigint();
  const out = await f();
  times[name] = Number(process.hrtime.bigint() - t0) / 1e9;
  if (name === "profile" && times.load !== undefined) times.load_profile = times.load + times.profile;
  process.stdout.write(`\n@@PARTIAL ${JSON.stringify(times)}\n`);
  return out;
}

/** Sends the result to the parent on stdout as the last line. */
export function emit(r: ChildResult): void {
  process.stdout.write(`\n@@RESULT ${JSON.stringify(r)}\n`);
}

export const profileKey = (run: string, step: number, position: number) => `${run}|${step}|${position}`;
