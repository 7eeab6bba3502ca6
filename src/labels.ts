/**
 * The values a label column takes in the logs (e.g. the probe sets of `split`), so that notebooks
 * and reports name what the data holds instead of assuming `refusal` and `harmful`.
 */
import type { TokenLogs } from "./load";
import { sqlIdent } from "./load/engine";

/**
 * The distinct values of label `field` (as text, sorted; nulls left out), or [] when the logs have
 * no such label.
 * @example await labelValues(logs, "split") // ["harmful", "refusal"]
 */
export async function labelValues(logs: TokenLogs, field: string): Promise<string[]> {
  if (!logs.labels.includes(field)) return [];
  const col = sqlIdent(field);
  const rows = await logs.engine.rows<{ v: string }>(`SELECT DISTINCT CAST(${col} AS VARCHAR) AS v FROM ${logs.table} WHERE ${col} IS NOT NULL ORDER BY v`);
  return rows.map((r) => r.v);
}

/** The probe sets of the logs: the values of `split` (see METRICS 1), or [] when unlabelled. */
export function probeSets(logs: TokenLogs): Promise<string[]> {
  return labelValues(logs, "split");
}

/** The probe set an analysis reads, chosen from the labels present (see `pickProbeSet`). */
export interface ProbeSelection {
  /** The value of `split`, or null for every row (the logs have no `split`). */
  set: string | null;
  /** The row filter to pass to analyses (`{ split: set }`), or undefined for every row. */
  where: { split: string } | undefined;
  /** Words for titles and sentences: `harmful probes`, or `all probe sequences`. */
  what: string;
}

/**
 * Picks the probe set to analyse from the labels present: the first of `prefer` that the logs
 * have as a `split` value, else the first value (sorted), else every row. Notebooks use it so that
 * their titles and sentences name what the data holds.
 * @example const main = await pickProbeSet(logs, ["harmful", "refusal"]); // { set: "harmful", where: { split: "harmful" }, what: "harmful probes" }
 */
export async function pickProbeSet(logs: TokenLogs, prefer: readonly string[] = []): Promise<ProbeSelection> {
  const sets = await probeSets(logs);
  const set = prefer.find((p) => sets.includes(p)) ?? sets[0] ?? null;
  return selectProbeSet(set);
}

/** The selection of one probe set (or of every row for null). */
export function selectProbeSet(set: string | null): ProbeSelection {
  return set === null ? { set: null, where: undefined, what: "all probe sequences" } : { set, where: { split: set }, what: `${set} probes` };
}
