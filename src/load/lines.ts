/**
 * Streaming reading of text files (JSON Lines, CSV; plain or gzip), shared by the validators of
 * both formats: lines or raw chunks as they arrive, so files larger than memory and larger than
 * Node's 512 MB string limit work; the per-file result of a validating scan and its tallies.
 */
import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import { Problem } from "../errors";
import { ColumnKind, Layout } from "./schema";
import type { CheckOptions, RecordCheck } from "./checkRecord";
import { problemGroup } from "./problems";

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
  /** Column mapping, scored rows and skip mode for the record checker. */
  check?: CheckOptions;
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
  /**
   * Every example id is a JSON string (JSON Lines; known from the gate's pass): DuckDB then reads it
   * as text, without the per-row JSON type test that integer ids need.
   */
  exampleText?: boolean;
  /** Skip mode: metric values set to null because they were invalid, by metric and reason. */
  droppedValues: Record<string, Record<string, number>>;
  /** Some valid records were rewritten (values set to null): DuckDB must read a clean copy. */
  rewrites: boolean;
  /** The file's own column names (before mapping). */
  rawFields: string[];
  /** Problems by (field, reason) group (problems.ts), all counted (the list keeps the first few). */
  problemGroups: Record<string, number>;
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
export async function* gzipTolerant(stream: AsyncIterable<Buffer>, onCut?: () => void): AsyncGenerator<Buffer> {
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

export const hasBom = (b: Buffer) => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;

/** Decodes one line, dropping a BOM (first line) and a CR line end; null if it is not UTF-8. */
export function decodeLine(bytes: Buffer, first: boolean, r: ScanResult): string | null {
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

export function newResult(file: string): ScanResult {
  return { file, layout: null, columns: [], records: 0, validRecords: 0, tokens: 0, problems: [], problemCount: 0, skippedByReason: {}, needsCleanCopy: false, droppedValues: {}, rewrites: false, rawFields: [], problemGroups: {} };
}

/**
 * A gzip stream cut off by a crash (truncated, or missing its trailer): a whole-file problem naming
 * the records read before the cut (the rest of the file is lost), listed first. Without the skip
 * mode it refuses the file; with it, the records before the cut are used and the cut is warned about.
 */
export function gzipCutProblem(r: ScanResult, max: number): void {
  const p: Problem = { file: r.file, line: null, field: null, reason: "gzip-cut", message: `gzip stream is cut off (unexpected end of file): ${r.records} records read before the cut` };
  r.problemCount++;
  r.problemGroups[problemGroup(p)] = (r.problemGroups[problemGroup(p)] ?? 0) + 1;
  r.problems.unshift(p);
  if (r.problems.length > max) r.problems.length = max;
}

export function addProblems(r: ScanResult, ps: Problem[], max: number): void {
  if (ps.length === 0) return;
  r.problemCount += ps.length;
  for (const p of ps) r.problemGroups[problemGroup(p)] = (r.problemGroups[problemGroup(p)] ?? 0) + 1;
  for (const p of ps) if (r.problems.length < max) r.problems.push(p);
  const reason = ps[0].reason;
  r.skippedByReason[reason] = (r.skippedByReason[reason] ?? 0) + 1;
}

/** Counts one checked record: its problems, or a valid record and its tokens (then `onValid`). */
export function tally(r: ScanResult, c: RecordCheck, max: number, onValid: (rewritten?: Record<string, unknown>) => void): void {
  if (c.problems.length) return addProblems(r, c.problems, max);
  r.validRecords++;
  r.tokens += c.tokens;
  // Skip mode: invalid values dropped, the record kept; each is still a problem (validate lists it).
  for (const d of c.dropped ?? []) {
    const by = (r.droppedValues[d.field] ??= {});
    by[d.reason] = (by[d.reason] ?? 0) + 1;
    r.problemCount++;
    r.problemGroups[problemGroup(d.problem)] = (r.problemGroups[problemGroup(d.problem)] ?? 0) + 1;
    if (r.problems.length < max) r.problems.push(d.problem);
  }
  if (c.rewritten) r.rewrites = true;
  onValid(c.rewritten);
}

/** Turns a read error into a one-line problem. */
/**
 * The problem of a JSON Lines line that does not parse: a cut-off last line (a crash while
 * writing) or invalid JSON. Shared by the attack and learning-dynamics loaders.
 */
export function jsonLineProblem(file: string, line: number, cutOff: boolean, e: unknown): Problem {
  return cutOff
    ? { file, line, field: null, reason: "truncated-last-line", message: "the last line is cut off (no closing bracket or newline)" }
    : { file, line, field: null, reason: "invalid-json", message: `invalid JSON (${(e as Error).message.slice(0, 120)})` };
}

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

export async function* readRaw(file: string, onBytes?: (n: number) => void, onGzipCut?: () => void): AsyncGenerator<{ bytes: Buffer }> {
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

