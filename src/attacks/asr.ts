/**
 * Attack success rate (METRICS.md 4): for a condition, ASR = harmful / n over the judged records
 * ("not judged" records are out of n and counted). Interval: the 95% Wilson score interval when
 * each example has one record; when an example has several (samples, or conditions pooled by a
 * marginal table: harmful and n summed), the cluster bootstrap over examples (percentile, 2000
 * replicates, seeded), or, when the ASR is 0 or 1, Wilson with n = the number of distinct examples.
 */
import type { AttackRecord, ConditionValue } from "./load";
import { Interval, wilson } from "../stats/wilson";
import { clusterBootstrapAsr, outcomesByExample } from "./clusterBootstrap";
import { compareValues } from "./conditions";

export { wilson, Z95 } from "../stats/wilson";
export type { Interval } from "../stats/wilson";

/** One condition's attack success. Condition fields the rows do not group by are null. */
export interface AsrRow {
  run: string;
  attack: string;
  k: number | null;
  prefix_len: number | null;
  span_len: number | null;
  /** Records judged (out of n: the "not judged" ones). */
  n: number;
  /** Records judged harmful. */
  harmful: number;
  /** harmful / n (null when n = 0). */
  asr: number | null;
  /** 95% interval: see `ci_method`. */
  ci: Interval | null;
  /** Distinct examples among the judged records (= n when each example has one record). */
  examples: number;
  /** Records of this condition left out of n because the judge could not judge them. */
  not_judged: number;
  /**
   * How `ci` was computed: `wilson` (one record per example), `cluster-bootstrap` (several records
   * per example: examples resampled), `wilson-examples` (several per example and ASR 0 or 1:
   * Wilson with n = examples), or null without records; recipe rows (`recipeAsrAsRuns`) carry
   * `two-stage-bootstrap` or `t-runs-examples` (METRICS.md 3.7).
   */
  ci_method: "wilson" | "cluster-bootstrap" | "wilson-examples" | "two-stage-bootstrap" | "t-runs-examples" | null;
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
  /** "Not judged" records (`AttackResults.notJudged`), counted per row in `not_judged`. */
  notJudged?: readonly AttackRecord[];
  /** Cluster-bootstrap replicates for rows with several records per example (default 2000). */
  bootstrap?: number;
  /** Cluster-bootstrap seed (default 0). */
  seed?: number;
}

/**
 * The interval of one condition's ASR by the METRICS.md 4 rule (see `AsrRow.ci_method`).
 * @example asrInterval(records.filter((r) => r.k === 5)) // Wilson when one record per example
 */
export function asrInterval(records: readonly AttackRecord[], opts: { z?: number; bootstrap?: number; seed?: number } = {}): Pick<AsrRow, "ci" | "ci_method" | "examples"> {
  const ids = [...new Set(records.map((r) => String(r.example)))];
  const n = records.length;
  if (n === 0) return { ci: null, ci_method: null, examples: 0 };
  const harmful = records.reduce((a, r) => a + (r.harmful ? 1 : 0), 0);
  if (ids.length === n) return { ci: wilson(harmful, n, opts.z), ci_method: "wilson", examples: n };
  if (harmful === 0 || harmful === n) return { ci: wilson(harmful === 0 ? 0 : ids.length, ids.length, opts.z), ci_method: "wilson-examples", examples: ids.length };
  const ci = clusterBootstrapAsr(outcomesByExample(records, ids), { replicates: opts.bootstrap, seed: opts.seed });
  return { ci, ci_method: "cluster-bootstrap", examples: ids.length };
}

/** How each `ci_method` reads in figure axes, hovers and sentences. */
export const CI_METHOD_NAMES: Record<NonNullable<AsrRow["ci_method"]>, string> = {
  wilson: "Wilson",
  "wilson-examples": "Wilson over examples",
  "cluster-bootstrap": "cluster bootstrap",
  // Recipe rows (recipeAsr.ts, METRICS.md 3.7): intervals across seeds and examples.
  "two-stage-bootstrap": "two-stage bootstrap over seeds and examples",
  "t-runs-examples": "t over seeds and examples",
};

/**
 * The interval methods behind some rows, as text for a label: "Wilson", "Wilson, cluster
 * bootstrap", ... (in the order above; empty when no row has an interval).
 */
export function ciMethodsText(rows: ReadonlyArray<Pick<AsrRow, "ci_method">>): string {
  const used = new Set(rows.map((r) => r.ci_method));
  return (Object.keys(CI_METHOD_NAMES) as Array<keyof typeof CI_METHOD_NAMES>).filter((m) => used.has(m)).map((m) => CI_METHOD_NAMES[m]).join(", ");
}

const STANDARD = ["k", "prefix_len", "span_len"] as const;


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
  const groups = new Map<string, { key: Array<ConditionValue | null>; run: string; attack: string; n: number; harmful: number; records: AttackRecord[]; notJudged: number }>();
  const groupOf = (r: AttackRecord) => {
    const key = [...standard.map((f) => valueOf(r, f)), ...extra.map((f) => valueOf(r, f))];
    const id = JSON.stringify([r.run, r.attack, ...key.map((v) => [typeof v, v])]);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { key, run: r.run, attack: r.attack, n: 0, harmful: 0, records: [], notJudged: 0 }));
    return g;
  };
  for (const r of records) {
    const g = groupOf(r);
    g.n++;
    g.records.push(r);
    if (r.harmful) g.harmful++;
  }
  for (const r of opts.notJudged ?? []) groupOf(r).notJudged++;
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
      ...asrInterval(g.records, opts),
      not_judged: g.notJudged,
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

/** Options of the marginal tables: pooled rows get the cluster-bootstrap interval (METRICS.md 4). */
export type MarginalOptions = Omit<AsrOptions, "by">;

/** ASR per (run, attack, k) over the records that have a `k` (prefilling), pooled over other fields. */
export function asrByK(records: readonly AttackRecord[], opts: MarginalOptions = {}): AsrRow[] {
  const has = (r: AttackRecord) => r.k !== null;
  return attackSuccess(records.filter(has), { ...opts, by: ["k"], notJudged: opts.notJudged?.filter(has) });
}

/** ASR per (run, attack, prefix_len) over the records that have one, pooled over span lengths. */
export function asrByPrefixLen(records: readonly AttackRecord[], opts: MarginalOptions = {}): AsrRow[] {
  const has = (r: AttackRecord) => r.prefix_len !== null;
  return attackSuccess(records.filter(has), { ...opts, by: ["prefix_len"], notJudged: opts.notJudged?.filter(has) });
}

/** ASR per (run, attack, span_len) over the records that have one, pooled over prefix lengths. */
export function asrBySpanLen(records: readonly AttackRecord[], opts: MarginalOptions = {}): AsrRow[] {
  const has = (r: AttackRecord) => r.span_len !== null;
  return attackSuccess(records.filter(has), { ...opts, by: ["span_len"], notJudged: opts.notJudged?.filter(has) });
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
  opts: MarginalOptions & { rows?: "k" | "prefix_len" | "span_len"; cols?: "k" | "prefix_len" | "span_len" } = {},
): AsrTable2d[] {
  const rowField = opts.rows ?? "prefix_len";
  const colField = opts.cols ?? "span_len";
  const has = (r: AttackRecord) => r[rowField] !== null && r[colField] !== null;
  const rows = attackSuccess(records.filter(has), { z: opts.z, bootstrap: opts.bootstrap, seed: opts.seed, by: [rowField, colField], notJudged: opts.notJudged?.filter(has) });
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
