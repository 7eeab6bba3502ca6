/**
 * Loading token logs, stage by stage: inputs.ts (files, globs, formats) -> readJsonLines.ts,
 * readCsv.ts, readParquet.ts (read and validate by format; checkRecord.ts is the record-level
 * authority, gateJsonLines.ts a fast path) -> textFile.ts (text files as DuckDB sources) ->
 * join.ts (several files, one dataset) -> tokens.ts (the `tokens` table and its report), run in
 * order by loadTokenLogs.ts.
 */
export { loadTokenLogs } from "./loadTokenLogs";
export { TokenLogs } from "./tokens";
export type { LoadOptions, LoadReport, FileReport } from "./tokens";
export { sqlType, projectColumns } from "./textFile";
