/**
 * Loading learning-dynamics logs (METRICS 7): three record kinds, told apart by the file name's
 * prefix, each JSON Lines (plain or .gz), one record per line:
 * - `influence-*`: {run, step, split, position, source_position, influence}: I(p, q) in nats per
 *   step, p = `position` (probe position), q = `source_position` (training position), both 0-based;
 * - `train-gradient-*`: {run, step, source_position, train_grad_norm, n_tokens}: g(q) = ||G_q||_2;
 * - `probe-change-*`: {run, step, split, position, loss_before, loss_after}: the probe set's mean
 *   loss at p (nats) just before and just after the optimizer update of step s.
 * Records may carry the labels `recipe` (text) and `seed` (integer or text), constant per run.
 * Files are validated while streaming, line by line (METRICS 1.5): every problem names the file,
 * the line and the field. Optionally the logs are joined with token logs by run and step.
 */
import { basename } from "node:path";
import { InvalidInputError, Problem, ProblemGroups, UsageError } from "../errors";
import { resolveInputs } from "../load/inputs";
import { jsonLineProblem, readError, readLines } from "../load/lines";
import { NON_FINITE_MARK, duplicateJsonKey, parseJsonLenient } from "../load/checkRecord";
import type { TokenLogs } from "../load";

/** The three record kinds and their file-name prefixes. */
export const DYNAMICS_PREFIXES = { influence: "influence-", trainGradient: "train-gradient-", probeChange: "probe-change-" } as const;
export type DynamicsKind = keyof typeof DYNAMICS_PREFIXES;

/** I(p, q) = -lr <grad lbar_p, P G_q> of one training step on one probe set (METRICS 7). */
export interface InfluenceRecord {
  run: string;
  step: number;
  split: string;
  /** Probe position p (0 = the first scored probe token). */
  position: number;
  /** Training position q (0 = the first token of the training response, unscored tokens counted). */
  source_position: number;
  /** Nats per step; negative = this step's gradient at q lowers the probe's mean loss at p. */
  influence: number;
}

/** g(q) = ||G_q||_2 at one training step, with the training tokens at q. */
export interface TrainGradientRecord {
  run: string;
  step: number;
  source_position: number;
  train_grad_norm: number;
  n_tokens: number;
}

/** The probe set's mean loss at p (nats) just before and just after the update of step `step`. */
export interface ProbeChangeRecord {
  run: string;
  step: number;
  split: string;
  position: number;
  loss_before: number;
  loss_after: number;
}

/** Labels a run's records carry (null when none does). */
export interface RunLabels {
  recipe: string | null;
  seed: string | null;
}

export interface DynamicsFileReport {
  path: string;
  kind: DynamicsKind;
  records: number;
  recordsUsed: number;
  recordsSkipped: number;
  skipped: Record<string, number>;
}

/** Dynamics (run, step) pairs matched against token logs' checkpoints (`tokens` option). */
export interface TokenJoin {
  /** (run, step) of the dynamics logs with a token-log checkpoint at the same step. */
  matched: Array<{ run: string; step: number }>;
  /** (run, step) of the dynamics logs with no token-log checkpoint at that step. */
  unmatched: Array<{ run: string; step: number }>;
  /** Runs of the dynamics logs absent from the token logs. */
  runsMissing: string[];
}

export interface DynamicsReport {
  files: DynamicsFileReport[];
  records: number;
  recordsUsed: number;
  recordsSkipped: number;
  skipped: Record<string, number>;
  problems: Problem[];
  problemCount: number;
  /** Present when token logs were given. */
  tokenJoin?: TokenJoin;
}

export interface DynamicsLogs {
  influence: InfluenceRecord[];
  trainGradient: TrainGradientRecord[];
  probeChange: ProbeChangeRecord[];
  /** Labels per run, from the records' `recipe` and `seed` fields. */
  labels: Map<string, RunLabels>;
  report: DynamicsReport;
}

export interface DynamicsLoadOptions {
  /** Use the valid lines and count the invalid ones by reason, instead of failing. Default false. */
  skipInvalid?: boolean;
  /** Problems kept (all are counted). Default 100. */
  maxProblems?: number;
  /** Token logs to join with by run and step (reported in `report.tokenJoin`). */
  tokens?: TokenLogs;
}

