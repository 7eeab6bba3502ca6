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
