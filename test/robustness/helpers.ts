/** Shared helpers of the robustness tests: run the CLI in-process and capture what it prints. */
import { main } from "../../src/cli/main";
import { Output } from "../../src/cli/output";

export interface CliRun {
  code: number;
  stdout: string[];
  stderr: string[];
}

export async function cli(argv: string[]): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out: Output = {
    json: (v) => stdout.push(...JSON.stringify(v, null, 2).split("\n")),
    text: (s) => stdout.push(...s.replace(/\n$/, "").split("\n")),
    note: (s) => stderr.push(...s.replace(/\n$/, "").split("\n")),
  };
  const code = await main(argv, out);
  return { code, stdout, stderr };
}

/** A deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
