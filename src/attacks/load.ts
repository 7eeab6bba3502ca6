/**
 * Loading attack results: one JSON Lines record per (run, attack condition, example) with the
 * outcome `harmful` (boolean) or a judge's `score` (harmful when score >= threshold). Judge files
 * (`{"idx", "question", "answer", "score"}` or `{"idx", "score"}`) hold no run, attack or condition:
 * those come from constants (`set`) or from named groups of a pattern over the file name.
 * Files (plain or gzip) are read line by line; every problem names file, line and field.
 */
import { basename } from "node:path";
import { InvalidInputError, Problem, UsageError } from "../errors";
import { resolveInputs } from "../load/inputs";
import { readError, readLines } from "../load/lines";

/** Condition fields read as integers >= 0 wherever they come from (record, pattern, --set). */
export const INTEGER_CONDITIONS = ["k", "prefix_len", "span_len"] as const;

/** Fields of a record that are neither identity, outcome nor condition: judge inputs and outputs. */
export const TEXT_FIELDS = ["question", "answer", "prompt", "response", "completion", "output", "reason", "explanation"];

const IDENTITY_FIELDS = ["run", "attack", "example", "idx", "harmful", "score"];

export type ConditionValue = string | number | boolean;

/** One attack outcome. `k`, `prefix_len`, `span_len` are null when the record has no such condition. */
export interface AttackRecord {
  run: string;
  attack: string;
  example: string | number;
  /** Prefilled harmful tokens (prefilling attack). */
  k: number | null;
  /** Refusal tokens before the inserted span (insertion attack). */
  prefix_len: number | null;
  /** Inserted span length (insertion attack). */
  span_len: number | null;
  /** Other condition fields (anything that is not identity, outcome, k/prefix_len/span_len or judge text). */
  conditions: Record<string, ConditionValue>;
  harmful: boolean;
  /** The judge's score, when the record had one. */
  score: number | null;
  file: string;
  line: number;
}

export interface AttackLoadOptions {
  /** Harmful when score >= threshold (default 5, the 1-5 judge scale of the published experiments). */
  threshold?: number;
  /** Constant fields for every record (e.g. `{ run: "gemma_it", attack: "prefill" }`). */
  set?: Record<string, string | number>;
  /**
   * A regular expression with named groups, matched against each file's base name; the groups
   * become fields (`k`, `prefix_len`, `span_len` as integers, others as text).
   */
  namePattern?: string;
  /** Use the valid lines and count the invalid ones by reason, instead of failing. Default false. */
  skipInvalid?: boolean;
  /** Problems kept (all are counted). Default 100. */
  maxProblems?: number;
}

export interface AttackFileReport {
  path: string;
  records: number;
  recordsUsed: number;
  recordsSkipped: number;
  skipped: Record<string, number>;
}

export interface AttackReport {
  files: AttackFileReport[];
  records: number;
  recordsUsed: number;
  recordsSkipped: number;
  /** Skipped records by reason. */
  skipped: Record<string, number>;
  threshold: number;
  problems: Problem[];
  problemCount: number;
}

export interface AttackResults {
  records: AttackRecord[];
  report: AttackReport;
}

/** A `--set` value: text that looks like an integer becomes an integer. */
export function parseSetValue(v: string): string | number {
  return /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v;
}

