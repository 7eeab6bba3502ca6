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

// display
export { show, showHtml, showTable, figureHtml, figurePage, figureText, figureBundle, plotlyScript, tableHtml, tableText, scriptJson, escapeHtml, PLOTLY_MIME } from "./display";
export type { Figure, FigureHtmlOptions, ShowOptions, TableInput, TableOptions } from "./display";
