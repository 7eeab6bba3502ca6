/**
 * Reporting problems (METRICS 1.5): one line per (file, field, reason), naming the first 5
 * locations (lines, or Parquet rows) and the count of the rest, in the wording the other loaders
 * use: `... (12 lines: 3, 5, 8, 9, 14 and 7 more)`. Elements of a wide record's array
 * (`loss[3]`) count under their field.
 */
import type { Problem } from "../errors";

/** Locations named per line. */
export const FIRST_LOCATIONS = 5;

/** The group a problem belongs to, within its file: its field (array index dropped) and reason. */
export function problemGroup(p: Pick<Problem, "field" | "reason">): string {
  return JSON.stringify([p.field === null ? null : p.field.replace(/\[\d+\]$/, ""), p.reason]);
}

/**
 * Groups problems into one per (file, field, reason), in the order of their first problem.
 * `counts(file, group)` gives the exact number of problems of a group when the list was cut short
 * (each scan keeps at most `maxProblems`); otherwise the problems in the list are counted.
 */
export function groupProblems(problems: Problem[], counts?: (file: string, group: string) => number | undefined, unit: (file: string) => string = () => "lines"): Problem[] {
  const groups = new Map<string, { first: Problem; lines: number[]; seen: number; file: string; group: string }>();
  for (const p of problems) {
    const group = problemGroup(p);
    const key = JSON.stringify([p.file, group]);
    const g = groups.get(key);
    if (!g) groups.set(key, { first: p, lines: p.line === null ? [] : [p.line], seen: 1, file: p.file, group });
    else {
      g.seen++;
      if (p.line !== null && g.lines.length < FIRST_LOCATIONS) g.lines.push(p.line);
    }
  }
  return [...groups.values()].map(({ first, lines, seen, file, group }) => {
    const count = Math.max(seen, counts?.(file, group) ?? 0);
    if (count <= 1) return first;
    const rest = count - lines.length;
    return { ...first, message: `${first.message} (${count} ${unit(file)}${lines.length ? `: ${lines.join(", ")}` : ""}${rest > 0 && lines.length ? ` and ${rest} more` : ""})` };
  });
}
