/**
 * Record-level validation of token logs, shared by every text format: one parsed record (a JSON
 * object, or a CSV row turned into one) is checked against METRICS.md and against the fields the
 * file's first valid record established. This is the authority on what is valid; the DuckDB fast
 * path only decides whether a file needs to come here.
 */
import { Problem } from "../errors";
import {
  Column,
  ColumnKind,
  Layout,
  OFFSET_FIELD,
  REQUIRED_METRIC,
  describeValue,
  fixedKind,
  isIndex,
} from "./schema";
import { ColumnMapping, candidatesText, mapRecord } from "./mapping";
import { ScoredRows, maskValue, rowKeeper } from "./scored";

/** Marks a bare NaN/Infinity that `parseJsonLenient` found in a JSON line. */
export const NON_FINITE_MARK = "\u0000nonfinite:";

export interface RecordCheck {
  problems: Problem[];
  /** Token rows the record holds (1 in the long layout). */
  tokens: number;
  /** Skip mode: metric values set to null (not measured) because they were invalid, with the reason. */
  dropped?: Array<{ field: string; reason: string; problem: Problem }>;
  /**
   * The record as DuckDB must read it, when values were set to null (an invalid value in skip mode,
   * or a NaN or string in a row that is not scored); its keys are the file's own column names.
   * Absent when the original text can be read as it is.
   */
  rewritten?: Record<string, unknown>;
}

/** How a file's records are read: the column mapping, which rows are scored, and the skip mode. */
export interface CheckOptions {
  mapping?: ColumnMapping;
  scored?: ScoredRows;
  /** Skip mode: an invalid metric value becomes null (counted) instead of invalidating the record. */
  dropInvalidValues?: boolean;
}

type Scalar = string | number | boolean | null;

function kindOfValue(v: unknown): ColumnKind | null {
  if (typeof v === "number") return Number.isInteger(v) ? "label-integer" : "metric";
  if (typeof v === "string") return v.startsWith(NON_FINITE_MARK) ? "metric" : "label-string";
  return null;
}

/** What one value is: of a kind, absent (null: not measured), or invalid with a reason. */
type Judged = { kind: ColumnKind } | { absent: true } | { reason: string; message: string; metric: boolean };

/**
 * Checks records of one file, in order. The first valid record fixes the layout (unless given)
 * and the fields; later records must have the same label fields with values of the same kinds.
 * Metrics may be absent or null in a record (not measured, METRICS 1.2); a new metric may appear in
 * a later record. A scored row needs at least one measured metric.
 */
export class RecordChecker {
  layout: Layout | null;
  /** Non-key fields in order of first appearance, with their kinds. */
  columns: Column[] | null = null;
  /** Wide layout: which non-key fields are per-record scalars (labels broadcast to every token). */
  scalarFields = new Set<string>();
  /** The file's own column names seen (before mapping), in order of first appearance. */
  readonly rawFields = new Set<string>();
  private readonly seenLong = new Set<string>();
  private readonly seenWide = new Map<string, Array<[number, number]>>();
  private readonly schemaLine: { line: number } = { line: 0 };
  private readonly keeper: ReturnType<typeof rowKeeper>;
  /** Columns named by mask/unscored/span: labels (or the mask), never metrics. */
  private readonly roles: Map<string, "mask" | "label">;

  constructor(
    readonly file: string,
    layout: Layout | null,
    /** Columns already fixed by another file of the same load (they must agree). */
    readonly expected: Map<string, ColumnKind> | null = null,
    readonly options: CheckOptions = {},
  ) {
    this.layout = layout;
    this.keeper = rowKeeper(options.scored);
    this.roles = new Map();
    if (options.scored?.mask) this.roles.set(options.scored.mask, "mask");
    for (const k of [...Object.keys(options.scored?.unscored ?? {}), ...Object.keys(options.scored?.span ?? {})]) if (!this.roles.has(k)) this.roles.set(k, "label");
  }

