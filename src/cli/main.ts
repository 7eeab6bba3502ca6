/**
 * The `aligndepth` command line. Exit codes: 0 success, 1 invalid input, 2 usage error.
 * Problems print as one line each, never as a stack trace (set ALIGNDEPTH_DEBUG=1 for one).
 */
import { totalmem } from "node:os";
import { AligndepthError, InvalidInputError, UsageError, formatProblems } from "../errors";
import { CommandSpec, Parsed, helpText, parseArgs } from "./args";
import { Output, exitQuietlyOnClosedPipe, stdio } from "./output";
import { profileCommand, profileSpec } from "./profile";
import { summaryCommand, summarySpec } from "./summary";
import { compareCommand, compareSpec } from "./compare";
import { validateCommand, validateSpec } from "./validate";

export interface Command {
  spec: CommandSpec;
  run: (p: Parsed, out: Output) => Promise<number>;
}

/** The commands, in the order `--help` lists them. Other modules add theirs with `registerCommand`. */
export const COMMANDS: Command[] = [
  { spec: validateSpec, run: validateCommand },
  { spec: profileSpec, run: profileCommand },
  { spec: summarySpec, run: summaryCommand },
  { spec: compareSpec, run: compareCommand },
];

export function registerCommand(c: Command): void {
  if (!COMMANDS.some((x) => x.spec.name === c.spec.name)) COMMANDS.push(c);
}

function mainHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.spec.name.length));
  return [
    "usage: aligndepth COMMAND [FILES...] [options]",
    "",
    "Where does alignment fine-tuning change a language model? Per-token training logs, analysed.",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(w)}  ${c.spec.summary}`),
    "",
    "Run 'aligndepth COMMAND --help' for a command's options. Exit codes: 0 ok, 1 invalid input, 2 usage error.",
  ].join("\n");
}

/** Runs the CLI with `argv` (without `node` and the script); returns the exit code. */
export async function main(argv: string[], out: Output = stdio): Promise<number> {
  if (out === stdio) exitQuietlyOnClosedPipe();
  try {
    await import("./extra").catch(() => undefined);
    const [name, ...rest] = argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      out.text(mainHelp());
      return name === undefined ? 2 : 0;
    }
    if (name === "--version") {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      out.text(require("../../package.json").version);
      return 0;
    }
    const cmd = COMMANDS.find((c) => c.spec.name === name);
    if (!cmd) throw new UsageError(`unknown command "${name}" (commands: ${COMMANDS.map((c) => c.spec.name).join(", ")})`);
    const parsed = parseArgs(cmd.spec, rest);
    if (parsed.help) {
      out.text(helpText(cmd.spec));
      return 0;
    }
    return await cmd.run(parsed, out);
  } catch (e) {
    return reportError(e, out);
  }
}

export function reportError(e: unknown, out: Output): number {
  if (e instanceof InvalidInputError) {
    // METRICS 1.5: one line per (file, field, reason), the first 5 locations and a count of the rest.
    for (const line of formatProblems(e.problems)) out.note(`error: ${line}`);
    if (e.totalProblems > e.problems.length) out.note(`error: ... and ${e.totalProblems - e.problems.length} more problems not itemised (for token logs, 'aligndepth validate' lists them; --skip-invalid uses the valid rows)`);
    return 1;
  }
  if (e instanceof UsageError) {
    out.note(`error: ${e.message}`);
    return 2;
  }
  if (e instanceof AligndepthError) {
    out.note(`error: ${e.message}`);
    return 1;
  }
  const err = e as Error;
  if (/Out of Memory Error/i.test(err?.message ?? "")) {
    // The engine's memory limit, not a bug of the input: say which option raises it.
    out.note(`error: DuckDB ran out of memory under its limit (--memory-limit, default 2GB; this machine has ${Math.round(totalmem() / 2 ** 30)} GB): give a larger --memory-limit, e.g. --memory-limit ${Math.max(4, Math.floor((totalmem() / 2 ** 30) * 0.5))}GB, or fewer files at a time`);
    return 3;
  }
  out.note(`internal error: ${err?.message ?? String(e)}${process.env.ALIGNDEPTH_DEBUG ? `\n${err?.stack}` : " (set ALIGNDEPTH_DEBUG=1 for details; please report this)"}`);
  return 3;
}