type Fields = Record<string, unknown>;

const FIELDS: Record<DynamicsKind, Array<[string, "text" | "count" | "float" | "nonneg"]>> = {
  influence: [["run", "text"], ["step", "count"], ["split", "text"], ["position", "count"], ["source_position", "count"], ["influence", "float"]],
  trainGradient: [["run", "text"], ["step", "count"], ["source_position", "count"], ["train_grad_norm", "nonneg"], ["n_tokens", "count"]],
  probeChange: [["run", "text"], ["step", "count"], ["split", "text"], ["position", "count"], ["loss_before", "float"], ["loss_after", "float"]],
};
const KEYS: Record<DynamicsKind, string[]> = {
  influence: ["run", "step", "split", "position", "source_position"],
  trainGradient: ["run", "step", "source_position"],
  probeChange: ["run", "step", "split", "position"],
};

/** The kind of a file from its base name's prefix (a `.gz` or `.jsonl` ending does not matter), or null. */
export function dynamicsKind(file: string): DynamicsKind | null {
  const name = basename(file);
  for (const [kind, prefix] of Object.entries(DYNAMICS_PREFIXES)) if (name.startsWith(prefix)) return kind as DynamicsKind;
  return null;
}

/** Checks one parsed line of a kind; returns its fields or the problem. */
function check(value: unknown, kind: DynamicsKind, file: string, line: number, text: string): { fields: Fields } | { problem: Problem } {
  const r = checkFields(value, kind, file, line, text);
  return "reason" in r ? { problem: r as Problem } : { fields: r };
}

function checkFields(value: unknown, kind: DynamicsKind, file: string, line: number, text: string): Fields | Problem {
  const bad = (field: string | null, reason: string, message: string): Problem => ({ file, line, field, reason, message });
  if (value === null || typeof value !== "object" || Array.isArray(value)) return bad(null, "not-an-object", "expected a JSON object per line");
  const rec = value as Fields;
  const dup = duplicateJsonKey(text, rec);
  if (dup !== null) return bad(dup, "duplicate-field", "appears twice in this record");
  const out: Fields = {};
  for (const [field, type] of FIELDS[kind]) {
    const v = rec[field];
    if (v === undefined || v === null) return bad(field, "missing-field", `missing (${kind === "trainGradient" ? "a training-gradient" : kind === "probeChange" ? "a probe-change" : "an influence"} record has ${FIELDS[kind].map((f) => f[0]).join(", ")})`);
    if (typeof v === "string" && v.startsWith(NON_FINITE_MARK)) return bad(field, "not-finite", `${v.slice(NON_FINITE_MARK.length)} is not a finite number`);
    if (type === "text") {
      if (typeof v !== "string" || v === "") return bad(field, "wrong-type", `expected non-empty text, got ${JSON.stringify(v)}`);
    } else if (type === "count") {
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) return bad(field, "wrong-type", `expected an integer >= 0, got ${JSON.stringify(v)}`);
    } else {
      if (typeof v !== "number") return bad(field, "wrong-type", `expected a finite number, got ${JSON.stringify(v)}`);
      if (type === "nonneg" && v < 0) return bad(field, "negative", `a norm cannot be negative, got ${v}`);
    }
    out[field] = v;
  }
  for (const label of ["recipe", "seed"]) {
    const v = rec[label];
    if (v === undefined || v === null) continue;
    if (typeof v === "string" && v !== "" && !v.startsWith(NON_FINITE_MARK)) out[label] = v;
    else if (typeof v === "number" && Number.isSafeInteger(v)) out[label] = String(v);
    else return bad(label, "wrong-type", `expected text${label === "seed" ? " or an integer" : ""}, got ${JSON.stringify(v)}`);
  }
  return out;
}

/**
 * Loads influence, training-gradient and probe-change logs (globs allowed; the kind of each file
 * comes from its name's prefix: `influence-`, `train-gradient-`, `probe-change-`).
 *
 * Invalid input throws `InvalidInputError`, one problem per (file, field, reason) naming its first
 * line, the field, and when it recurs, its first 5 lines and how many more: a line that is not a JSON
 * object, a missing field, a wrong type (run and split non-empty text; step, positions and
 * n_tokens integers >= 0; values finite numbers; train_grad_norm >= 0), NaN or infinite values, a
 * key seen twice (kind's key fields: run, step[, split], position[s]), and a run whose `recipe` or
 * `seed` label differs between records. A file with no known prefix is refused (whole-file problem).
 * With `skipInvalid` the bad lines are counted by reason and left out.
 *
 * @example
 * const logs = await loadDynamicsLogs("data/lab/{influence,train-gradient,probe-change}-*.jsonl.gz");
 * const s = sourceEarlyShare(influenceMatrices(logs.influence), logs.trainGradient, { k: 5 });
 */
