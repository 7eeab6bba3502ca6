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

/** Locations a grouped problem's line names (METRICS 1.5). */
export const FIRST_LOCATIONS = 5;

/**
 * The locations part of a grouped problem's line (METRICS 1.5): ` (12 lines: 3, 5, 8, 9, 14 and
 * 7 more)` - the count, the first `shown` locations and how many more; ` (12 lines)` when no
 * location is known. `unit` is "lines" (JSON Lines, CSV) or "rows" (Parquet).
 */
export function locationsNote(count: number, lines: readonly number[], unit = "lines", shown = FIRST_LOCATIONS): string {
  const named = lines.slice(0, shown);
  const rest = count - named.length;
  return ` (${count} ${unit}${named.length ? `: ${named.join(", ")}` : ""}${rest > 0 && named.length ? ` and ${rest} more` : ""})`;
}

/** The unit of a file's locations: "rows" for Parquet, else "lines". */
export function locationUnit(file: string): string {
  return /\.parquet$/i.test(file) ? "rows" : "lines";
}

/**
 * The group of a problem within its file (METRICS 1.5): its field, with an array index dropped
 * (a wide record's `loss[3]` counts under `loss`), and its reason, as a key.
 */
export function problemGroup(p: Pick<Problem, "field" | "reason">): string {
  return JSON.stringify([p.field === null ? null : p.field.replace(/\[\d+\]$/, ""), p.reason]);
}

/**
 * Collects problems as a loader meets them, one group per (file, field, reason) in the order of
 * its first problem, keeping the first problem and its first `FIRST_LOCATIONS` lines (METRICS 1.5).
 * `problems()` gives one problem per group whose message ends with `locationsNote`.
 * @example
 * const found = new ProblemGroups();
 * found.add({ file: "a.jsonl", line: 3, field: "loss", reason: "not-finite", message: "expected a finite number" });
 * found.problems(); // message "expected a finite number" (one problem: no note)
 */
export class ProblemGroups {
  private readonly groups = new Map<string, { first: Problem; lines: number[]; count: number; group: string; mixed?: boolean }>();
  /** Problems added, over every group. */
  total = 0;

  add(p: Problem): void {
    this.total++;
    const group = problemGroup(p);
    const key = JSON.stringify([p.file, group]);
    const g = this.groups.get(key);
    if (!g) this.groups.set(key, { first: p, lines: p.line === null ? [] : [p.line], count: 1, group });
    else {
      g.count++;
      if (p.message !== g.first.message) g.mixed = true;
      if (p.line !== null && g.lines.length < FIRST_LOCATIONS) g.lines.push(p.line);
    }
  }

  /** Number of groups. */
  get size(): number {
    return this.groups.size;
  }

  /**
   * One problem per group (at most `max`), its message followed by the count and first locations
   * when the group has more than one problem. `counts(file, group)` gives a group's exact count
   * when the problems added were cut short (a scan keeps only some); `unit(file)` the word for a
   * location (default: `locationUnit`).
   */
  problems(opts: { max?: number; counts?: (file: string, group: string) => number | undefined; unit?: (file: string) => string } = {}): Problem[] {
    const unit = opts.unit ?? locationUnit;
    return [...this.groups.values()].slice(0, opts.max ?? Infinity).map(({ first, lines, count, group, mixed }) => {
      const n = Math.max(count, opts.counts?.(first.file, group) ?? 0);
      // The group's line says its first problem's message: it must not claim that value for every location.
      const message = n > 1 && mixed ? groupMessage(first) : first.message;
      return n <= 1 ? first : { ...first, message: `${message}${locationsNote(n, lines, unit(first.file))}` };
    });
  }
}

/**
 * The message of a group whose problems got different values: `expected a finite number, got NaN
 * or infinite values` for non-finite numbers, else the first message with `(first: ...)`, e.g.
 * `expected an integer >= 0, got different values (first: -1)`.
 */
function groupMessage(first: Problem): string {
  if (first.reason === "not-finite") return first.message.replace(/, got .*$/, ", got NaN or infinite values");
  const m = /^(.*), got (.*)$/.exec(first.message);
  return m ? `${m[1]}, got different values (first: ${m[2]})` : first.message;
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
  /** Its problems got different values: `message` says so (see groupMessage). */
  mixed?: boolean;
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
    else if (p.line !== null && p.message !== g.message && !g.mixed) (g.mixed = true), (g.message = groupMessage({ ...p, message: g.message }));
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
    delete g.mixed;
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
  return `${head}${locationsNote(g.count, g.lines, locationUnit(g.file), shown)}`;
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
