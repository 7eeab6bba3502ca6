/**
 * aligndepth: where does alignment fine-tuning change a language model? The public API, grouped
 * load -> analyse -> plot -> display.
 */

// load
export { loadTokenLogs, TokenLogs } from "./load";
export type { LoadOptions, LoadReport, FileReport } from "./load";
export { AligndepthError, InvalidInputError, UsageError, formatProblem } from "./errors";
export type { Problem } from "./errors";
export type { Format, Layout, Column } from "./schema";
