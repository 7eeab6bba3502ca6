/**
 * Validation of JSON Lines token logs (long or wide layout), line by line while streaming; every
 * record goes through the shared RecordChecker (checkRecord.ts).
 */
import { RecordChecker, duplicateJsonKey, parseJsonLenient } from "./checkRecord";
import { ScanOptions, ScanResult, addProblems, decodeLine, gzipCutProblem, newResult, readError, readLines, tally } from "./lines";

/** Validates a JSON Lines token log line by line. */
export async function scanJsonLines(file: string, opts: ScanOptions = {}): Promise<ScanResult> {
  const r = newResult(file);
  const max = opts.maxProblems ?? 1000;
  const checker = new RecordChecker(file, opts.layout ?? null, opts.expected ?? null, opts.check);
  try {
    for await (const { bytes, line, last, terminated } of readLines(file, opts.onBytes, () => (r.gzipCut = true))) {
      // A gzip stream cut off inside a line: that line is lost with the rest (one gzip-cut problem below).
      if (r.gzipCut && last && !terminated) break;
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
      tally(r, checker.check(value, line), max, (rewritten) => opts.onValid?.(rewritten ? JSON.stringify(rewritten) : text));
    }
  } catch (e) {
    throw readError(file, e);
  }
  if (r.gzipCut) gzipCutProblem(r, max);
  r.layout = checker.layout;
  r.columns = checker.columns ?? [];
  r.rawFields = [...checker.rawFields];
  return r;
}

function jsonErrorText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/^JSON\.parse: /, "").replace(/\s+(in|after) JSON at position \d+.*$/, "").replace(/\s+at position \d+.*$/, "").slice(0, 120);
}

