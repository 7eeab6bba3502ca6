/** Runs the CLI in-process and captures what it prints (stdout as text, stderr notes). */
import { main } from "../../src/cli/main";
import type { Output } from "../../src/cli/output";

export async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out: Output = {
    json: (v) => (stdout += `${JSON.stringify(v)}\n`),
    text: (s) => (stdout += `${s}\n`),
    note: (s) => (stderr += `${s}\n`),
  };
  const code = await main(argv, out);
  return { code, stdout, stderr };
}
