/**
 * Streaming line-level reading of JSON Lines and CSV files (plain or gzip), for validation. Files
 * are never read whole into a string: bytes are split into lines as they arrive, so files larger
 * than memory and larger than Node's 512 MB string limit work.
 */
import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import { Problem } from "./errors";
import { ColumnKind, Layout, fixedKind } from "./schema";
import { RecordCheck, RecordChecker, duplicateJsonKey, parseJsonLenient } from "./records";

/** Longest line accepted (V8's string limit is about 512 MB). */
const MAX_LINE_BYTES = 256 * 1024 * 1024;

export interface ScanOptions {
  layout?: Layout | null;
  /** Columns fixed by earlier files of the same load. */
  expected?: Map<string, ColumnKind> | null;
  /** Called with the records written so far when they are valid (the skip mode writes them to a clean copy). */
  onValid?: (text: string) => void;
  /** Called with bytes read so far. */
  onBytes?: (bytes: number) => void;
  /** Keep at most this many problems (all are counted). Default 1000. */
  maxProblems?: number;
}

export interface ScanResult {
  file: string;
  layout: Layout | null;
  columns: Array<{ name: string; kind: ColumnKind }>;
  /** Records (lines for JSON Lines, data rows for CSV) read. */
  records: number;
  /** Records that passed. */
  validRecords: number;
  /** Token rows in the valid records. */
  tokens: number;
  problems: Problem[];
  problemCount: number;
  /** Invalid records by reason. */
  skippedByReason: Record<string, number>;
  /** The CSV header, when the file is CSV. */
  header?: string;
  /** The file starts with a UTF-8 byte-order mark, or has CR line ends: DuckDB must read a clean copy. */
  needsCleanCopy: boolean;
  /** A gzip file ended early (DuckDB cannot read it: load a clean copy). */
  gzipCut?: boolean;
  /** Bytes of the longest line (JSON Lines): DuckDB's read_json needs its object size limit above it. */
  longestLine?: number;
}

/** Yields the lines of a file as Buffers (without the line end), with 1-based line numbers. */
export async function* readLines(
  file: string,
  onBytes?: (bytes: number) => void,
  /** Called when a gzip stream ends early (a crashed writer): the lines before the cut are still read. */
  onGzipCut?: () => void,
): AsyncGenerator<{ bytes: Buffer; line: number; last: boolean; terminated: boolean }> {
  const raw = createReadStream(file);
  const stream = file.endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
  raw.on("error", (e) => stream.destroy(e));
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  let read = 0;
  let held: { bytes: Buffer; line: number } | null = null;
  const chunks = gzipTolerant(stream as AsyncIterable<Buffer>, file.endsWith(".gz") ? onGzipCut : undefined);
  for await (const chunk of chunks) {
    read += chunk.length;
    onBytes?.(read);
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      const bytes = pending.length ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingBytes = 0;
      line++;
      if (held) yield { ...held, last: false, terminated: true };
      held = { bytes, line };
      start = nl + 1;
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES) throw new LineTooLongError(line + 1);
      pending.push(Buffer.from(chunk.subarray(start)));
    }
  }
  if (pending.length) {
    if (held) yield { ...held, last: false, terminated: true };
    yield { bytes: Buffer.concat(pending), line: line + 1, last: true, terminated: false };
  } else if (held) {
    yield { ...held, last: true, terminated: true };
  }
}

/** Ends a gzip stream quietly at an "unexpected end of file" (a truncated file), telling `onCut`. */
async function* gzipTolerant(stream: AsyncIterable<Buffer>, onCut?: () => void): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (onCut && err?.code === "Z_BUF_ERROR" && /unexpected end of file/.test(err.message ?? "")) {
      onCut();
      return;
    }
    throw e;
  }
}

