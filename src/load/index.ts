/**
 * Loading token logs, stage by stage, run in order by loadTokenLogs.ts:
 * 1. inputs.ts: files, globs, formats; files of another record kind left out.
 * 2. readJsonLines.ts, readCsv.ts, readParquet.ts: read and validate each file by format, its
 *    columns renamed to the fields as it is read (mapping.ts); checkRecord.ts is the record-level
 *    authority, gateJsonLines.ts a fast path for clean JSON Lines, problems.ts words the report;
 *    textFile.ts turns a validated text file into a DuckDB source.
 * 3. join.ts: several files, one dataset (joined by key in DuckDB).
 * 4. scored.ts: mask, unscored values and span; positions re-based.
 * 5. tokens.ts: the `tokens` table and its report.
 */
export { loadTokenLogs } from "./loadTokenLogs";
export { TokenLogs } from "./tokens";
export type { LoadOptions, LoadReport, FileReport } from "./tokens";
export { sqlType, projectColumns } from "./textFile";
export type { ColumnMapping } from "./mapping";
export type { ScoredRows } from "./scored";
