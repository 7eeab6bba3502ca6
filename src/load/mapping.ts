/**
 * Column mapping (METRICS 1.1): users name their own columns for the log's fields, e.g.
 * `{ step: "global_step", example: "sample_id", position: "token_idx", loss: "nll", token: "token_str" }`.
 * Each file's columns are renamed to the fields before validation, so every later stage sees the
 * fields' names. A mapped column that no input has is a usage error; a missing required field's
 * error names the columns that could be it.
 */
import { UsageError } from "../errors";
import { KEY_FIELDS, OFFSET_FIELD } from "./schema";

/** Field name -> the column that holds it in the files (`{ step: "global_step" }`). */
export type ColumnMapping = Record<string, string>;

/**
 * Parses the CLI form `step=global_step,example=sample_id` into a mapping.
 * @throws UsageError on a malformed pair, a field mapped twice, or a column mapped to two fields.
 */
export function parseColumnMapping(text: string | string[] | undefined): ColumnMapping | undefined {
  if (text === undefined) return undefined;
  const parts = (Array.isArray(text) ? text : [text]).flatMap((t) => t.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  const out: ColumnMapping = {};
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq <= 0 || eq === part.length - 1) throw new UsageError(`--columns takes FIELD=COLUMN pairs separated by commas (e.g. step=global_step,loss=nll), got ${JSON.stringify(part)}`);
    const field = part.slice(0, eq).trim();
    const column = part.slice(eq + 1).trim();
    if (field in out) throw new UsageError(`--columns: field "${field}" is mapped twice`);
    out[field] = column;
  }
  checkColumnMapping(out);
  return Object.keys(out).length ? out : undefined;
}

/** Checks a mapping given through the API (the same rules as the CLI form). */
export function checkColumnMapping(mapping: ColumnMapping): void {
  const seen = new Map<string, string>();
  for (const [field, column] of Object.entries(mapping)) {
    if (typeof column !== "string" || column === "") throw new UsageError(`columns: field "${field}" must map to a column name`);
    const other = seen.get(column);
    if (other !== undefined) throw new UsageError(`columns: column "${column}" is mapped to both "${other}" and "${field}"`);
    seen.set(column, field);
  }
}

/** The column of the file that holds `field` (the field's own name when it is not mapped). */
export function sourceColumn(mapping: ColumnMapping | undefined, field: string): string {
  return mapping?.[field] ?? field;
}

/**
 * A record with its mapped columns renamed to their fields. `conflict` names a field that the file
 * holds both under its own name and under the column mapped to it (which one is meant?).
 */
export function mapRecord(rec: Record<string, unknown>, mapping: ColumnMapping | undefined): { rec: Record<string, unknown>; conflict: string | null } {
  if (!mapping) return { rec, conflict: null };
  const byColumn = new Map(Object.entries(mapping).map(([f, c]) => [c, f]));
  const out: Record<string, unknown> = {};
  let conflict: string | null = null;
  for (const [k, v] of Object.entries(rec)) {
    const field = byColumn.get(k);
    if (field !== undefined) out[field] = v;
    else if (k in mapping && mapping[k] !== k) {
      if (mapping[k] in rec) conflict ??= k;
      else out[k] = v; // the mapped column is absent here: the field's own name stands
    } else out[k] = v;
  }
  return { rec: out, conflict };
}

/** The field a file column is read as (the inverse of the mapping). */
export function fieldOf(mapping: ColumnMapping | undefined, column: string): string {
  if (!mapping) return column;
  for (const [f, c] of Object.entries(mapping)) if (c === column) return f;
  return column;
}

const HINTS: Record<string, RegExp> = {
  run: /run|model|name|recipe|seed|exp/i,
  step: /step|iter|checkpoint|ckpt|epoch|update/i,
  example: /example|sample|prompt|seq|id|idx|item|doc/i,
  position: /pos|idx|index|token_i|offset|tok_i|t$/i,
  loss: /loss|nll|nats|ce|xent|logp/i,
};

/**
 * Columns that could hold a missing field, best first: names that look like it (`global_step` for
 * `step`), then columns of the right shape. Key fields and already-used columns are left out.
 */
export function candidateColumns(field: string, columns: string[], mapping?: ColumnMapping): string[] {
  const used = new Set<string>([...KEY_FIELDS, OFFSET_FIELD, ...Object.values(mapping ?? {})]);
  const free = columns.filter((c) => !used.has(c));
  const hint = HINTS[field];
  const score = (c: string) => (c.toLowerCase().includes(field) ? 0 : hint?.test(c) ? 1 : 2);
  return free.filter((c) => score(c) < 2).sort((a, b) => score(a) - score(b));
}

/** The end of a missing-field message: the columns that could be it, and how to say so. */
export function candidatesText(field: string, columns: string[], mapping?: ColumnMapping): string {
  const c = candidateColumns(field, columns, mapping);
  if (c.length === 0) return `the file's columns: ${columns.join(", ") || "none"}`;
  return `could be ${c.slice(0, 3).map((x) => `"${x}"`).join(" or ")}: name it with --columns ${field}=${c[0]} (API: columns: { ${field}: "${c[0]}" })`;
}