export class LineTooLongError extends Error {
  constructor(readonly line: number) {
    super(`line ${line} is longer than ${MAX_LINE_BYTES / 1024 / 1024} MB`);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

const hasBom = (b: Buffer) => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;

/** Decodes one line, dropping a BOM (first line) and a CR line end; null if it is not UTF-8. */
function decodeLine(bytes: Buffer, first: boolean, r: ScanResult): string | null {
  let b = bytes;
  if (first && hasBom(b)) {
    b = b.subarray(3);
    r.needsCleanCopy = true;
  }
  if (b.length && b[b.length - 1] === 13) b = b.subarray(0, b.length - 1);
  try {
    return utf8.decode(b);
  } catch {
    return null;
  }
}

function newResult(file: string): ScanResult {
  return { file, layout: null, columns: [], records: 0, validRecords: 0, tokens: 0, problems: [], problemCount: 0, skippedByReason: {}, needsCleanCopy: false };
}

function addProblems(r: ScanResult, ps: Problem[], max: number): void {
  if (ps.length === 0) return;
  r.problemCount += ps.length;
  for (const p of ps) if (r.problems.length < max) r.problems.push(p);
  const reason = ps[0].reason;
  r.skippedByReason[reason] = (r.skippedByReason[reason] ?? 0) + 1;
}

/** Counts one checked record: its problems, or a valid record and its tokens (then `onValid`). */
function tally(r: ScanResult, c: RecordCheck, max: number, onValid: () => void): void {
  if (c.problems.length) return addProblems(r, c.problems, max);
  r.validRecords++;
  r.tokens += c.tokens;
  onValid();
}

/** Validates a JSON Lines token log line by line. */
export async function scanJsonLines(file: string, opts: ScanOptions = {}): Promise<ScanResult> {
  const r = newResult(file);
  const max = opts.maxProblems ?? 1000;
  const checker = new RecordChecker(file, opts.layout ?? null, opts.expected ?? null);
  try {
    for await (const { bytes, line, last, terminated } of readLines(file, opts.onBytes, () => (r.gzipCut = true))) {
      if (bytes.length > (r.longestLine ?? 0)) r.longestLine = bytes.length;
      const text = decodeLine(bytes, line === 1, r);
      if (text === null) {
        r.records++;
        addProblems(r, [{ file, line, field: null, reason: "invalid-utf8", message: "not valid UTF-8 text" }], max);
        continue;
      }
      if (text.trim() === "") continue; // blank lines hold no record
      r.records++;
      let value: unknown;
      try {
        value = parseJsonLenient(text);
      } catch (e) {
        const cut = last && !terminated;
        addProblems(
          r,
          [
            cut
              ? { file, line, field: null, reason: "truncated-last-line", message: "the last line is cut off (no closing bracket or newline: did the run crash while writing?)" }
              : { file, line, field: null, reason: "invalid-json", message: `invalid JSON (${jsonErrorText(e)})` },
          ],
          max,
        );
        continue;
      }
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        const dup = duplicateJsonKey(text, value as Record<string, unknown>);
        if (dup !== null) {
          addProblems(r, [{ file, line, field: dup, reason: "duplicate-field", message: "appears twice in this record (which value is meant?)" }], max);
          continue;
        }
      }
      tally(r, checker.check(value, line), max, () => opts.onValid?.(text));
    }
  } catch (e) {
    throw readError(file, e);
  }
  r.layout = checker.layout;
  r.columns = checker.columns ?? [];
  return r;
}

function jsonErrorText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/^JSON\.parse: /, "").replace(/\s+(in|after) JSON at position \d+.*$/, "").replace(/\s+at position \d+.*$/, "").slice(0, 120);
}

/** Turns a read error into a one-line problem. */
export function readError(file: string, e: unknown): InvalidFileError {
  if (e instanceof LineTooLongError) return new InvalidFileError({ file, line: e.line, field: null, reason: "line-too-long", message: e.message });
  const err = e as NodeJS.ErrnoException;
  const code = err?.code;
  const msg =
    code === "ENOENT" ? "no such file" :
    code === "EACCES" || code === "EPERM" ? "permission denied (the file is not readable)" :
    code === "EISDIR" ? "is a directory (pass the files inside it, or a glob such as 'dir/*.jsonl')" :
    code === "Z_DATA_ERROR" || code === "Z_BUF_ERROR" || /unexpected end of file|incorrect header check/.test(err?.message ?? "") ? `not a valid gzip file (${err.message})` :
    `cannot read the file (${err?.message ?? String(e)})`;
  return new InvalidFileError({ file, line: null, field: null, reason: code === "ENOENT" ? "missing-file" : "unreadable", message: msg });
}

