/** Options shared by the commands that load token logs. */
import { LoadOptions } from "../load";
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
  };
}
