/**
 * The embedded DuckDB engine. Values from logs reach SQL only as bound parameters or through
 * `sqlString`/`sqlIdent` (escaped literals for the places DuckDB cannot bind, such as file names
 * inside a CREATE VIEW).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBConnection, DuckDBDataChunk, DuckDBInstance, DuckDBValue, listValue } from "@duckdb/node-api";
import { ProgressSink } from "../progress";

export interface EngineOptions {
  /** DuckDB memory limit (outside the V8 heap), e.g. "2GB". Default 2GB. */
  memoryLimit?: string;
  /** Worker threads. Default: all cores. */
  threads?: number;
}

/** A string as a SQL literal: quotes doubled; NUL bytes refused (DuckDB strings cannot hold them). */
export function sqlString(s: string): string {
  if (s.includes("\u0000")) throw new Error("a NUL byte cannot appear in a file name or identifier");
  return `'${s.replace(/'/g, "''")}'`;
}

/** A name as a SQL identifier: double quotes doubled. */
export function sqlIdent(s: string): string {
  if (s.includes("\u0000")) throw new Error("a NUL byte cannot appear in a column name");
  return `"${s.replace(/"/g, '""')}"`;
}

/** A list of file names as a SQL list literal. */
export function sqlFileList(files: string[]): string {
  return `[${files.map(sqlPath).join(", ")}]`;
}

/**
 * A file's path as a SQL literal for DuckDB's readers, which take paths as glob patterns: `*`, `?`
 * and `[` are bracketed (`x[1].parquet` would otherwise read `x1.parquet`, and `b?.parquet` every
 * `b` + one character), so that exactly the named file is read.
 */
export function sqlPath(path: string): string {
  return sqlString(path.replace(/[[*?]/g, (c) => `[${c}]`));
}

/**
 * The first arguments of a DuckDB reader that reads exactly these files as they are: the paths
 * (sqlPath; a list for several Parquet files), no hive partitioning (a folder named like `run=sft/`
 * never replaces the file's own `run` values; DuckDB detects such folders by default), and for text
 * readers the compression from the name (DuckDB guesses it from the path pattern, where a `?`
 * bracketed by sqlPath hides the `.gz`).
 * @example `read_parquet(${readerArgs(files)}, file_row_number = true)`
 */
export function readerArgs(paths: string | string[], reader: "parquet" | "text" = "parquet"): string {
  const list = typeof paths === "string" ? [paths] : paths;
  const files = list.length === 1 ? sqlPath(list[0]) : sqlFileList(list);
  const compression = reader === "text" ? `, compression = '${list[0].endsWith(".gz") ? "gzip" : "uncompressed"}'` : "";
  return `${files}, hive_partitioning = false${compression}`;
}

export type Params = Record<string, DuckDBValue> | DuckDBValue[];

/** Turns a JS value into a bound parameter (arrays become DuckDB lists). */
export function param(v: string | number | string[] | number[]): DuckDBValue {
  return Array.isArray(v) ? listValue(v as DuckDBValue[]) : v;
}

export class Engine {
  private tempDir: string;
  private constructor(
    readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
    tempDir: string,
  ) {
    this.tempDir = tempDir;
  }

  static async create(opts: EngineOptions = {}): Promise<Engine> {
    const tempDir = mkdtempSync(join(tmpdir(), "aligndepth-"));
    const config: Record<string, string> = {
      memory_limit: opts.memoryLimit ?? "2GB",
      temp_directory: join(tempDir, "spill"),
      preserve_insertion_order: "false",
    };
    if (opts.threads) config.threads = String(opts.threads);
    const instance = await DuckDBInstance.create(":memory:", config);
    const conn = await instance.connect();
    return new Engine(instance, conn, tempDir);
  }

  /** A private folder for this engine's temporary files (removed by `close`). */
  get scratch(): string {
    return this.tempDir;
  }

  /** Runs a statement. */
  async run(sql: string, params?: Params): Promise<void> {
    await this.conn.run(sql, params);
  }

  /** Runs a query and returns its rows as plain objects (BIGINT and HUGEINT become numbers). */
  async rows<T = Record<string, unknown>>(sql: string, params?: Params, progress?: ProgressSink, label = "query"): Promise<T[]> {
    const reader = await this.watch(this.conn.runAndReadAll(sql, params), progress, label);
    return reader.getRowObjectsJS().map((r) => normalizeRow(r)) as T[];
  }

  /** Runs a query and returns its columns as arrays (BIGINT become numbers). */
  async columns(sql: string, params?: Params, progress?: ProgressSink, label = "query"): Promise<Record<string, unknown[]>> {
    const reader = await this.watch(this.conn.runAndReadAll(sql, params), progress, label);
    const cols = reader.getColumnsObjectJS() as Record<string, unknown[]>;
    for (const k of Object.keys(cols)) {
      const c = cols[k];
      if (c.length && typeof c.find((v) => v !== null) === "bigint") cols[k] = c.map((v) => (typeof v === "bigint" ? Number(v) : v));
    }
    return cols;
  }

  /**
   * Runs a query and hands its result to `onChunk` one DuckDB data chunk (up to 2048 rows) at a
   * time, as DuckDB produces them: the result is never held whole, neither in DuckDB nor as JS
   * values. Read a chunk's columns with `chunk.getColumnVector(i).getItem(row)` into typed arrays.
   */
  async forEachChunk(sql: string, params: Params | undefined, onChunk: (chunk: DuckDBDataChunk) => void): Promise<void> {
    const result = await this.conn.stream(sql, params);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) return;
      onChunk(chunk);
    }
  }

  /** Polls DuckDB's query progress while a query runs. */
  private async watch<T>(p: Promise<T>, progress: ProgressSink | undefined, label: string): Promise<T> {
    if (!progress) return p;
    const timer = setInterval(() => {
      const pr = this.conn.progress;
      const pct = pr && pr.percentage >= 0 ? pr.percentage / 100 : null;
      progress.update(label, pct);
    }, 200);
    try {
      return await p;
    } finally {
      clearInterval(timer);
    }
  }

  close(): void {
    try {
      this.conn.closeSync();
    } catch {
      /* already closed */
    }
    try {
      this.instance.closeSync();
    } catch {
      /* already closed */
    }
    rmSync(this.tempDir, { recursive: true, force: true });
  }
}

function normalizeRow(r: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(r)) {
    const v = r[k];
    if (typeof v === "bigint") r[k] = Number(v);
  }
  return r;
}
