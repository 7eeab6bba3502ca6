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
