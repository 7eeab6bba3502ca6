/**
 * Attack success rate: for a condition, ASR = harmful / n with the 95% Wilson score interval.
 * Rows are one per (run, attack, condition); marginal tables pool the records of the conditions
 * they collapse (harmful and n summed, so equal-sized conditions weigh equally).
 */
import type { AttackRecord, ConditionValue } from "./load";
import { Interval, wilson } from "../stats/wilson";

export { wilson, Z95 } from "../stats/wilson";
export type { Interval } from "../stats/wilson";

/** One condition's attack success. Condition fields the rows do not group by are null. */
export interface AsrRow {
  run: string;
  attack: string;
  k: number | null;
  prefix_len: number | null;
  span_len: number | null;
  /** Records (examples) judged. */
  n: number;
  /** Records judged harmful. */
  harmful: number;
  /** harmful / n (null when n = 0). */
  asr: number | null;
  /** 95% Wilson score interval. */
  ci: Interval | null;
  /** Other condition fields grouped by (only present when there are any). */
  conditions?: Record<string, ConditionValue | null>;
}

export interface AsrOptions {
  /**
   * Condition fields to group by within each (run, attack). Default: `k`, `prefix_len`, `span_len`
   * and every other condition field the records have, so that distinct conditions never pool.
   */
  by?: string[];
  z?: number;
}

const STANDARD = ["k", "prefix_len", "span_len"] as const;

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function valueOf(r: AttackRecord, field: string): ConditionValue | null {
  if (field === "k" || field === "prefix_len" || field === "span_len") return r[field];
  return r.conditions[field] ?? null;
}

/**
 * ASR per (run, attack, condition), sorted by run, attack, k, prefix_len, span_len (nulls first),
 * then the other condition fields.
 * @example const rows = attackSuccess(records); // one row per distinct condition
 * @example attackSuccess(records, { by: ["k"] }) // per k, pooled over anything else
 */
export function attackSuccess(records: readonly AttackRecord[], opts: AsrOptions = {}): AsrRow[] {
  const others = new Set<string>();
  if (!opts.by) for (const r of records) for (const k of Object.keys(r.conditions)) others.add(k);
  const by = opts.by ?? [...STANDARD, ...[...others].sort()];
  const standard = STANDARD.filter((f) => by.includes(f));
  const extra = by.filter((f) => !(STANDARD as readonly string[]).includes(f));
  const groups = new Map<string, { key: Array<ConditionValue | null>; run: string; attack: string; n: number; harmful: number }>();
  for (const r of records) {
    const key = [...standard.map((f) => valueOf(r, f)), ...extra.map((f) => valueOf(r, f))];
    const id = JSON.stringify([r.run, r.attack, ...key.map((v) => [typeof v, v])]);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { key, run: r.run, attack: r.attack, n: 0, harmful: 0 }));
    g.n++;
    if (r.harmful) g.harmful++;
  }
  const rows = [...groups.values()].map((g) => {
    const std: Record<string, number | null> = { k: null, prefix_len: null, span_len: null };
    standard.forEach((f, i) => (std[f] = g.key[i] as number | null));
    const row: AsrRow = {
      run: g.run,
      attack: g.attack,
      k: std.k,
      prefix_len: std.prefix_len,
      span_len: std.span_len,
      n: g.n,
      harmful: g.harmful,
      asr: g.n > 0 ? g.harmful / g.n : null,
      ci: wilson(g.harmful, g.n, opts.z),
    };
    if (extra.length) row.conditions = Object.fromEntries(extra.map((f, i) => [f, g.key[standard.length + i]]));
    return row;
  });
  return rows.sort(
    (a, b) =>
      compareValues(a.run, b.run) ||
      compareValues(a.attack, b.attack) ||
      compareValues(a.k, b.k) ||
      compareValues(a.prefix_len, b.prefix_len) ||
      compareValues(a.span_len, b.span_len) ||
      extra.reduce((c, f) => c || compareValues(a.conditions?.[f], b.conditions?.[f]), 0),
  );
}

/** ASR per (run, attack, k) over the records that have a `k` (prefilling), pooled over other fields. */
export function asrByK(records: readonly AttackRecord[], opts: { z?: number } = {}): AsrRow[] {
  return attackSuccess(records.filter((r) => r.k !== null), { by: ["k"], z: opts.z });
}

/** ASR per (run, attack, prefix_len) over the records that have one, pooled over span lengths. */
export function asrByPrefixLen(records: readonly AttackRecord[], opts: { z?: number } = {}): AsrRow[] {
  return attackSuccess(records.filter((r) => r.prefix_len !== null), { by: ["prefix_len"], z: opts.z });
}

/** ASR per (run, attack, span_len) over the records that have one, pooled over prefix lengths. */
export function asrBySpanLen(records: readonly AttackRecord[], opts: { z?: number } = {}): AsrRow[] {
  return attackSuccess(records.filter((r) => r.span_len !== null), { by: ["span_len"], z: opts.z });
}

/** A two-way ASR table of one (run, attack): `cells[i][j]` is the row for rowValues[i], colValues[j]. */
export interface AsrTable2d {
  run: string;
  attack: string;
  rowField: string;
  colField: string;
  rowValues: number[];
  colValues: number[];
  /** ASR per cell (null where no record has that pair). */
  asr: Array<Array<number | null>>;
  cells: Array<Array<AsrRow | null>>;
}

/**
 * The two-way table prefix_len x span_len (by default) of every (run, attack) whose records have
 * both fields, pooled over any other condition field.
 * @example const [t] = asrTable2d(records); t.asr[0][1] // ASR at prefix_len rowValues[0], span_len colValues[1]
 */
export function asrTable2d(
  records: readonly AttackRecord[],
  opts: { rows?: "k" | "prefix_len" | "span_len"; cols?: "k" | "prefix_len" | "span_len"; z?: number } = {},
): AsrTable2d[] {
  const rowField = opts.rows ?? "prefix_len";
  const colField = opts.cols ?? "span_len";
  const rows = attackSuccess(records.filter((r) => r[rowField] !== null && r[colField] !== null), { by: [rowField, colField], z: opts.z });
  const tables: AsrTable2d[] = [];
  for (const r of rows) {
    let t = tables.find((x) => x.run === r.run && x.attack === r.attack);
    if (!t) tables.push((t = { run: r.run, attack: r.attack, rowField, colField, rowValues: [], colValues: [], asr: [], cells: [] }));
  }
  for (const t of tables) {
    const mine = rows.filter((r) => r.run === t.run && r.attack === t.attack);
    t.rowValues = [...new Set(mine.map((r) => r[rowField] as number))].sort((a, b) => a - b);
    t.colValues = [...new Set(mine.map((r) => r[colField] as number))].sort((a, b) => a - b);
    t.cells = t.rowValues.map((rv) => t.colValues.map((cv) => mine.find((r) => r[rowField] === rv && r[colField] === cv) ?? null));
    t.asr = t.cells.map((row) => row.map((c) => c?.asr ?? null));
  }
  return tables;
}
