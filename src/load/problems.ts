/**
 * Reporting problems (METRICS 1.5): one line per (file, field, reason), naming the first 5
 * locations (lines, or Parquet rows) and the count of the rest, in the wording the other loaders
 * use: `... (12 lines: 3, 5, 8, 9, 14 and 7 more)`. Elements of a wide record's array
 * (`loss[3]`) count under their field.
 */
import { FIRST_LOCATIONS, Problem, ProblemGroups, problemGroup } from "../errors";

export { FIRST_LOCATIONS, problemGroup };

/**
 * Groups problems into one per (file, field, reason), in the order of their first problem.
 * `counts(file, group)` gives the exact number of problems of a group when the list was cut short
 * (each scan keeps at most `maxProblems`); otherwise the problems in the list are counted.
 * The grouping is errors.ts `ProblemGroups`, shared with the attack and dynamics loaders.
 */
export function groupProblems(problems: Problem[], counts?: (file: string, group: string) => number | undefined, unit: (file: string) => string = () => "lines"): Problem[] {
  const found = new ProblemGroups();
  for (const p of problems) found.add(p);
  return found.problems({ counts, unit });
}