  private problem(line: number, field: string | null, reason: string, message: string): Problem {
    return { file: this.file, line, field, reason, message };
  }

  /** Checks one parsed record. `value` is whatever the line parsed to. */
  check(value: unknown, line: number): RecordCheck {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return {
        problems: [this.problem(line, null, "not-an-object", `expected a JSON object, got ${describeValue(value)}`)],
        tokens: 0,
      };
    }
    const original = value as Record<string, unknown>;
    // The file's own names matter only under a mapping (which column holds a field); else the first record's.
    if (this.options.mapping || this.rawFields.size === 0) for (const k of Object.keys(original)) this.rawFields.add(k);
    const mapped = mapRecord(original, this.options.mapping);
    if (mapped.conflict !== null)
      return { problems: [this.problem(line, mapped.conflict, "mapping-conflict", `the record has both "${mapped.conflict}" and the column mapped to it, "${this.options.mapping![mapped.conflict]}" (which one is meant?)`)], tokens: 0 };
    const rec = mapped.rec;
    const sourceOf = (field: string) => (this.options.mapping?.[field] !== undefined && this.options.mapping[field] in original ? this.options.mapping[field] : field);
    let rewritten = false;
    /** Sets a value to null in the record and in what DuckDB will read. */
    const setNull = (field: string, index?: number) => {
      if (index === undefined) {
        rec[field] = null;
        original[sourceOf(field)] = null;
      } else (rec[field] as unknown[])[index] = null; // the same array object as in `original`
      rewritten = true;
    };
    const dropped: Array<{ field: string; reason: string; problem: Problem }> = [];
    // A bare NaN/Infinity where a key or a per-record value belongs is not a string.
    for (const name of ["run", "step", "example", "position", OFFSET_FIELD]) {
      const v = rec[name];
      if (typeof v === "string" && v.startsWith(NON_FINITE_MARK))
        return { problems: [this.problem(line, name, "bad-key", `expected ${name === "run" ? "a non-empty string" : name === "example" ? "a non-empty string or an integer" : "an integer >= 0"}, got ${v.slice(NON_FINITE_MARK.length)}`)], tokens: 0 };
    }
    const layout = this.layout ?? detectLayout(rec);
    if (layout === null) {
      return {
        problems: [
          this.problem(
            line,
            "position",
            "unknown-layout",
            "unknown layout: a long record needs a \"position\" field, a wide record per-token arrays such as \"loss\": [...]",
          ),
        ],
        tokens: 0,
      };
    }
    const problems: Problem[] = [];
    const p = (field: string | null, reason: string, message: string) => problems.push(this.problem(line, field, reason, message));
    const keys = Object.keys(rec);
    const missingKey = (field: string, expected: string) =>
      p(field, "missing-field", `missing required field (expected ${expected}); ${candidatesText(field, [...new Set([...this.rawFields, ...Object.keys(original)])], this.options.mapping)}`);

    // Key fields.
    if (!("run" in rec)) missingKey("run", "a string");
    else if (typeof rec.run !== "string" || rec.run.length === 0)
      p("run", "bad-key", `expected a non-empty string, got ${describeValue(rec.run)}`);
    if (!("step" in rec)) missingKey("step", "an integer >= 0");
    else if (!isIndex(rec.step)) p("step", "bad-key", `expected an integer >= 0, got ${describeValue(rec.step)}`);
    if (!("example" in rec)) missingKey("example", "a string or an integer");
    else if (!(typeof rec.example === "string" && rec.example.length > 0) && !(typeof rec.example === "number" && Number.isInteger(rec.example)))
      p("example", "bad-key", `expected a non-empty string or an integer, got ${describeValue(rec.example)}`);
    else if (typeof rec.example === "number" && !Number.isSafeInteger(rec.example))
      p("example", "bad-key", `expected an integer of at most 2^53 - 1 in magnitude (write larger ids as strings), got ${describeValue(rec.example)}`);
    for (const [name, v] of Object.entries(rec)) {
      const bad = badFieldName(name, rec);
      if (bad) p(name, "bad-field-name", bad);
      if (typeof v === "string" && !isWellFormedText(v)) p(name, "invalid-text", "a string with an unpaired surrogate (\\ud800-\\udfff): not valid Unicode text");
      else if (Array.isArray(v) && v.some((x) => typeof x === "string" && !isWellFormedText(x)))
        p(name, "invalid-text", "an element is a string with an unpaired surrogate (\\ud800-\\udfff): not valid Unicode text");
    }
    if (problems.length) return { problems, tokens: 0 };

