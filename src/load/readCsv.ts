/**
 * Validation of CSV token logs (long layout only: a CSV cannot hold per-token arrays), record by
 * record while streaming; each row becomes the object a JSON record would be, so that one checker
 * (checkRecord.ts) serves both text formats.
 */
import { RecordChecker } from "./checkRecord";
import { InvalidFileError, ScanOptions, ScanResult, addProblems, gzipCutProblem, hasBom, newResult, readError, readRaw, tally } from "./lines";
import { fixedKind } from "./schema";
import { candidatesText, fieldOf } from "./mapping";
import { scoredColumns } from "./scored";

/** Splits CSV text into records (RFC 4180: quoted fields may hold commas, quotes and newlines). */
export class CsvRecords {
  private field = "";
  private fields: string[] = [];
  private inQuotes = false;
  private afterQuote = false;
  private raw = "";
  line = 1;
  recordLine = 1;
  private bad: string | null = null;

  /** Feeds text; calls `emit` for every complete record. */
  feed(text: string, emit: (fields: string[], raw: string, line: number, bad: string | null) => void): void {
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      this.raw += c;
      if (this.inQuotes) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            this.field += '"';
            this.raw += '"';
            i++;
          } else {
            this.inQuotes = false;
            this.afterQuote = true;
          }
        } else {
          if (c === "\n") this.line++;
          this.field += c;
        }
        continue;
      }
      if (c === ",") {
        this.fields.push(this.field);
        this.field = "";
        this.afterQuote = false;
      } else if (c === "\n") {
        this.fields.push(this.field.endsWith("\r") && !this.afterQuote ? this.field.slice(0, -1) : this.field);
        const raw = this.raw.replace(/\r?\n$/, "");
        emit(this.fields, raw, this.recordLine, this.bad);
        this.fields = [];
        this.field = "";
        this.raw = "";
        this.afterQuote = false;
        this.bad = null;
        this.line++;
        this.recordLine = this.line;
      } else if (c === '"' && this.field === "" && !this.afterQuote) {
        this.inQuotes = true;
      } else if (c === "\r" && this.afterQuote) {
        // CR before LF after a closing quote
      } else {
        if (this.afterQuote && this.bad === null) this.bad = "text after a closing quote";
        if (c === '"' && this.bad === null) this.bad = "a quote inside an unquoted field";
        this.field += c;
      }
    }
  }

  /** Ends the input; returns the unterminated last record, if any. */
  end(emit: (fields: string[], raw: string, line: number, bad: string | null, cut: boolean) => void): void {
    if (this.raw.length === 0) return;
    if (this.inQuotes) {
      emit([...this.fields, this.field], this.raw, this.recordLine, "an unterminated quoted field", true);
      return;
    }
    this.fields.push(this.field.endsWith("\r") ? this.field.slice(0, -1) : this.field);
    emit(this.fields, this.raw, this.recordLine, this.bad, false);
  }
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Validates a CSV token log (long layout, with a header row). */
export async function scanCsv(file: string, opts: ScanOptions = {}): Promise<ScanResult> {
  const r = newResult(file);
  const max = opts.maxProblems ?? 1000;
  const checker = new RecordChecker(file, "long", opts.expected ?? null, opts.check);
  const mapping = opts.check?.mapping;
  const roles = new Set(scoredColumns(opts.check?.scored));
  let header: string[] | null = null;
  /** Per column: numeric or not, decided by its name or its first non-empty cell (undefined until then). */
  let numeric: Array<boolean | undefined> = [];
  let exampleCol = -1;
  const parser = new CsvRecords();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let first = true;
  const onRecord = (fields: string[], raw: string, line: number, bad: string | null, cut = false) => {
    if (header === null) {
      header = fields.map((f) => f.trim());
      r.header = raw;
      const dup = header.find((h, i) => header!.indexOf(h) !== i);
      if (dup !== undefined) throw new InvalidFileError({ file, line, field: dup, reason: "bad-header", message: "appears twice in the header" });
      const empty = header.findIndex((h) => h === "");
      if (empty >= 0) throw new InvalidFileError({ file, line, field: null, reason: "bad-header", message: `header column ${empty + 1} has no name` });
      const h = header;
      const named = h.map((x) => fieldOf(mapping, x));
      const missing = ["run", "step", "example", "position"].filter((k) => !named.includes(k));
      if (missing.length)
        throw new InvalidFileError({
          file, line, field: missing[0], reason: "bad-header",
          message: `missing from the header (${h.length === 1 && /[;\t|]/.test(h[0]) ? "the delimiter must be a comma" : `a CSV token log needs the columns run, step, example, position and at least one metric; missing: ${missing.join(", ")}; ${candidatesText(missing[0], h, mapping)}`})`,
        });
      if (named.every((f) => ["run", "step", "example", "position"].includes(f) || roles.has(f) || fixedKind(f) === "label-string" || fixedKind(f) === "label-integer"))
        throw new InvalidFileError({ file, line, field: null, reason: "bad-header", message: "no metric column in the header (a token log holds at least one metric, such as loss)" });
      numeric = named.map((f) => csvColumnKnownNumeric(f, roles));
      exampleCol = named.indexOf("example");
      r.rawFields = h;
      return;
    }
    if (fields.length === 1 && fields[0].trim() === "") return; // blank line
    r.records++;
    if (cut) return addProblems(r, [{ file, line, field: null, reason: "truncated-last-line", message: `the last record is cut off (${bad}: did the run crash while writing?)` }], max);
    if (bad) return addProblems(r, [{ file, line, field: null, reason: "invalid-csv", message: `invalid CSV (${bad})` }], max);
    if (fields.length !== header.length)
      return addProblems(r, [{ file, line, field: null, reason: "invalid-csv", message: `${fields.length} fields, but the header has ${header.length}` }], max);
    for (let i = 0; i < header.length; i++) if (numeric[i] === undefined && fields[i].trim() !== "") numeric[i] = looksNumeric(fields[i]);
    const rec: Record<string, unknown> = {};
    header.forEach((h, i) => (rec[h] = csvValue(fields[i], numeric[i])));
    // Example ids: a cell that reads as an integral number is that integer's canonical text (METRICS 1).
    const canon = exampleCol >= 0 ? canonicalExampleCell(fields[exampleCol]) : null;
    if (canon !== null) rec[header[exampleCol]] = canon;
    tally(r, checker.check(rec, line), max, (rewritten) => {
      if (canon !== null) r.rewrites = true;
      opts.onValid?.(rewritten || canon !== null ? header!.map((h) => csvCell((rewritten ?? rec)[h])).join(",") : raw);
    });
  };
  try {
    for await (const { bytes } of readRaw(file, opts.onBytes, () => (r.gzipCut = true))) {
      let b = bytes;
      if (first && hasBom(b)) {
        b = b.subarray(3);
        r.needsCleanCopy = true;
      }
      // CRLF: DuckDB reads it, but a quoted field may then keep a CR; a clean copy is exact.
      if (b.includes(13)) r.needsCleanCopy = true;
      first = false;
      let text: string;
      try {
        text = decoder.decode(b, { stream: true });
      } catch {
        throw new InvalidFileError({ file, line: parser.line + newlinesBeforeInvalidUtf8(b), field: null, reason: "invalid-utf8", message: "not valid UTF-8 text" });
      }
      parser.feed(text, onRecord);
    }
    // A gzip stream cut off inside a record: that record is lost with the rest (one gzip-cut problem below).
    if (!r.gzipCut) parser.end(onRecord);
  } catch (e) {
    if (e instanceof InvalidFileError) throw e;
    throw readError(file, e);
  }
  if (header === null) throw new InvalidFileError({ file, line: null, field: null, reason: "empty-file", message: "the file is empty (no header, no records)" });
  if (r.gzipCut) gzipCutProblem(r, max);
  r.layout = "long";
  r.columns = checker.columns ?? [];
  return r;
}

