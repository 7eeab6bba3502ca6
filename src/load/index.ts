/**
 * Loading token logs, stage by stage: inputs.ts (files, globs, formats) -> readJsonLines.ts,
 * readCsv.ts, readParquet.ts (read and validate by format; checkRecord.ts is the record-level
 * authority, gateJsonLines.ts a fast path; problems.ts words their report) -> textFile.ts (text
 * files as DuckDB sources) ->
 * mapping.ts (your column names), scored.ts (mask, unscored values, span, re-basing) ->
 * join.ts (several files, one dataset) -> tokens.ts (the `tokens` table and its report), run in
 * order by loadTokenLogs.ts.
 */
export { loadTokenLogs } from "./loadTokenLogs";
export { TokenLogs } from "./tokens";
export type { LoadOptions, LoadReport, FileReport } from "./tokens";
export { sqlType, projectColumns } from "./textFile";
export type { ColumnMapping } from "./mapping";
export type { ScoredRows } from "./scored";
