/** Options shared by the commands that load token logs. */
import { LoadOptions, LoadReport } from "../load";
import { parseColumnMapping } from "../load/mapping";
import { parseAssignments } from "../load/scored";
import { OptionSpec } from "./args";
import { Format, Layout } from "../load/schema";
import { UsageError } from "../errors";
import type { RowFilter } from "../stats/source";

export const LOAD_OPTIONS: OptionSpec[] = [
  { name: "format", type: "string", choices: ["jsonl", "csv", "parquet"], help: "force the format of every file (default: from the file name)" },
  { name: "layout", type: "string", choices: ["long", "wide"], help: "force the layout (default: from the first record)" },
  { name: "skip-invalid", type: "flag", help: "use the valid rows and report the skipped ones by reason, instead of failing" },
  { name: "memory-limit", type: "string", help: "DuckDB memory limit, e.g. 2GB", default: "2GB" },
  { name: "threads", type: "int", help: "DuckDB threads (default: all cores)" },
  { name: "no-progress", type: "flag", help: "do not show progress on stderr" },
  { name: "columns", type: "repeat", help: "name your columns for the log's fields: FIELD=COLUMN,... e.g. step=global_step,example=sample_id,position=token_idx,loss=nll" },
  { name: "mask", type: "string", help: "a boolean or 0/1 column: rows where it is false/0 are not scored (positions re-based)" },
  { name: "unscored", type: "repeat", help: "COLUMN=VALUE: rows with this label value are not scored, e.g. labels=-100 (positions re-based; repeatable)" },
  { name: "span", type: "repeat", help: "FIELD=VALUE: only rows with this label value are scored, e.g. segment=response (positions re-based)" },
];

/** The update-mass options: early-share cut-off and the seeded bootstrap. */
export const MASS_OPTIONS: OptionSpec[] = [
  { name: "k", type: "int", default: 5, help: "early share counts positions < k" },
  { name: "bootstrap", type: "int", default: 1000, help: "bootstrap replicates for the intervals (0: none)" },
  { name: "seed", type: "int", default: 0, help: "bootstrap seed" },
];

/** `--where FIELD=VALUE` (repeatable): restrict an analysis to rows with these label values. */
export const WHERE_OPTION: OptionSpec = { name: "where", type: "repeat", help: "only rows with FIELD=VALUE, e.g. split=refusal (repeatable; the same field twice means either value)" };

export function parseWhere(values: string[] | undefined): RowFilter | undefined {
  if (!values || values.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new UsageError(`--where takes FIELD=VALUE, got ${JSON.stringify(v)}`);
    (out[v.slice(0, eq)] ??= []).push(v.slice(eq + 1));
  }
  return out;
}

export function loadOptions(o: Record<string, unknown>): LoadOptions {
  return {
    format: o.format as Format | undefined,
    layout: o.layout as Layout | undefined,
    skipInvalid: Boolean(o["skip-invalid"]),
    memoryLimit: o["memory-limit"] as string,
    threads: o.threads as number | undefined,
    progress: o["no-progress"] ? false : "auto",
    columns: parseColumnMapping(o.columns as string[] | undefined),
    mask: o.mask as string | undefined,
    unscored: parseAssignments("unscored", o.unscored as string[] | undefined),
    span: parseAssignments("span", o.span as string[] | undefined),
  };
}

/**
 * What the load did, for the JSON of commands that read token logs: rows per metric (a metric may
 * be measured at some rows only), rows not scored, values dropped, files left out, notes.
 */
export function loadFacts(r: LoadReport): Record<string, unknown> {
  return {
    metric_rows: r.metricRows,
    ...(r.unscored ? { unscored: { rows: r.unscored.rows, by_option: r.unscored.byOption }, rebased: true } : {}),
    ...(r.droppedValues ? { dropped_values: r.droppedValues } : {}),
    ...(r.leftOut?.length ? { left_out: r.leftOut } : {}),
    ...(r.notes?.length ? { notes: r.notes } : {}),
  };
}