/** Newlines before the first invalid UTF-8 sequence of a chunk (binary search over prefixes). */
function newlinesBeforeInvalidUtf8(b: Buffer): number {
  let lo = 0;
  let hi = b.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(b.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  let n = 0;
  for (let i = 0; i < lo; i++) if (b[i] === 10) n++;
  return n;
}

/**
 * Whether a CSV column (by its field name) is numeric when the name says so: keys, known metrics
 * and labels; undefined for other columns, which are decided by their first non-empty cell.
 */
function csvColumnKnownNumeric(field: string, roles: Set<string>): boolean | undefined {
  if (field === "run" || field === "example") return false;
  if (field === "step" || field === "position") return true;
  if (roles.has(field)) return undefined;
  const fixed = fixedKind(field);
  if (fixed !== null) return fixed !== "label-string";
  return undefined;
}

/**
 * A CSV example-id cell that reads as a number with an integral value (`1.0`, `2.00`, `1e3`, `007`,
 * as a float or integer column is written: CSV has no types) as the integer's canonical decimal
 * text, or null when the cell is to be kept as it is (text ids, integers already canonical,
 * integers beyond 2^53 kept as written). METRICS 1: `1`, `"1"` and `1.0` are one id.
 */
export function canonicalExampleCell(cell: string): string | null {
  const t = cell.trim();
  if (!NUMBER_RE.test(t)) return null;
  const x = Number(t);
  if (!Number.isSafeInteger(x)) return null;
  const c = String(x); // -0 -> "0"
  return c === cell ? null : c;
}

function looksNumeric(cell: string): boolean {
  const t = cell.trim();
  return NUMBER_RE.test(t) || /^[+-]?(nan|inf|infinity)$/i.test(t);
}

/**
 * Turns a CSV cell into the value a JSON record would hold, so that one checker serves both. An
 * empty cell of a numeric column (or of a column not yet seen with a value) is null: not measured.
 */
function csvValue(cell: string, numeric: boolean | undefined): unknown {
  const t = cell.trim();
  if (numeric === undefined) return t === "" ? null : cell;
  if (!numeric) return cell;
  if (t === "") return null;
  if (/^[+-]?(nan|inf|infinity)$/i.test(t)) return `\u0000nonfinite:${t}`;
  if (NUMBER_RE.test(t)) return Number(t);
  return cell;
}

/** A value as a CSV cell (null: empty; text quoted when it must be). */
function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}