export async function loadDynamicsLogs(inputs: string | string[], opts: DynamicsLoadOptions = {}): Promise<DynamicsLogs> {
  const { files, problems: inputProblems } = resolveInputs(Array.isArray(inputs) ? inputs : [inputs]);
  const fileProblems: Problem[] = [...inputProblems];
  for (const f of files)
    if (dynamicsKind(f) === null)
      fileProblems.push({ file: f, line: null, field: null, reason: "unknown-kind", message: `not a learning-dynamics log: its name must start with ${Object.values(DYNAMICS_PREFIXES).join(", ")}` });
  if (fileProblems.length) throw new InvalidInputError(fileProblems);
  const maxProblems = opts.maxProblems ?? 100;
  // METRICS 1.5: one line per (file, field, reason), naming its first 5 lines and counting the rest.
  const found = new ProblemGroups();
  const addProblem = (p: Problem) => found.add(p);
  const out: DynamicsLogs = { influence: [], trainGradient: [], probeChange: [], labels: new Map(), report: undefined as unknown as DynamicsReport };
  const labelSeen = new Map<string, { recipe: [string, string] | null; seed: [string, string] | null }>();
  // Where each key was first seen, packed as file index * 2^32 + line (a number per key keeps the heap small).
  const seen: Record<DynamicsKind, Map<string, number>> = { influence: new Map(), trainGradient: new Map(), probeChange: new Map() };
  const where = (packed: number) => `${files[Math.floor(packed / 2 ** 32)]}:${packed % 2 ** 32}`;
  const reports: DynamicsFileReport[] = [];
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  for (const [fileIndex, file] of files.entries()) {
    const kind = dynamicsKind(file) as DynamicsKind;
    const rep: DynamicsFileReport = { path: file, kind, records: 0, recordsUsed: 0, recordsSkipped: 0, skipped: {} };
    reports.push(rep);
    const skip = (p: Problem) => {
      addProblem(p);
      rep.recordsSkipped++;
      rep.skipped[p.reason] = (rep.skipped[p.reason] ?? 0) + 1;
    };
    try {
      for await (const { bytes, line, last, terminated } of readLines(file)) {
        let b = bytes;
        if (line === 1 && b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
        if (b.length && b[b.length - 1] === 13) b = b.subarray(0, b.length - 1);
        let text: string;
        try {
          text = utf8.decode(b);
        } catch {
          rep.records++;
          skip({ file, line, field: null, reason: "invalid-utf8", message: "not valid UTF-8 text" });
          continue;
        }
        if (text.trim() === "") continue;
        rep.records++;
        let value: unknown;
        try {
          value = parseJsonLenient(text);
        } catch (e) {
          skip(jsonLineProblem(file, line, last && !terminated, e));
          continue;
        }
        const checked = check(value, kind, file, line, text);
        if ("problem" in checked) {
          skip(checked.problem);
          continue;
        }
        const fields = checked.fields;
        // Text fields are JSON-quoted, so that no run or split name can make two keys collide.
        const key = kind === "influence"
          ? `${JSON.stringify(fields.run)}\t${fields.step}\t${JSON.stringify(fields.split)}\t${fields.position}\t${fields.source_position}`
          : kind === "trainGradient"
            ? `${JSON.stringify(fields.run)}\t${fields.step}\t${fields.source_position}`
            : `${JSON.stringify(fields.run)}\t${fields.step}\t${JSON.stringify(fields.split)}\t${fields.position}`;
        const prev = seen[kind].get(key);
        if (prev !== undefined) {
          const last = KEYS[kind][KEYS[kind].length - 1];
          skip({ file, line, field: last, reason: "duplicate", message: `the key (${KEYS[kind].map((k) => `${k} ${JSON.stringify(fields[k])}`).join(", ")}) already appears at ${where(prev)}` });
          continue;
        }
        const run = fields.run as string;
        const ls = labelSeen.get(run) ?? { recipe: null, seed: null };
        let conflict: Problem | null = null;
        for (const label of ["recipe", "seed"] as const) {
          const v = fields[label] as string | undefined;
          if (v === undefined) continue;
          const had = ls[label];
          if (had === null) ls[label] = [v, `${file}:${line}`];
          else if (had[0] !== v) conflict = { file, line, field: label, reason: "label-conflict", message: `run ${JSON.stringify(run)} has ${label} ${JSON.stringify(had[0])} at ${had[1]}, here ${JSON.stringify(v)}` };
        }
        if (conflict) {
          skip(conflict);
          continue;
        }
        labelSeen.set(run, ls);
        seen[kind].set(key, fileIndex * 2 ** 32 + line);
        rep.recordsUsed++;
        if (kind === "influence") out.influence.push(pick(fields, FIELDS.influence) as unknown as InfluenceRecord);
        else if (kind === "trainGradient") out.trainGradient.push(pick(fields, FIELDS.trainGradient) as unknown as TrainGradientRecord);
        else out.probeChange.push(pick(fields, FIELDS.probeChange) as unknown as ProbeChangeRecord);
      }
    } catch (e) {
      throw new InvalidInputError([readError(file, e).problem]);
    }
  }
  const problems = found.problems({ max: maxProblems, unit: () => "lines" });
  const problemCount = found.total;
  if (problemCount > 0 && !opts.skipInvalid) throw new InvalidInputError(problems, found.size);
  for (const [run, ls] of labelSeen) out.labels.set(run, { recipe: ls.recipe?.[0] ?? null, seed: ls.seed?.[0] ?? null });
  const skipped: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.skipped)) skipped[k] = (skipped[k] ?? 0) + v;
  const sum = (f: (r: DynamicsFileReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  out.report = { files: reports, records: sum((r) => r.records), recordsUsed: sum((r) => r.recordsUsed), recordsSkipped: sum((r) => r.recordsSkipped), skipped, problems, problemCount };
  if (opts.tokens) out.report.tokenJoin = await joinTokenLogs(out, opts.tokens);
  return out;
}

function pick(fields: Fields, spec: Array<[string, string]>): Fields {
  const o: Fields = {};
  for (const [f] of spec) o[f] = fields[f];
  return o;
}

/**
 * Matches the (run, step) pairs of dynamics logs with the checkpoints of token logs (the same run
 * name and step). The influence of step s is the update from theta_s to theta_(s+1), so a token
 * log's checkpoint at s is the model the influence was computed at.
 */
export async function joinTokenLogs(logs: Pick<DynamicsLogs, "influence" | "trainGradient" | "probeChange">, tokens: TokenLogs): Promise<TokenJoin> {
  const rows = await tokens.engine.rows<{ run: string; step: number }>(`SELECT DISTINCT run, step FROM ${tokens.table}`);
  const have = new Set(rows.map((r) => JSON.stringify([r.run, r.step])));
  const tokenRuns = new Set(rows.map((r) => r.run));
  const pairs = new Map<string, { run: string; step: number }>();
  for (const r of [...logs.influence, ...logs.trainGradient, ...logs.probeChange]) pairs.set(JSON.stringify([r.run, r.step]), { run: r.run, step: r.step });
  const sorted = [...pairs.entries()].sort((a, b) => (a[1].run < b[1].run ? -1 : a[1].run > b[1].run ? 1 : a[1].step - b[1].step));
  const matched = sorted.filter(([k]) => have.has(k)).map(([, v]) => v);
  const unmatched = sorted.filter(([k]) => !have.has(k)).map(([, v]) => v);
  const runsMissing = [...new Set(sorted.map(([, v]) => v.run))].filter((r) => !tokenRuns.has(r));
  return { matched, unmatched, runsMissing };
}

/** Throws a usage error when the logs hold no influence record (every dynamics statistic needs them). */
export function requireInfluence(logs: Pick<DynamicsLogs, "influence">): void {
  if (logs.influence.length === 0) throw new UsageError(`no influence records: give at least one file whose name starts with ${DYNAMICS_PREFIXES.influence}`);
}
