/**
 * Writes one token log (long rows, in the file's own column names) in every format and layout the
 * kit reads: CSV, long and wide JSON Lines, long and wide Parquet (Parquet through DuckDB). NaN
 * numbers are written as NaN (bare in JSON, `nan` in CSV); undefined is an absent value (an empty
 * CSV cell, a missing JSON key, a Parquet null); a wide record whose values of a field are all
 * undefined holds null for it (not measured).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine, sqlIdent, sqlString } from "../../src/load/engine";

export type Value = string | number | boolean | undefined;
export type Row = Record<string, Value>;
export type Shape = "csv" | "jsonl-long" | "jsonl-wide" | "parquet-long" | "parquet-wide";
export const SHAPES: Shape[] = ["csv", "jsonl-long", "jsonl-wide", "parquet-long", "parquet-wide"];

/** The file's own names of the key fields (defaults: the fields' names). */
export interface KeyNames {
  run?: string;
  step?: string;
  example?: string;
  position?: string;
}

function json(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "number" && Number.isNaN(x) ? "\u0000NaN" : x)).replace(/"\\u0000NaN"/g, "NaN");
}

function csvCell(v: Value): string {
  if (v === undefined) return "";
  if (typeof v === "number" && Number.isNaN(v)) return "nan";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function fields(rows: Row[]): string[] {
  const out: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!out.includes(k)) out.push(k);
  return out;
}

/** Wide records: one per (run, step, example), arrays over the positions in order, `offset` = first position. */
function wide(rows: Row[], k: Required<KeyNames>): Array<Record<string, unknown>> {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = json([r[k.run], r[k.step], r[k.example]]);
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(r);
  }
  const names = fields(rows).filter((f) => ![k.run, k.step, k.example, k.position].includes(f));
  return [...groups.values()].map((g) => {
    g.sort((a, b) => Number(a[k.position]) - Number(b[k.position]));
    const rec: Record<string, unknown> = { [k.run]: g[0][k.run], [k.step]: g[0][k.step], [k.example]: g[0][k.example] };
    const offset = Number(g[0][k.position]);
    if (offset !== 0) rec.offset = offset;
    for (const f of names) rec[f] = g.every((r) => r[f] === undefined) ? null : g.map((r) => (r[f] === undefined ? null : r[f]));
    return rec;
  });
}

/** Writes `rows` as `name` in the given shape under `dir`; returns the path. */
export async function writeShape(dir: string, name: string, rows: Row[], shape: Shape, keys: KeyNames = {}): Promise<string> {
  const k: Required<KeyNames> = { run: "run", step: "step", example: "example", position: "position", ...keys };
  const cols = fields(rows);
  if (shape === "jsonl-long" || shape === "jsonl-wide") {
    const path = join(dir, `${name}.${shape}.jsonl`);
    const recs = shape === "jsonl-long" ? rows.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined))) : wide(rows, k);
    writeFileSync(path, recs.map(json).join("\n") + "\n");
    return path;
  }
  const csv = join(dir, `${name}.${shape}.csv`);
  writeFileSync(csv, [cols.join(","), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(","))].join("\n") + "\n");
  if (shape === "csv") return csv;
  // Parquet: the CSV read with the types of the values (DOUBLE when any is fractional or NaN).
  const type = (c: string) => {
    const vs = rows.map((r) => r[c]).filter((v) => v !== undefined);
    if (vs.every((v) => typeof v === "boolean")) return "BOOLEAN";
    if (vs.every((v) => typeof v === "number")) return vs.every((v) => Number.isInteger(v)) ? "BIGINT" : "DOUBLE";
    return "VARCHAR";
  };
  const path = join(dir, `${name}.${shape}.parquet`);
  const read = `read_csv(${sqlString(csv)}, header = true, auto_detect = false, columns = {${cols.map((c) => `${sqlString(c)}: '${type(c)}'`).join(", ")}}, nullstr = '')`;
  const e = await Engine.create({ threads: 1 });
  try {
    if (shape === "parquet-long") {
      await e.run(`COPY (SELECT * FROM ${read}) TO ${sqlString(path)} (FORMAT parquet)`);
    } else {
      const others = cols.filter((c) => ![k.run, k.step, k.example, k.position].includes(c));
      const pos = sqlIdent(k.position);
      const lists = others.map((c) => `CASE WHEN count(${sqlIdent(c)}) = 0 THEN NULL ELSE list(${sqlIdent(c)} ORDER BY ${pos}) END AS ${sqlIdent(c)}`);
      await e.run(
        `COPY (SELECT ${sqlIdent(k.run)}, ${sqlIdent(k.step)}, ${sqlIdent(k.example)}, min(${pos}) AS "offset", ${lists.join(", ")} FROM ${read} GROUP BY ALL ORDER BY ALL) TO ${sqlString(path)} (FORMAT parquet)`,
      );
    }
  } finally {
    e.close();
  }
  return path;
}
