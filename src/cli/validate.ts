import { InvalidInputError, formatProblems } from "../errors";
import { loadTokenLogs } from "../load";
import { CommandSpec, Parsed } from "./args";
import { LOAD_OPTIONS, loadOptions } from "./common";
import { positionStartWarnings } from "../stats/positionStart";
import { Output } from "./output";

export const validateSpec: CommandSpec = {
  name: "validate",
  summary: "Check token logs against the log format; one line per (file, field, problem) with its first 5 lines and a count of the rest.",
  usage: "aligndepth validate FILES... [--json]",
  minPositionals: 1,
  options: [{ name: "json", type: "flag", help: "print {\"files\": [{path, rows, valid, errors: [{line, field, message}]}]}" }, ...LOAD_OPTIONS.filter((o) => o.name !== "skip-invalid")],
};

interface FileResult {
  path: string;
  rows: number;
  valid: boolean;
  errors: Array<{ line: number | null; field: string | null; message: string }>;
  /** Loaded, but worth saying (METRICS 1.4: rows that do not start at position 0). */
  warnings?: string[];
}

/** Validates each file on its own; exit code 1 when any file has a problem. */
export async function validateCommand(p: Parsed, out: Output): Promise<number> {
  const results: FileResult[] = [];
  const opts = { ...loadOptions(p.options), skipInvalid: true, maxProblems: 1000 };
  const text: string[] = [];
  for (const input of p.positionals) {
    try {
      const logs = await loadTokenLogs(input, opts);
      // validate loads in skip mode to list every problem; what that mode alone says (values dropped,
      // metrics measured at fewer rows because of them, the load's skip-mode warnings) is not said
      // for files with problems: the problems are the answer.
      const invalid = logs.report.files.some((f) => f.problemCount > 0);
      const warnings = (await positionStartWarnings(logs, { metric: logs.metrics[0] })).filter((w) => !invalid || !(logs.report.warnings ?? []).includes(w));
      for (const n of logs.report.notes ?? []) if (!invalid || !/^dropped \d+ invalid values |" is measured at \d+ of \d+ rows/.test(n)) out.note(n);
      const c = logs.report.cache;
      if (c && c.hits > 0) out.note(`${input}: validation cache used (${c.hits} of ${c.hits + c.misses} entries: unchanged files with the same options are not scanned again; --no-cache checks anew)`);
      for (const w of warnings) out.note(`warning: ${w}`);
      for (const f of logs.report.files) {
        results.push({ path: f.path, rows: f.records, valid: f.problemCount === 0, errors: f.problems.map((q) => ({ line: q.line, field: q.field, message: q.message })), ...(warnings.length ? { warnings } : {}) });
        if (f.problemCount === 0) text.push(`${f.path}: ok (${f.records} records, ${f.tokens} token rows, ${f.layout} layout)`);
        else {
          text.push(...formatProblems(f.problems));
          if (f.problemCount > f.problems.length) text.push(`${f.path}: ... and ${f.problemCount - f.problems.length} more problems`);
        }
      }
      logs.close();
    } catch (e) {
      if (!(e instanceof InvalidInputError)) throw e;
      // A file of another record kind (attack results, ...) is left out with a note, not an error.
      if (e.problems.every((q) => q.reason === "not-a-token-log")) {
        for (const q of e.problems) out.note(`left out ${q.file}: ${q.message.replace(/ \(no token log among the inputs\)$/, "")}`);
        continue;
      }
      const byFile = new Map<string, FileResult>();
      for (const q of e.problems) {
        const r = byFile.get(q.file) ?? { path: q.file, rows: 0, valid: false, errors: [] };
        r.errors.push({ line: q.line, field: q.field, message: q.message });
        byFile.set(q.file, r);
      }
      text.push(...formatProblems(e.problems));
      results.push(...byFile.values());
    }
  }
  // Files valid on their own must also agree with each other (columns, keys across files).
  if (results.length > 1 && results.every((r) => r.valid)) {
    try {
      (await loadTokenLogs(p.positionals, { ...opts, skipInvalid: false })).close();
    } catch (e) {
      if (!(e instanceof InvalidInputError)) throw e;
      for (const q of e.problems) {
        const r = results.find((x) => x.path === q.file);
        if (r) {
          r.valid = false;
          r.errors.push({ line: q.line, field: q.field, message: q.message });
        } else results.push({ path: q.file, rows: 0, valid: false, errors: [{ line: q.line, field: q.field, message: q.message }] });
      }
      text.push(...formatProblems(e.problems));
    }
  }
  if (p.options.json) out.json({ files: results });
  else out.text(text.join("\n"));
  return results.every((r) => r.valid) ? 0 : 1;
}