    let tokens = 1;
    const kinds = new Map<string, ColumnKind>();
    const scalarsHere = new Set<string>();
    /** Metrics with a value in this record (scored rows only). */
    let measured = 0;
    let scored = 0;
    /** One value of a scored row: its kind recorded, or the problem (or, in skip mode, the dropped value). */
    const take = (name: string, j: Judged, index?: number): boolean => {
      if ("kind" in j) {
        const prev = kinds.get(name);
        kinds.set(name, prev === undefined ? j.kind : mergeKinds(prev, j.kind));
        return true;
      }
      if ("absent" in j) return true;
      if (j.metric && this.options.dropInvalidValues) {
        setNull(name, index);
        dropped.push({ field: name, reason: j.reason, problem: this.problem(line, name + (index === undefined ? "" : `[${index}]`), j.reason, j.message) });
        return true;
      }
      p(name + (index === undefined ? "" : `[${index}]`), j.reason, j.message);
      return false;
    };
    /** One value of a row that is not scored: never a problem; a value DuckDB could not read becomes null. */
    const quiet = (name: string, j: Judged, index?: number) => {
      if ("kind" in j) {
        if (!kinds.has(name)) kinds.set(name, j.kind);
      } else if (!("absent" in j)) setNull(name, index);
    };
    if (layout === "long") {
      if (Array.isArray(rec.position) || Object.values(rec).some(Array.isArray)) {
        const f = Object.keys(rec).find((k) => Array.isArray(rec[k])) ?? "position";
        p(f, "layout-mismatch", "an array in a long-layout file (every record must be one token: the file's first record was long)");
        return { problems, tokens: 0 };
      }
      if (!("position" in rec)) missingKey("position", "an integer >= 0");
      else if (!isIndex(rec.position)) p("position", "bad-key", `expected an integer >= 0, got ${describeValue(rec.position)}`);
      const keep = this.keeper ? this.keeper((n) => rec[n]) : true;
      if (typeof keep === "object") {
        p(keep.badMask, maskReason(rec[keep.badMask]), `expected a boolean or 0/1 (the --mask column), got ${describeValue(rec[keep.badMask])}`);
        return { problems, tokens: 0 };
      }
      for (const [name, v] of Object.entries(rec)) {
        if (name === "run" || name === "step" || name === "example" || name === "position") continue;
        const j = this.judge(name, v as Scalar);
        if (!keep && !this.roles.has(name)) quiet(name, j);
        else if (take(name, j) && "kind" in j && j.kind === "metric" && rec[name] !== null) measured++;
      }
      scored = keep ? 1 : 0;
    } else {
      if ("position" in rec) {
        p("position", "layout-mismatch", "a wide record has no \"position\" (positions are array indices plus \"offset\")");
        return { problems, tokens: 0 };
      }
      let offset = 0;
      if (OFFSET_FIELD in rec) {
        if (!isIndex(rec[OFFSET_FIELD])) p(OFFSET_FIELD, "bad-key", `expected an integer >= 0, got ${describeValue(rec[OFFSET_FIELD])}`);
        else offset = rec[OFFSET_FIELD] as number;
      }
      let length: number | null = null;
      let lengthField = "";
      const arrays = Object.entries(rec).filter(([, v]) => Array.isArray(v)) as Array<[string, unknown[]]>;
      if (arrays.length === 0) {
        p(keys.find((k) => rec[k] === null) ?? REQUIRED_METRIC, "layout-mismatch", "no per-token arrays in a wide-layout file (the file's first record was wide; a record with no metric measured holds no token)");
        return { problems, tokens: 0 };
      }
      for (const [name, arr] of arrays) {
        if (length === null) {
          length = arr.length;
          lengthField = name;
        } else if (arr.length !== length) {
          p(name, "length-mismatch", `array of length ${arr.length}, but "${lengthField}" has length ${length} (per-token arrays must have equal lengths)`);
        }
      }
      if (problems.length) return { problems, tokens: 0 };
      // Which elements are scored (the filter columns may be arrays or per-record values).
      const keepAt: boolean[] = [];
      for (let i = 0; i < (length ?? 0); i++) {
        const k = this.keeper ? this.keeper((n) => (Array.isArray(rec[n]) ? (rec[n] as unknown[])[i] : rec[n])) : true;
        if (typeof k === "object") {
          const bad = Array.isArray(rec[k.badMask]) ? (rec[k.badMask] as unknown[])[i] : rec[k.badMask];
          p(k.badMask, maskReason(bad), `expected a boolean or 0/1 (the --mask column), got ${describeValue(bad)}`);
          return { problems, tokens: 0 };
        }
        keepAt.push(k);
        if (k) scored++;
      }
      const measuredAt = new Array<boolean>(length ?? 0).fill(false);
      for (const [name, arr] of arrays) {
        const role = this.roles.has(name);
        for (let i = 0; i < arr.length; i++) {
          let j = this.judge(name, arr[i] as Scalar);
          // A null element where the record has the metric: a shift or padding bug, not "not measured".
          if ("absent" in j && !role) j = { reason: "missing-value", message: "expected a finite number, got null (a null element inside a per-token array is invalid; a metric not measured for a record is null or absent as a whole)", metric: true };
          if (!keepAt[i] && !role) quiet(name, j, i);
          else if (!take(name, j, i)) break; // one problem per field is enough
          else if ("kind" in j && j.kind === "metric" && arr[i] !== null) measuredAt[i] = true;
        }
        if (!kinds.has(name) && !role && arr.length > 0 && arr.every((x) => x === null)) kinds.set(name, fixedKind(name) ?? "metric");
        if (!kinds.has(name) && arr.length === 0) kinds.set(name, fixedKind(name) ?? "metric");
      }
      measured = measuredAt.some((m, i) => m && keepAt[i]) ? 1 : 0;
      for (const [name, v] of Object.entries(rec)) {
        if (Array.isArray(v) || name === "run" || name === "step" || name === "example" || name === OFFSET_FIELD) continue;
        if (v === null) continue; // a metric not measured for this record
        if (typeof v === "string" && !v.startsWith(NON_FINITE_MARK)) kinds.set(name, this.roles.get(name) === "mask" ? "mask" : "label-string");
        else if (typeof v === "number" && Number.isInteger(v)) kinds.set(name, this.roles.get(name) === "mask" ? "mask" : "label-integer");
        else if (typeof v === "boolean" && this.roles.get(name) === "mask") kinds.set(name, "mask");
        else p(name, "bad-value", `a per-record field must be a string or an integer, got ${describeValue(v)}`);
        if (kinds.get(name) === "label-integer" && !fitsInt64(v as number)) p(name, "bad-value", `an integer outside the 64-bit range: ${describeValue(v)}`);
        scalarsHere.add(name);
      }
      if (this.columns !== null) {
        for (const c of this.columns) {
          if (!kinds.has(c.name)) continue;
          const scalarHere = scalarsHere.has(c.name);
          if (Boolean(c.scalar) !== scalarHere)
            p(c.name, "schema-mismatch", scalarHere
              ? `a per-record value here, but a per-token array in line ${this.schemaLine.line} (a field must have the same shape in every record)`
              : `a per-token array here, but a per-record value in line ${this.schemaLine.line} (a field must have the same shape in every record)`);
        }
      }
      tokens = length ?? 0;
      if (tokens === 0) p(lengthField, "empty-record", "per-token arrays are empty (a record must hold at least one token)");
      if (problems.length === 0) {
        const key = `${rec.run}\u0000${rec.step}\u0000${rec.example}`;
        const spans = this.seenWide.get(key) ?? [];
        const hit = spans.find(([a, b]) => offset < b && a < offset + tokens);
        if (hit) {
          p(null, "duplicate-key", `duplicate key: run ${JSON.stringify(rec.run)}, step ${rec.step}, example ${JSON.stringify(rec.example)} already has positions ${hit[0]}..${hit[1] - 1}`);
        } else {
          spans.push([offset, offset + tokens]);
          this.seenWide.set(key, spans);
        }
      }
    }
    if (problems.length === 0 && scored > 0 && measured === 0 && dropped.length === 0 && layout === "long")
      p(this.columns?.find((c) => c.kind === "metric")?.name ?? REQUIRED_METRIC, "no-metric", "a scored row with no metric value (every metric is absent or null; rows that are not tokens of the log are named with --mask, --unscored or --span)");
    if (problems.length === 0 && scored > 0 && measured === 0 && dropped.length === 0 && layout === "wide")
      p(this.columns?.find((c) => c.kind === "metric")?.name ?? REQUIRED_METRIC, "no-metric", "a record with scored tokens but no metric measured");
    if (problems.length === 0) this.checkSchema(kinds, scalarsHere, line, p);
    if (problems.length === 0 && layout === "long") {
      // Example ids are text once loaded: 1 and "1" are the same example.
      const key = JSON.stringify([rec.run, rec.step, String(rec.example), rec.position]);
      if (this.seenLong.has(key))
        p(null, "duplicate-key", `duplicate key: run ${JSON.stringify(rec.run)}, step ${rec.step}, example ${JSON.stringify(rec.example)}, position ${rec.position} appears earlier`);
      else this.seenLong.add(key);
    }
    if (problems.length === 0 && this.layout === null) this.layout = layout;
    if (problems.length) return { problems, tokens: 0 };
    return { problems, tokens, ...(dropped.length ? { dropped } : {}), ...(rewritten ? { rewritten: original } : {}) };
  }

  /** What one value of a non-key field is (METRICS 1 and 1.2). */
  private judge(name: string, v: Scalar): Judged {
    const role = this.roles.get(name);
    if (role === "mask") {
      if (v === null) return { absent: true };
      return maskValue(v) === null ? { reason: maskReason(v), message: `expected a boolean or 0/1 (the --mask column), got ${describeValue(v)}`, metric: false } : { kind: "mask" };
    }
    if (role === "label") {
      if (v === null) return { absent: true };
      if (typeof v === "string" && !v.startsWith(NON_FINITE_MARK)) return { kind: "label-string" };
      if (typeof v === "number" && Number.isInteger(v) && fitsInt64(v)) return { kind: "label-integer" };
      return { reason: "bad-value", message: `expected a string or an integer (a label named by --unscored or --span), got ${describeValue(v)}`, metric: false };
    }
    const fixed = fixedKind(name) ?? this.expected?.get(name) ?? this.columns?.find((c) => c.name === name)?.kind ?? null;
    const isMetric = fixed === null || fixed === "metric";
    if (typeof v === "string" && v.startsWith(NON_FINITE_MARK))
      return { reason: "not-finite", message: `expected a finite number, got ${v.slice(NON_FINITE_MARK.length)}`, metric: isMetric };
    if (v === null) {
      if (fixed === "label-string" || fixed === "label-integer")
        return { reason: "missing-value", message: `expected ${fixed === "label-string" ? "a string" : "an integer"}, got null (a label cannot be missing)`, metric: false };
      return { absent: true };
    }
    if (typeof v === "number" && !Number.isFinite(v)) return { reason: "not-finite", message: `expected a finite number, got ${v}`, metric: isMetric };
    const k = kindOfValue(v);
    if (k === null) return { reason: "bad-value", message: `expected a number or a string, got ${describeValue(v)}`, metric: false };
    if (fixed === "metric" && k === "label-string") return { reason: "bad-value", message: `expected a finite number, got ${describeValue(v)}`, metric: true };
    if (fixed === "label-integer" && k !== "label-integer") return { reason: "bad-value", message: `expected an integer, got ${describeValue(v)}`, metric: false };
    if (fixed === "label-integer" && !fitsInt64(v as number)) return { reason: "bad-value", message: `expected an integer in the 64-bit range, got ${describeValue(v)}`, metric: false };
    if (fixed === "label-string" && k !== "label-string") return { reason: "bad-value", message: `expected a string, got ${describeValue(v)}`, metric: false };
    return { kind: fixed ?? (k === "label-integer" ? "metric" : k) };
  }

  /** The first valid record fixes the fields; later ones must match them (a metric may be absent, or new). */
  private checkSchema(kinds: Map<string, ColumnKind>, scalarsHere: Set<string>, line: number, p: (f: string | null, r: string, m: string) => void): void {
    const conflictsWithOtherFiles = (name: string, kind: ColumnKind): boolean => {
      const e = this.expected?.get(name);
      if (e !== undefined && e !== kind && !(e === "metric" && kind === "label-integer")) {
        p(name, "schema-mismatch", `is ${kindName(kind)} here but ${kindName(e)} in another file of this load`);
        return true;
      }
      return false;
    };
    if (this.columns === null) {
      let agrees = true;
      for (const [name, kind] of kinds) if (conflictsWithOtherFiles(name, kind)) agrees = false;
      if (agrees) {
        for (const s of scalarsHere) this.scalarFields.add(s);
        this.columns = [...kinds].map(([name, kind]) => (scalarsHere.has(name) ? { name, kind, scalar: true } : { name, kind }));
        this.schemaLine.line = line;
      }
      return;
    }
    for (const c of this.columns) {
      if (!kinds.has(c.name) && c.kind !== "metric" && !this.roles.has(c.name))
        p(c.name, "missing-field", `missing, but line ${this.schemaLine.line} has it (every record of a file must have the same label fields)`);
    }
    for (const [name, kind] of kinds) {
      const c = this.columns.find((x) => x.name === name);
      if (!c) {
        // A metric first measured here (METRICS 1.2), or a filter column first given a value.
        if ((kind === "metric" || this.roles.has(name)) && !conflictsWithOtherFiles(name, kind)) {
          this.columns.push(scalarsHere.has(name) ? { name, kind, scalar: true } : { name, kind });
          if (scalarsHere.has(name)) this.scalarFields.add(name);
        } else if (kind !== "metric" && !this.roles.has(name)) p(name, "schema-mismatch", `not in line ${this.schemaLine.line} (every record of a file must have the same label fields)`);
      } else if (c.kind !== kind) {
        // Integers in a float metric column are fine; anything else is a conflict.
        if (!(c.kind === "metric" && kind === "label-integer")) p(name, "schema-mismatch", `is ${kindName(kind)} here but ${kindName(c.kind)} in line ${this.schemaLine.line}`);
      }
    }
  }
}
/**
 * Integers a DuckDB BIGINT may hold. JSON.parse rounds 2^63 - 1 up to 2^63, so 2^63 itself passes
 * here; DuckDB reads the exact text and refuses a true 2^63 (a clean input error, see load.ts).
 */
