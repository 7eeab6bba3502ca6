/**
 * The result of a load: token logs in the DuckDB engine as one table `tokens` with the long
 * layout, `run VARCHAR, step INTEGER, example VARCHAR, position INTEGER`, one DOUBLE column per
 * metric and the label columns; with the report of what each file contributed.
 */
import { Engine, EngineOptions } from "./engine";
import { UsageError, Problem } from "../errors";
import { ProgressOption } from "../progress";
import { Column, Format, Layout } from "./schema";
import type { ColumnMapping } from "./mapping";
import type { CacheUse } from "./cache";

export interface LoadOptions extends EngineOptions {
  /** Force the format of every file instead of detecting it from the name. */
  format?: Format;
  /** Force the layout instead of detecting it from the first record. */
  layout?: Layout;
  /** Use the valid rows and count the invalid ones by reason, instead of failing. Default false. */
  skipInvalid?: boolean;
  /** Progress for loads that take more than two seconds: "auto" (default), true, false, or a sink. */
  progress?: ProgressOption;
  /** Problems kept per file in the report (all are counted). Default 100. */
  maxProblems?: number;
  /**
   * Column mapping (METRICS 1.1): field -> the files' column, e.g. `{ step: "global_step",
   * example: "sample_id", position: "token_idx", loss: "nll", token: "token_str" }`. A mapped column
   * that no input has is a UsageError.
   */
  columns?: ColumnMapping;
  /** A boolean or 0/1 column; rows where it is false/0 are not scored (METRICS 1.4). Never a metric. */
  mask?: string;
  /** Label values that mark rows as not scored, e.g. `{ labels: -100 }` (METRICS 1.4). Never metrics. */
  unscored?: Record<string, string | number>;
  /** Label values that mark the scored span, e.g. `{ segment: "response" }` (METRICS 1.4). */
  span?: Record<string, string | number>;
  /**
   * Use the validation cache (load/cache.ts): a file validated before, unchanged, with the same
   * options, is not scanned again. Default true; `false` validates every file (CLI `--no-cache`).
   */
  cache?: boolean;
}

/** What one file contributed. Records are lines (JSON Lines), data rows (CSV) or rows (Parquet). */
export interface FileReport {
  path: string;
  format: Format;
  layout: Layout | null;
  records: number;
  recordsUsed: number;
  recordsSkipped: number;
  /** Token rows used. */
  tokens: number;
  /** Skipped records by reason. */
  skipped: Record<string, number>;
  /** Skip mode: invalid metric values set to null (the rest of their record kept), by metric and reason. */
  droppedValues?: Record<string, Record<string, number>>;
  /** The first problems found (at most `maxProblems`). */
  problems: Problem[];
  problemCount: number;
  /** All problems counted by (field, reason) group (see load/problems.ts), for the one-line-per-group report. */
  problemGroups?: Record<string, number>;
}

export interface LoadReport {
  files: FileReport[];
  records: number;
  recordsUsed: number;
  recordsSkipped: number;
  tokens: number;
  skipped: Record<string, number>;
  /** Metric columns (numeric) and label columns found. */
  metrics: string[];
  /** Metrics with a value in every row of the table, so analyses may skip the IS NOT NULL filter. */
  completeMetrics?: string[];
  /**
   * Validation proved that every (run, step, example) of the table has a row at position 0, so that
   * an analysis of a complete metric without a row filter need not look (positionStart.ts).
   * False or absent: not proven.
   */
  startsAtZero?: boolean;
  /** Rows of the table with a value of each metric (METRICS 1.2: a metric may not be measured everywhere). */
  metricRows?: Record<string, number>;
  /** Skip mode: invalid metric values set to null, by metric and reason (summed over files). */
  droppedValues?: Record<string, Record<string, number>>;
  /** Rows not scored (mask, unscored values, span), dropped before the table, by the option that dropped them. */
  unscored?: { rows: number; byOption: Record<string, number> };
  /** Whether positions were re-based over the scored rows (mask, unscored or span given). */
  rebased?: boolean;
  /** Files of another record kind (attack results, influence logs, ...) met among the inputs and left out. */
  leftOut?: Array<{ path: string; kind: string }>;
  /** Notes for humans about the load (files left out, rows not scored, values dropped). */
  notes?: string[];
  /**
   * Warnings about the load (loadWarnings.ts): a gzip file cut off and read up to the cut (skip
   * mode); skip mode dropping rows of a file with mask-like or unscored-label columns no option named.
   * Every command shows them (stderr, JSON `warnings`) through `positionStartWarnings`.
   */
  warnings?: string[];
  labels: string[];
  /** The validation cache in this load: entries found (hits) and computed (misses), and its directory (null: off). */
  cache?: CacheUse;
  /**
   * Wall-clock seconds per stage of the load: finding inputs and their fields, validating each file
   * (or taking its proof from the cache), building the joined relation, mask/unscored/span, and
   * counting rows per metric. For the bench and for curiosity; never part of a result.
   */
  seconds?: { inputs: number; validation: number; join: number; scored: number; counts: number };
  options: { format?: Format; layout?: Layout; skipInvalid: boolean; columns?: ColumnMapping; mask?: string; unscored?: Record<string, string | number>; span?: Record<string, string | number> };
}

