/**
 * Attack conditions: which records belong to one condition of an attack (k, prefix_len, span_len
 * and every other condition field), for the analyses that group records by condition.
 */
import type { AttackRecord, ConditionValue } from "./load";

/** One condition of one attack: the standard fields (null where absent) and the other ones. */
export interface AttackCondition {
  attack: string;
  k: number | null;
  prefix_len: number | null;
  span_len: number | null;
  /** Other condition fields (present only when the records have any). */
  conditions?: Record<string, ConditionValue>;
}

/** The condition of a record. */
export function conditionOf(r: AttackRecord): AttackCondition {
  const c: AttackCondition = { attack: r.attack, k: r.k, prefix_len: r.prefix_len, span_len: r.span_len };
  const keys = Object.keys(r.conditions).sort();
  if (keys.length) c.conditions = Object.fromEntries(keys.map((k) => [k, r.conditions[k]]));
  return c;
}

/** A text key of a condition (1 and "1" differ here: condition values keep their type). */
export function conditionKey(c: AttackCondition): string {
  const other = c.conditions ? Object.entries(c.conditions).map(([k, v]) => [k, typeof v, v]) : [];
  return JSON.stringify([c.attack, c.k, c.prefix_len, c.span_len, other]);
}

/** Short text of a condition for tables: `k=5`, `prefix_len=2 span_len=4`, `decoding=greedy`. */
export function conditionLabel(c: AttackCondition): string {
  const parts: string[] = [];
  if (c.k !== null) parts.push(`k=${c.k}`);
  if (c.prefix_len !== null) parts.push(`prefix_len=${c.prefix_len}`);
  if (c.span_len !== null) parts.push(`span_len=${c.span_len}`);
  for (const [k, v] of Object.entries(c.conditions ?? {})) parts.push(`${k}=${v}`);
  return parts.length ? parts.join(" ") : "(all)";
}

/** Orders two condition values: null/undefined first, numbers by value, anything else by its text. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Orders conditions by attack, k, prefix_len, span_len (nulls first), then the other fields by name, each by value. */
export function compareConditions(a: AttackCondition, b: AttackCondition): number {
  const base = compareValues(a.attack, b.attack) || compareValues(a.k, b.k) || compareValues(a.prefix_len, b.prefix_len) || compareValues(a.span_len, b.span_len);
  if (base) return base;
  // other fields one by one, by name, each by value (ft_step 5 before 10, not as text)
  const ca = a.conditions ?? {};
  const cb = b.conditions ?? {};
  for (const f of [...new Set([...Object.keys(ca), ...Object.keys(cb)])].sort()) {
    const c = compareValues(ca[f], cb[f]);
    if (c) return c;
  }
  return 0;
}

/** Records grouped by condition, in condition order. */
export function groupByCondition(records: readonly AttackRecord[]): Array<{ condition: AttackCondition; records: AttackRecord[] }> {
  const m = new Map<string, { condition: AttackCondition; records: AttackRecord[] }>();
  for (const r of records) {
    const c = conditionOf(r);
    const key = conditionKey(c);
    let g = m.get(key);
    if (!g) m.set(key, (g = { condition: c, records: [] }));
    g.records.push(r);
  }
  return [...m.values()].sort((x, y) => compareConditions(x.condition, y.condition));
}