/** A whole file could not be read (carries one problem). */
export class InvalidFileError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

// ---------------------------------------------------------------------------------------------
// CSV (long layout only: a CSV cannot hold per-token arrays).

/** Splits CSV text into records (RFC 4180: quoted fields may hold commas, quotes and newlines). */
class CsvRecords {
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
  const checker = new RecordChecker(file, "long", opts.expected ?? null);
  let header: string[] | null = null;
  let numeric: boolean[] = [];
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
      const missing = ["run", "step", "example", "position", "loss"].filter((k) => !header!.includes(k));
      if (missing.length)
        throw new InvalidFileError({
          file, line, field: missing[0], reason: "bad-header",
          message: `missing from the header (${header.length === 1 && /[;\t|]/.test(header[0]) ? "the delimiter must be a comma" : `a CSV token log needs the columns run, step, example, position, loss; missing: ${missing.join(", ")}`})`,
        });
      return;
    }
    if (fields.length === 1 && fields[0].trim() === "") return; // blank line
    r.records++;
    if (cut) return addProblems(r, [{ file, line, field: null, reason: "truncated-last-line", message: `the last record is cut off (${bad}: did the run crash while writing?)` }], max);
    if (bad) return addProblems(r, [{ file, line, field: null, reason: "invalid-csv", message: `invalid CSV (${bad})` }], max);
    if (fields.length !== header.length)
      return addProblems(r, [{ file, line, field: null, reason: "invalid-csv", message: `${fields.length} fields, but the header has ${header.length}` }], max);
    if (numeric.length === 0) numeric = header.map((h, i) => csvColumnIsNumeric(h, fields[i]));
    const rec: Record<string, unknown> = {};
    header.forEach((h, i) => (rec[h] = csvValue(fields[i], numeric[i])));
    tally(r, checker.check(rec, line), max, () => opts.onValid?.(raw));
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
    parser.end(onRecord);
  } catch (e) {
    if (e instanceof InvalidFileError) throw e;
    throw readError(file, e);
  }
  if (header === null) throw new InvalidFileError({ file, line: null, field: null, reason: "empty-file", message: "the file is empty (no header, no records)" });
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

async function* readRaw(file: string, onBytes?: (n: number) => void, onGzipCut?: () => void): AsyncGenerator<{ bytes: Buffer }> {
  const raw = createReadStream(file);
  const stream = file.endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
  raw.on("error", (e) => stream.destroy(e));
  let n = 0;
  for await (const chunk of gzipTolerant(stream as AsyncIterable<Buffer>, file.endsWith(".gz") ? onGzipCut : undefined)) {
    n += chunk.length;
    onBytes?.(n);
    yield { bytes: chunk };
  }
}

/** A CSV column is numeric if it is a known metric, or an unknown column whose first value is a number. */
function csvColumnIsNumeric(name: string, first: string): boolean {
  if (name === "run" || name === "example") return false;
  if (name === "step" || name === "position") return true;
  const fixed = fixedKind(name);
  if (fixed !== null) return fixed !== "label-string";
  return NUMBER_RE.test(first.trim()) || /^[+-]?(nan|inf|infinity)$/i.test(first.trim());
}

/** Turns a CSV cell into the value a JSON record would hold, so that one checker serves both. */
function csvValue(cell: string, numeric: boolean): unknown {
  if (!numeric) return cell;
  const t = cell.trim();
  if (t === "") return null;
  if (/^[+-]?(nan|inf|infinity)$/i.test(t)) return `\u0000nonfinite:${t}`;
  if (NUMBER_RE.test(t)) return Number(t);
  return cell;
}
