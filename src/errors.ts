/**
 * Errors the kit reports to users. Every problem with an input names the file, the line (JSON
 * Lines, CSV) or row (Parquet), the field, and what was expected, so that it prints as one line.
 */

/** One problem found in an input. `line` is 1-based (JSON Lines, CSV) or the 1-based row of a Parquet file. */
export interface Problem {
  file: string;
  line: number | null;
  field: string | null;
  /** A short machine-readable reason, used to count skipped rows (e.g. `invalid-json`, `not-finite`). */
  reason: string;
  message: string;
}

/** Formats a problem as the single line the CLI prints: `file:line: field: message`. */
export function formatProblem(p: Problem): string {
  const where = p.line === null ? p.file : `${p.file}:${p.line}`;
  return p.field === null ? `${where}: ${p.message}` : `${where}: field "${p.field}": ${p.message}`;
}

/** Problems that share (file, field, reason), with their locations in order (METRICS 1.5). */
export interface ProblemGroup {
  file: string;
  field: string | null;
  reason: string;
  /** The first problem's message: the group's line says it once. */
  message: string;
  /** Lines or rows, ascending; empty for a whole-file problem. */
  lines: number[];
  /** Problems in the group: its lines, or for problems without a line its distinct messages. */
  count: number;
  /** Distinct messages of the problems without a line (internal to the count). */
  messages?: Set<string>;
}

/** Groups problems by (file, field, reason), in order of first appearance (METRICS 1.5). */
export function groupProblems(problems: readonly Problem[]): ProblemGroup[] {
  const groups = new Map<string, ProblemGroup>();
  for (const p of problems) {
    const key = JSON.stringify([p.file, p.field, p.reason, p.line === null]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { file: p.file, field: p.field, reason: p.reason, message: p.message, lines: [], count: 0 }));
    if (p.line !== null) {
      g.lines.push(p.line);
      g.count++;
    } else {
      // A whole-file problem is one problem however often a reader repeats it.
      (g.messages ??= new Set()).add(p.message);
      g.count = g.messages.size;
    }
  }
  for (const g of groups.values()) {
    g.lines.sort((a, b) => a - b);
    delete g.messages;
  }
  return [...groups.values()];
}

/**
 * One line per group (METRICS 1.5): the first problem as `formatProblem` writes it
 * (`file:line: field "f": message`, so editors can jump to it) and, when the group has more than
 * one, the first `shown` (default 5) locations and the count of the rest:
 * `data.jsonl:3: field "loss": expected a finite number, got NaN (1000 lines: 3, 7, 9, 12, 20 and 995 more)`
 * (the attack loader's grouped lines read the same).
 * A whole-file problem is `file: message`, once (several different ones of a reason: the first and
 * `(and N more like it)`). Parquet locations are rows.
 */
export function formatProblemGroup(g: ProblemGroup, shown = 5): string {
  const head = formatProblem({ file: g.file, line: g.lines[0] ?? null, field: g.field, reason: g.reason, message: g.message });
  if (g.count <= 1) return head;
  if (g.lines.length === 0) return `${head} (and ${g.count - 1} more like it)`;
  const word = /\.parquet$/i.test(g.file) ? "rows" : "lines";
  const rest = g.count - Math.min(shown, g.lines.length);
  return `${head} (${g.count} ${word}: ${g.lines.slice(0, shown).join(", ")}${rest > 0 ? ` and ${rest} more` : ""})`;
}

/** The lines to print for a list of problems (METRICS 1.5): one per (file, field, reason). */
export function formatProblems(problems: readonly Problem[], shown = 5): string[] {
  return groupProblems(problems).map((g) => formatProblemGroup(g, shown));
}

/** Base class of the errors caused by the user's input or options (exit code 1 or 2), never by a bug. */
export class AligndepthError extends Error {
  override name = "AligndepthError";
}

/** The input is invalid. Carries every problem found (at most `limit` of them, plus a count). */
export class InvalidInputError extends AligndepthError {
  override name = "InvalidInputError";
  constructor(
    readonly problems: Problem[],
    readonly totalProblems: number = problems.length,
  ) {
    super(InvalidInputError.summarize(problems, totalProblems));
  }
  /** First problem, the one a one-line message names. */
  get first(): Problem {
    return this.problems[0];
  }
  get file(): string {
    return this.first.file;
  }
  get line(): number | null {
    return this.first.line;
  }
  get field(): string | null {
    return this.first.field;
  }
  private static summarize(problems: Problem[], total: number): string {
    const head = problems.length > 0 ? formatProblem(problems[0]) : "invalid input";
    return total > 1 ? `${head} (and ${total - 1} more problem${total > 2 ? "s" : ""})` : head;
  }
}

/** The command line or API was called with options that do not fit (exit code 2). */
export class UsageError extends AligndepthError {
  override name = "UsageError";
}

/** Builds a problem without a line (whole-file problems). */
export function fileProblem(file: string, reason: string, message: string, field: string | null = null): Problem {
  return { file, line: null, field, reason, message };
}