function fitsInt64(v: number): boolean {
  return Number.isInteger(v) && v >= -(2 ** 63) && v <= 2 ** 63;
}

/** Strings DuckDB accepts: no unpaired UTF-16 surrogates (JSON.parse lets "\\ud800" through). */
function isWellFormedText(s: string): boolean {
  return !/[\ud800-\udfff]/.test(s) || (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** Why a field name cannot be a column (DuckDB names are case-insensitive), or null. */
function badFieldName(name: string, rec: Record<string, unknown>): string | null {
  if (name.length === 0) return "a field with an empty name";
  if (name.includes("\u0000")) return "a field name with a NUL byte";
  if (name.startsWith("__aligndepth")) return "field names starting with __aligndepth are reserved";
  const lower = name.toLowerCase();
  const keys = Object.keys(rec);
  const other = keys.find((k) => k !== name && k.toLowerCase() === lower);
  if (other !== undefined && keys.indexOf(other) < keys.indexOf(name)) return `differs from field "${other}" only in case (column names are case-insensitive)`;
  return null;
}

/**
 * The first top-level key that appears twice in a JSON object's text (JSON.parse keeps the last
 * value silently; DuckDB refuses), or null. Cheap: a full scan only when a key's text recurs.
 */
export function duplicateJsonKey(text: string, obj: Record<string, unknown>): string | null {
  let suspect = false;
  for (const k of Object.keys(obj)) {
    const q = JSON.stringify(k);
    const i = text.indexOf(q);
    if (i < 0 || text.indexOf(q, i + q.length) >= 0) {
      suspect = true;
      break;
    }
  }
  if (!suspect) return null;
  // Walk the top level of the object: strings at depth 1 followed by ':' are keys.
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < text.length && /\s/.test(text[k])) k++;
        if (text[k] === ":") {
          let key: string;
          try {
            key = JSON.parse(text.slice(i, j + 1));
          } catch {
            return null;
          }
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
      i = j;
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
  }
  return null;
}

function mergeKinds(a: ColumnKind, b: ColumnKind): ColumnKind {
  if (a === b) return a;
  if (a === "mask" || b === "mask") return "mask";
  if ((a === "metric" && b === "label-integer") || (b === "metric" && a === "label-integer")) return "metric";
  return "label-string"; // a mix of strings and numbers; reported by the schema check
}

function kindName(k: ColumnKind): string {
  return k === "metric" ? "numeric" : k === "label-integer" ? "an integer label" : k === "mask" ? "a mask" : "text";
}

/** Long when it has a scalar `position`, wide when it has per-token arrays, otherwise unknown. */
export function detectLayout(rec: Record<string, unknown>): Layout | null {
  const hasArray = Object.values(rec).some(Array.isArray);
  if (hasArray) return "wide";
  if ("position" in rec) return "long";
  return null;
}

/**
 * JSON.parse that also accepts the bare NaN, Infinity and -Infinity that Python's json module
 * writes, turning them into marked strings so that the checker can name the field.
 */
export function parseJsonLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!/NaN|Infinity/.test(text)) throw e;
    let out = "";
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        out += c;
        if (c === "\\") {
          out += text[i + 1] ?? "";
          i++;
        } else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') {
        inString = true;
        out += c;
        continue;
      }
      const m = /^(-?Infinity|NaN)/.exec(text.slice(i, i + 9));
      if (m) {
        out += JSON.stringify(NON_FINITE_MARK + m[1]);
        i += m[1].length - 1;
        continue;
      }
      out += c;
    }
    return JSON.parse(out);
  }
}

/**
 * Why a --mask value is refused: `bad-mask-type` for text that is no number (the option names a
 * text column: a usage error), `bad-mask` for a value of the wrong kind in a mask column (2, 0.5,
 * null, NaN: input errors, located and counted, METRICS 1.5).
 */
export function maskReason(v: unknown): "bad-mask" | "bad-mask-type" {
  return typeof v === "string" && !v.startsWith(NON_FINITE_MARK) && !Number.isFinite(Number(v.trim())) ? "bad-mask-type" : "bad-mask";
}
