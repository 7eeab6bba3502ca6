/**
 * The token-log format (see docs/FORMAT.md): field names, their kinds, and the rules a value must
 * follow. Positions are 0-based indices inside the scored span: position 0 is the first scored token
 * (normally the first response token), i.e. the token predicted from the last prompt token after the
 * shift of next-token prediction.
 */

export type Layout = "long" | "wide";
export type Format = "jsonl" | "csv" | "parquet";

/** Fields every token row has. */
export const KEY_FIELDS = ["run", "step", "example", "position"] as const;
/** The metric every token log carries. */
export const REQUIRED_METRIC = "loss";
/** Metrics with a documented meaning; any other numeric column is a metric too. */
export const KNOWN_METRICS = ["loss", "kl", "grad_norm", "logprob", "ref_logprob"] as const;
/** Label fields: text or integer data about a token, never a metric. */
export const STRING_LABELS = ["token", "segment", "split", "tag", "recipe"] as const;
/**
 * Integer labels: the token's id, and the integer columns training loops dump beside the loss
 * (Hugging Face's `labels` with -100 on unscored tokens, `input_ids`, masks): data about a token,
 * never a metric, so that a padding row holding only them has no metric (METRICS 1.2).
 */
export const INTEGER_LABELS = ["token_id", "seed", "input_ids", "labels", "label", "loss_mask", "attention_mask", "mask"] as const;
/** Scalar of the wide layout: the position of the first array element (default 0). */
export const OFFSET_FIELD = "offset";

/** `mask`: the column named by --mask (boolean or 0/1), read as BOOLEAN. */
export type ColumnKind = "metric" | "label-string" | "label-integer" | "mask";

/** A non-key column of a token log, as found in the files. */
export interface Column {
  name: string;
  kind: ColumnKind;
  /** Wide layout: a per-record value repeated for every token of the record (not an array). */
  scalar?: boolean;
}

export function isKnownMetric(name: string): boolean {
  return (KNOWN_METRICS as readonly string[]).includes(name);
}

export function fixedKind(name: string): ColumnKind | null {
  if (isKnownMetric(name)) return "metric";
  if ((STRING_LABELS as readonly string[]).includes(name)) return "label-string";
  if ((INTEGER_LABELS as readonly string[]).includes(name)) return "label-integer";
  return null;
}

/** Largest step or position accepted (DuckDB INTEGER is enough for any real log; wider values are typos). */
export const MAX_INDEX = 2 ** 31 - 1;

export function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= MAX_INDEX;
}

/** Describes a value for error messages: `a string ("abc")`, `null`, `-3`, `1.5`. */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "nothing (the field is missing)";
  if (typeof v === "string" && v.startsWith("\u0000nonfinite:")) return v.slice("\u0000nonfinite:".length); // a bare NaN/Infinity
  if (typeof v === "string") {
    const s = v.length > 40 ? `${v.slice(0, 40)}...` : v;
    return `a string (${JSON.stringify(s)})`;
  }
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return `a boolean (${v})`;
  if (Array.isArray(v)) return "an array";
  return "an object";
}