/** Token logs loaded into the engine. Query `tokens` (see `table`) or use the analysis functions. */
export class TokenLogs {
  constructor(
    readonly engine: Engine,
    /** Name of the table (or view) with the long-layout rows. */
    readonly table: string,
    readonly report: LoadReport,
  ) {}
  get metrics(): string[] {
    return this.report.metrics;
  }
  get labels(): string[] {
    return this.report.labels;
  }
  /** Checks that `metric` is a numeric column of these logs; returns it. */
  metric(name: string): string {
    if (!this.report.metrics.includes(name))
      throw new UsageError(`no metric "${name}" in these logs (numeric columns: ${this.report.metrics.join(", ") || "none"})`);
    return name;
  }
  /** Runs, sorted. */
  async runs(): Promise<string[]> {
    const rows = await this.engine.rows<{ run: string }>(`SELECT DISTINCT run FROM ${this.table} ORDER BY run`);
    return rows.map((r) => r.run);
  }
  /** Steps of a run (or of all runs), ascending. */
  async steps(run?: string): Promise<number[]> {
    const rows = run === undefined
      ? await this.engine.rows<{ step: number }>(`SELECT DISTINCT step FROM ${this.table} ORDER BY step`)
      : await this.engine.rows<{ step: number }>(`SELECT DISTINCT step FROM ${this.table} WHERE run = $run ORDER BY step`, { run });
    return rows.map((r) => r.step);
  }
  /** Counts of runs, steps, examples and token rows. */
  async counts(): Promise<{ runs: number; steps: number; examples: number; tokens: number }> {
    const [r] = await this.engine.rows<{ runs: number; steps: number; examples: number; tokens: number }>(
      `SELECT count(DISTINCT run) AS runs, count(DISTINCT step) AS steps, count(DISTINCT (run, example)) AS examples, count(*) AS tokens FROM ${this.table}`,
    );
    return r;
  }
  close(): void {
    this.engine.close();
  }
}

/** One file read and validated, ready to join: its columns and the SQL that reads its token rows. */
export interface PreparedFile {
  path: string;
  format: Format;
  layout: Layout | null;
  columns: Column[];
  /** Scalar (per-record) fields of the wide layout. */
  scalars: Set<string>;
  /** SQL that reads the file's token rows in the long layout (before the union). */
  source: (all: Column[]) => string;
  report: FileReport;
  /** The path DuckDB reads (a clean copy in skip mode), to map engine errors back to the file. */
  readPath?: string;
  /** The file's own column names (before mapping). */
  rawFields?: string[];
  /** What validation proved, for the validation cache (undefined: not cacheable). */
  proof?: unknown;
  /**
   * For a file read with no per-file filter (a clean long Parquet file): `source` over a list of
   * files. Files with the same `key` (schema, mapping, options) are read by one `source(all, paths)`
   * in the union, instead of one read per file joined by UNION ALL (which DuckDB plans as separate
   * scans: about 0.1 s more per query over 15 files of 10^8 rows, BENCH.md).
   */
  readsWith?: ReadsWith;
  /**
   * Validation proved that every (run, step, example) of the file has a row at position 0 (before
   * any re-basing). False: not proven (it may still hold).
   */
  startsAtZero?: boolean;
}

/** A file's reader over a list of files of the same schema (see PreparedFile.readsWith). */
export interface ReadsWith {
  key: string;
  source: (all: Column[], paths: string[]) => string;
}