/** Parses `FIELD=VALUE` strings (the CLI's `--set`) into constants; bad syntax is a usage error. */
export function parseSetPairs(pairs: string[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const p of pairs) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set takes FIELD=VALUE, got ${JSON.stringify(p)}`);
    const field = p.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) throw new UsageError(`--set: ${JSON.stringify(field)} is not a field name (letters, digits, _)`);
    out[field] = parseSetValue(p.slice(eq + 1));
  }
  return out;
}

/** Compiles a name pattern; an invalid one, or one without named groups, is a usage error. */
export function compileNamePattern(pattern: string): RegExp {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    throw new UsageError(`invalid --name-pattern ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
  if (!/\(\?<[A-Za-z_]/.test(pattern)) throw new UsageError(`--name-pattern ${JSON.stringify(pattern)} has no named group such as (?<k>\\d+)`);
  return re;
}

type Fields = Record<string, unknown>;

/** Fields a file contributes: named groups of the pattern over its base name. */
function fileFields(file: string, re: RegExp | null): { fields: Fields; problem: Problem | null } {
  if (!re) return { fields: {}, problem: null };
  const m = re.exec(basename(file));
  if (!m) return { fields: {}, problem: { file, line: null, field: null, reason: "name-mismatch", message: `the file name does not match --name-pattern ${re.source}` } };
  const fields: Fields = {};
  for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) fields[k] = v;
  return { fields, problem: null };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decode(bytes: Buffer, first: boolean): string | null {
  let b = bytes;
  if (first && b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
  if (b.length && b[b.length - 1] === 13) b = b.subarray(0, b.length - 1);
  try {
    return utf8.decode(b);
  } catch {
    return null;
  }
}

/** Integer >= 0, from a number or (pattern groups, --set) digit text. */
function asCount(v: unknown): number | null {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === "string" && /^\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  return null;
}

/**
 * Checks one parsed line; returns the record or the problem. `extra` holds the file's pattern
 * groups and the constants: they fill what the record lacks, and must agree with what it has.
 */
function toRecord(value: unknown, file: string, line: number, extra: Fields, threshold: number): AttackRecord | Problem {
  const bad = (field: string | null, reason: string, message: string): Problem => ({ file, line, field, reason, message });
  if (value === null || typeof value !== "object" || Array.isArray(value)) return bad(null, "not-an-object", "expected a JSON object per line");
  const rec = value as Fields;
  const merged: Fields = { ...rec };
  for (const [k, v] of Object.entries(extra)) {
    if (!(k in rec) || rec[k] === null) merged[k] = v;
    else if (String(rec[k]) !== String(v)) return bad(k, "conflict", `the record says ${JSON.stringify(rec[k])} but the file name or --set says ${JSON.stringify(v)}`);
  }
  const text = (field: string): string | Problem => {
    const v = merged[field];
    if (v === undefined || v === null) return bad(field, "missing-field", `missing (expected text; for judge files give it with --set ${field}=VALUE or a named group (?<${field}>...) in --name-pattern)`);
    if (typeof v === "string" && v !== "") return v;
    if (typeof v === "number" && Number.isFinite(v)) return String(v);
    return bad(field, "wrong-type", `expected non-empty text, got ${JSON.stringify(v)}`);
  };
  const run = text("run");
  if (typeof run !== "string") return run;
  const attack = text("attack");
  if (typeof attack !== "string") return attack;
  const exField = merged.example !== undefined && merged.example !== null ? "example" : "idx";
  const ex = merged[exField];
  if (ex === undefined || ex === null) return bad("example", "missing-field", `missing (expected "example" or a judge file's "idx": text or an integer)`);
  if (!((typeof ex === "string" && ex !== "") || (typeof ex === "number" && Number.isSafeInteger(ex))))
    return bad(exField, "wrong-type", `expected text or an integer, got ${JSON.stringify(ex)}`);
  const counts: Record<string, number | null> = {};
  for (const f of INTEGER_CONDITIONS) {
    const v = merged[f];
    if (v === undefined || v === null) counts[f] = null;
    else {
      const c = asCount(v);
      if (c === null) return bad(f, "wrong-type", `expected an integer >= 0, got ${JSON.stringify(v)}`);
      counts[f] = c;
    }
  }
  let score: number | null = null;
  if (merged.score !== undefined && merged.score !== null) {
    if (typeof merged.score !== "number" || !Number.isFinite(merged.score)) return bad("score", "wrong-type", `expected a finite number, got ${JSON.stringify(merged.score)}`);
    score = merged.score;
  }
  let harmful: boolean;
  if (merged.harmful !== undefined && merged.harmful !== null) {
    if (typeof merged.harmful !== "boolean") return bad("harmful", "wrong-type", `expected true or false, got ${JSON.stringify(merged.harmful)}`);
    harmful = merged.harmful;
  } else if (score !== null) harmful = score >= threshold;
  else return bad("harmful", "missing-outcome", `missing outcome (expected "harmful": true/false or a numeric "score")`);
  const conditions: Record<string, ConditionValue> = {};
  for (const [k, v] of Object.entries(merged)) {
    if (IDENTITY_FIELDS.includes(k) || TEXT_FIELDS.includes(k) || (INTEGER_CONDITIONS as readonly string[]).includes(k)) continue;
    if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) conditions[k] = v;
  }
  return { run, attack, example: ex as string | number, k: counts.k, prefix_len: counts.prefix_len, span_len: counts.span_len, conditions, harmful, score, file, line };
}

/** The identity of a record for the duplicate check: run, attack, every condition, example. */
function recordKey(r: AttackRecord): string {
  const cond = Object.keys(r.conditions).sort().map((k) => [k, r.conditions[k]]);
  return JSON.stringify([r.run, r.attack, r.k, r.prefix_len, r.span_len, cond, String(r.example)]); // 1 and "1" are one example, as in token logs
}

/**
 * Loads attack results from JSON Lines files (plain or .gz; globs allowed).
 *
 * @example
 * // judge files: run and attack constant, k from the file name
 * const { records } = await loadAttackResults("judge/gemma_it_prefilled_*_harmful_tokens.jsonl", {
 *   set: { run: "gemma_it", attack: "prefill" },
 *   namePattern: "prefilled_(?<k>\\d+)_harmful",
 * });
 * const rows = attackSuccess(records); // ASR per k with Wilson intervals
 */
export async function loadAttackResults(inputs: string | string[], opts: AttackLoadOptions = {}): Promise<AttackResults> {
  const threshold = opts.threshold ?? 5;
  if (!Number.isFinite(threshold)) throw new UsageError(`threshold must be a finite number, got ${threshold}`);
  const re = opts.namePattern !== undefined ? compileNamePattern(opts.namePattern) : null;
  const set: Fields = {};
  for (const [k, v] of Object.entries(opts.set ?? {})) set[k] = typeof v === "string" ? parseSetValue(v) : v;
  const { files, problems: inputProblems } = resolveInputs(Array.isArray(inputs) ? inputs : [inputs]);
  if (inputProblems.length) throw new InvalidInputError(inputProblems);
  const maxProblems = opts.maxProblems ?? 100;
  const problems: Problem[] = [];
  let problemCount = 0;
  // The same mistake on every line of a file (a judge file without --set run=...) is shown once, counted all times.
  const kinds = new Set<string>();
  const addProblem = (p: Problem) => {
    problemCount++;
    const kind = JSON.stringify([p.file, p.field, p.reason]);
    if (problems.length < maxProblems && !kinds.has(kind)) problems.push(p);
    kinds.add(kind);
  };
  const records: AttackRecord[] = [];
  const seen = new Map<string, { file: string; line: number }>();
  const reports: AttackFileReport[] = [];
  const nameProblems: Problem[] = [];
  for (const file of files) {
    const { fields, problem } = fileFields(file, re);
    if (problem) nameProblems.push(problem);
    // Constants win over pattern groups only where the pattern did not match that field.
    const extra: Fields = { ...set, ...fields };
    const rep: AttackFileReport = { path: file, records: 0, recordsUsed: 0, recordsSkipped: 0, skipped: {} };
    reports.push(rep);
    if (problem) continue;
    const skip = (p: Problem) => {
      addProblem(p);
      rep.recordsSkipped++;
      rep.skipped[p.reason] = (rep.skipped[p.reason] ?? 0) + 1;
    };
    try {
      for await (const { bytes, line, last, terminated } of readLines(file)) {
        const text = decode(bytes, line === 1);
        if (text !== null && text.trim() === "") continue;
        rep.records++;
        if (text === null) {
          skip({ file, line, field: null, reason: "invalid-utf8", message: "not valid UTF-8 text" });
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (e) {
          skip(last && !terminated
            ? { file, line, field: null, reason: "truncated-last-line", message: "the last line is cut off (no closing bracket or newline)" }
            : { file, line, field: null, reason: "invalid-json", message: `invalid JSON (${(e as Error).message.slice(0, 120)})` });
          continue;
        }
        const r = toRecord(value, file, line, extra, threshold);
        if ("reason" in r) {
          skip(r);
          continue;
        }
        const key = recordKey(r);
        const prev = seen.get(key);
        if (prev) {
          skip({ file, line, field: "example", reason: "duplicate", message: `example ${JSON.stringify(r.example)} of run ${JSON.stringify(r.run)}, attack ${JSON.stringify(r.attack)} and the same condition already appears at ${prev.file}:${prev.line}` });
          continue;
        }
        seen.set(key, { file, line });
        records.push(r);
        rep.recordsUsed++;
      }
    } catch (e) {
      nameProblems.push(readError(file, e).problem);
    }
  }
  // A file name the pattern cannot read, or a file that cannot be read, is never skipped silently.
  if (nameProblems.length) throw new InvalidInputError(nameProblems);
  if (problemCount > 0 && !opts.skipInvalid) throw new InvalidInputError(problems, problemCount);
  const skipped: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.skipped)) skipped[k] = (skipped[k] ?? 0) + v;
  const sum = (f: (r: AttackFileReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  return {
    records,
    report: {
      files: reports,
      records: sum((r) => r.records),
      recordsUsed: sum((r) => r.recordsUsed),
      recordsSkipped: sum((r) => r.recordsSkipped),
      skipped,
      threshold,
      problems,
      problemCount,
    },
  };
}
