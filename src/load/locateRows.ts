/**
 * Finding the lines (JSON Lines, CSV: 1-based, the CSV header is line 1) or rows (Parquet: 1-based)
 * of given token rows in the input files, for problems found after the files were joined (a gap
 * inside a span, METRICS 1.4), so that they name their lines like every other problem (METRICS 1.5).
 * A second pass over the files, run only when such a problem is reported.
 */
import { Engine, readerArgs, sqlIdent } from "./engine";
import { parseJsonLenient } from "./checkRecord";
import { decodeLine, newResult, readLines, readRaw } from "./lines";
import { CsvRecords, canonicalExampleCell } from "./readCsv";
import { ColumnMapping, fieldOf, mapRecord } from "./mapping";
import { OFFSET_FIELD } from "./schema";
import type { PreparedFile } from "./tokens";

/** Token rows to find: one (run, step, example) and some of its positions. */
export interface RowsWanted {
  run: string;
  step: number;
  example: string;
  positions: number[];
}

/** The example id of a parsed value as the table holds it (integers in canonical decimal). */
const idText = (v: unknown) => (typeof v === "number" ? String(v) : String(v));

/**
 * The files and lines (rows) holding the wanted rows, at most `max` in all, in file order. A wide
 * record holding any of the positions is named by its line.
 */
export async function locateRows(engine: Engine, files: PreparedFile[], mapping: ColumnMapping | undefined, want: RowsWanted, max = 5): Promise<Array<{ file: string; lines: number[] }>> {
  const out: Array<{ file: string; lines: number[] }> = [];
  let left = max;
  for (const f of files) {
    if (left <= 0) break;
    let lines: number[] = [];
    try {
      lines = f.format === "parquet" ? await parquetRows(engine, f, mapping, want, left) : f.format === "csv" ? await csvLines(f.path, mapping, want, left) : await jsonLines(f.path, f.layout, mapping, want, left);
    } catch {
      lines = []; // locating is a courtesy: the problem is reported without lines
    }
    if (lines.length) {
      out.push({ file: f.path, lines });
      left -= lines.length;
    }
  }
  return out;
}

function matches(rec: Record<string, unknown>, want: RowsWanted, wide: boolean): boolean {
  if (String(rec.run) !== want.run || Number(rec.step) !== want.step || idText(rec.example) !== want.example) return false;
  if (wide) {
    const off = Number(rec[OFFSET_FIELD] ?? 0);
    const len = Object.values(rec).find(Array.isArray)?.length ?? 0;
    return want.positions.some((p) => p >= off && p < off + len);
  }
  return want.positions.includes(Number(rec.position));
}

async function jsonLines(file: string, layout: string | null, mapping: ColumnMapping | undefined, want: RowsWanted, max: number): Promise<number[]> {
  const found: number[] = [];
  const scratch = newResult(file);
  for await (const { bytes, line } of readLines(file)) {
    const text = decodeLine(bytes, line === 1, scratch);
    if (text === null || text.trim() === "") continue;
    let v: unknown;
    try {
      v = parseJsonLenient(text);
    } catch {
      continue;
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) continue;
    if (matches(mapRecord(v as Record<string, unknown>, mapping).rec, want, layout === "wide") && found.push(line) >= max) break;
  }
  return found;
}

async function csvLines(file: string, mapping: ColumnMapping | undefined, want: RowsWanted, max: number): Promise<number[]> {
  const found: number[] = [];
  const parser = new CsvRecords();
  const decoder = new TextDecoder("utf-8");
  let header: string[] | null = null;
  const onRecord = (fields: string[], _raw: string, line: number) => {
    if (header === null) {
      header = fields.map((h) => fieldOf(mapping, h.trim().replace(/^\uFEFF/, "")));
      return;
    }
    if (found.length >= max || fields.length !== header.length) return;
    const rec: Record<string, unknown> = {};
    header.forEach((h, i) => (rec[h] = fields[i]));
    rec.example = canonicalExampleCell(String(rec.example)) ?? rec.example;
    rec.step = Number(String(rec.step).trim());
    rec.position = Number(String(rec.position).trim());
    if (matches(rec, want, false)) found.push(line);
  };
  for await (const { bytes } of readRaw(file)) {
    parser.feed(decoder.decode(bytes, { stream: true }), onRecord);
    if (found.length >= max) break;
  }
  return found;
}

async function parquetRows(engine: Engine, f: PreparedFile, mapping: ColumnMapping | undefined, want: RowsWanted, max: number): Promise<number[]> {
  const raw = f.rawFields ?? [];
  const col = (field: string) => sqlIdent(raw.find((c) => fieldOf(mapping, c) === field) ?? field);
  const wide = f.layout === "wide";
  const where = `CAST(${col("run")} AS VARCHAR) = $r AND ${col("step")} = $s AND CAST(${col("example")} AS VARCHAR) = $e${wide ? "" : ` AND ${col("position")} IN (${want.positions.map(Number).join(", ")})`}`;
  const rows = await engine.rows<{ r: number }>(
    `SELECT file_row_number + 1 AS r FROM read_parquet(${readerArgs(f.path)}, file_row_number = true) WHERE ${where} ORDER BY r LIMIT ${max}`,
    { r: want.run, s: want.step, e: want.example },
  );
  return rows.map((x) => Number(x.r));
}
