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

/** Marks a bare NaN/Infinity that `parseJsonLenient` found in a JSON line. */
export const NON_FINITE_MARK = "\u0000nonfinite:";

export interface RecordCheck {
  problems: Problem[];
  /** Token rows the record holds (1 in the long layout). */
  tokens: number;
}

type Scalar = string | number | boolean | null;

function kindOfValue(v: unknown): ColumnKind | null {
  if (typeof v === "number") return Number.isInteger(v) ? "label-integer" : "metric";
  if (typeof v === "string") return v.startsWith(NON_FINITE_MARK) ? "metric" : "label-string";
  return null;
}

/**
 * Checks records of one file, in order. The first valid record fixes the layout (unless given)
 * and the fields; later records must have the same fields with values of the same kinds.
 */
export class RecordChecker {
  layout: Layout | null;
  /** Non-key fields in order of first appearance, with their kinds. */
  columns: Column[] | null = null;
  /** Wide layout: which non-key fields are per-record scalars (labels broadcast to every token). */
  scalarFields = new Set<string>();
  private readonly seenLong = new Set<string>();
  private readonly seenWide = new Map<string, Array<[number, number]>>();
  private readonly schemaLine: { line: number } = { line: 0 };

  constructor(
    readonly file: string,
    layout: Layout | null,
    /** Columns already fixed by another file of the same load (they must agree). */
    readonly expected: Map<string, ColumnKind> | null = null,
  ) {
    this.layout = layout;
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
    const rec = value as Record<string, unknown>;
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

    // Key fields.
    if (!("run" in rec)) p("run", "missing-field", "missing required field (expected a string)");
    else if (typeof rec.run !== "string" || rec.run.length === 0)
      p("run", "bad-key", `expected a non-empty string, got ${describeValue(rec.run)}`);
    if (!("step" in rec)) p("step", "missing-field", "missing required field (expected an integer >= 0)");
    else if (!isIndex(rec.step)) p("step", "bad-key", `expected an integer >= 0, got ${describeValue(rec.step)}`);
    if (!("example" in rec)) p("example", "missing-field", "missing required field (expected a string or an integer)");
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
    if (layout === "long") {
      if (Array.isArray(rec.position) || Object.values(rec).some(Array.isArray)) {
        const f = Object.keys(rec).find((k) => Array.isArray(rec[k])) ?? "position";
        p(f, "layout-mismatch", "an array in a long-layout file (every record must be one token: the file's first record was long)");
        return { problems, tokens: 0 };
      }
      if (!("position" in rec)) p("position", "missing-field", "missing required field (expected an integer >= 0)");
      else if (!isIndex(rec.position)) p("position", "bad-key", `expected an integer >= 0, got ${describeValue(rec.position)}`);
      for (const [name, v] of Object.entries(rec)) {
        if (name === "run" || name === "step" || name === "example" || name === "position") continue;
        const k = this.checkValue(name, v as Scalar, p);
        if (k) kinds.set(name, k);
      }
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
        p(REQUIRED_METRIC, "layout-mismatch", "no per-token arrays in a wide-layout file (the file's first record was wide)");
        return { problems, tokens: 0 };
      }
      for (const [name, arr] of arrays) {
        if (length === null) {
          length = arr.length;
          lengthField = name;
        } else if (arr.length !== length) {
          p(name, "length-mismatch", `array of length ${arr.length}, but "${lengthField}" has length ${length} (per-token arrays must have equal lengths)`);
          continue;
        }
        let kind: ColumnKind | null = null;
        for (let i = 0; i < arr.length; i++) {
          const k = this.checkValue(name, arr[i] as Scalar, p, i);
          if (k === null) break; // one problem per field is enough
          kind = kind === null ? k : mergeKinds(kind, k);
        }
        kinds.set(name, kind ?? fixedKind(name) ?? "metric");
      }
      for (const [name, v] of Object.entries(rec)) {
        if (Array.isArray(v) || name === "run" || name === "step" || name === "example" || name === OFFSET_FIELD) continue;
        if (typeof v === "string" && !v.startsWith(NON_FINITE_MARK)) kinds.set(name, "label-string");
        else if (typeof v === "number" && Number.isInteger(v)) kinds.set(name, "label-integer");
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
    if (!kinds.has(REQUIRED_METRIC) && !problems.some((q) => q.field === REQUIRED_METRIC))
      p(REQUIRED_METRIC, "missing-field", layout === "wide" ? "missing required per-token array of finite numbers" : "missing required field (expected a finite number)");
    if (problems.length === 0) this.checkSchema(kinds, scalarsHere, line, p);
    if (problems.length === 0 && layout === "long") {
      // Example ids are text once loaded: 1 and "1" are the same example.
      const key = JSON.stringify([rec.run, rec.step, String(rec.example), rec.position]);
      if (this.seenLong.has(key))
        p(null, "duplicate-key", `duplicate key: run ${JSON.stringify(rec.run)}, step ${rec.step}, example ${JSON.stringify(rec.example)}, position ${rec.position} appears earlier`);
      else this.seenLong.add(key);
    }
    if (problems.length === 0 && this.layout === null) this.layout = layout;
    return { problems, tokens: problems.length === 0 ? tokens : 0 };
  }

  /** Checks one value of a non-key field; returns its kind, or null after reporting a problem. */
  private checkValue(name: string, v: Scalar, p: (f: string | null, r: string, m: string) => void, index?: number): ColumnKind | null {
    const where = index === undefined ? "" : `[${index}]`;
    const fixed = fixedKind(name) ?? this.expected?.get(name) ?? this.columns?.find((c) => c.name === name)?.kind ?? null;
    if (typeof v === "string" && v.startsWith(NON_FINITE_MARK)) {
      p(name + where, "not-finite", `expected a finite number, got ${v.slice(NON_FINITE_MARK.length)}`);
      return null;
    }
    if (v === null) {
      p(name + where, "missing-value", `expected ${fixed === "label-string" ? "a string" : "a finite number"}, got null (a missing value is invalid, never a zero)`);
      return null;
    }
    if (typeof v === "number" && !Number.isFinite(v)) {
      p(name + where, "not-finite", `expected a finite number, got ${v}`);
      return null;
    }
    const k = kindOfValue(v);
    if (k === null) {
      p(name + where, "bad-value", `expected a number or a string, got ${describeValue(v)}`);
      return null;
    }
    if (fixed === "metric" && k === "label-string") {
      p(name + where, "bad-value", `expected a finite number, got ${describeValue(v)}`);
      return null;
    }
    if (fixed === "label-integer" && k !== "label-integer") {
      p(name + where, "bad-value", `expected an integer, got ${describeValue(v)}`);
      return null;
    }
    if (fixed === "label-integer" && !fitsInt64(v as number)) {
      p(name + where, "bad-value", `expected an integer in the 64-bit range, got ${describeValue(v)}`);
      return null;
    }
    if (fixed === "label-string" && k !== "label-string") {
      p(name + where, "bad-value", `expected a string, got ${describeValue(v)}`);
      return null;
    }
    return fixed ?? (k === "label-integer" ? "metric" : k);
  }

  /** The first valid record fixes the fields; later ones must match them. */
  private checkSchema(kinds: Map<string, ColumnKind>, scalarsHere: Set<string>, line: number, p: (f: string | null, r: string, m: string) => void): void {
    if (this.columns === null) {
      let agrees = true;
      for (const [name, kind] of kinds) {
        const e = this.expected?.get(name);
        if (e !== undefined && e !== kind && !(e === "metric" && kind === "label-integer")) {
          p(name, "schema-mismatch", `is ${kindName(kind)} here but ${kindName(e)} in another file of this load`);
          agrees = false;
        }
      }
      if (agrees) {
        for (const s of scalarsHere) this.scalarFields.add(s);
        this.columns = [...kinds].map(([name, kind]) => (scalarsHere.has(name) ? { name, kind, scalar: true } : { name, kind }));
        this.schemaLine.line = line;
      }
      return;
    }
    for (const c of this.columns) {
      if (!kinds.has(c.name)) p(c.name, "missing-field", `missing, but line ${this.schemaLine.line} has it (every record of a file must have the same fields)`);
    }
    for (const [name, kind] of kinds) {
      const c = this.columns.find((x) => x.name === name);
      if (!c) p(name, "schema-mismatch", `not in line ${this.schemaLine.line} (every record of a file must have the same fields)`);
      else if (c.kind !== kind) {
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
  if ((a === "metric" && b === "label-integer") || (b === "metric" && a === "label-integer")) return "metric";
  return "label-string"; // a mix of strings and numbers; reported by the schema check
}

function kindName(k: ColumnKind): string {
  return k === "metric" ? "numeric" : k === "label-integer" ? "an integer label" : "text";
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
