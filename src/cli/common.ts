/** Options shared by the commands that load token logs. */
import { LoadOptions } from "../load";
import { OptionSpec } from "./args";
import { Format, Layout } from "../schema";

export const LOAD_OPTIONS: OptionSpec[] = [
  { name: "format", type: "string", choices: ["jsonl", "csv", "parquet"], help: "force the format of every file (default: from the file name)" },
  { name: "layout", type: "string", choices: ["long", "wide"], help: "force the layout (default: from the first record)" },
  { name: "skip-invalid", type: "flag", help: "use the valid rows and report the skipped ones by reason, instead of failing" },
  { name: "memory-limit", type: "string", help: "DuckDB memory limit, e.g. 2GB", default: "2GB" },
  { name: "threads", type: "int", help: "DuckDB threads (default: all cores)" },
  { name: "no-progress", type: "flag", help: "do not show progress on stderr" },
];

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
