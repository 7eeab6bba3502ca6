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

/** The library's seeded generator (mulberry32), so that fuzz cases are the same on every machine. */
export { rng } from "../../src/stats/bootstrap";
