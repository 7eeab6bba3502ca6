/**
 * Warnings about a load that went through but may not mean what the user thinks (METRICS 1.2, 1.4:
 * nothing dropped silently, a number printed is right or warned about): a gzip file cut off by a
 * crash and read up to the cut (skip mode), and a skip mode that dropped rows of a file whose
 * columns look like a mask or an unscored label that no option named (prompt tokens then count as
 * scored tokens: the Hugging Face dump read with `--skip-invalid` alone).
 */
import { Engine, sqlIdent } from "./engine";
import type { Column } from "./schema";
import type { LoadOptions, PreparedFile } from "./tokens";

/** Columns whose name says they label unscored tokens with -100 (Hugging Face `labels`). */
const UNSCORED_LABELS = /^(labels?|label_ids|target_ids)$/i;
/** Columns whose name says they are a 0/1 mask of the scored tokens. */
const MASK_LIKE = /(^|_)mask$/i;
/** Label columns naming the part of the sequence, with the value that marks the prompt. */
const SEGMENT_LIKE = /^(segment|role|part)$/i;

/**
 * The load's warnings, for stderr and the JSON `warnings` of every command (LoadReport.warnings).
 * @param table the loaded table (after the joins and filters), with the union's `columns`.
 */
export async function loadWarnings(engine: Engine, table: string, columns: Column[], prepared: PreparedFile[], options: LoadOptions): Promise<string[]> {
  const out: string[] = [];
  for (const p of prepared) {
    const cut = p.report.problems.find((q) => q.reason === "gzip-cut");
    if (cut) out.push(`${p.path}: ${cut.message}; they are used, the rest of the file is lost (--skip-invalid)`);
  }
  const droppedRows = prepared.some((p) => p.report.recordsSkipped > 0 || Object.keys(p.report.droppedValues ?? {}).length > 0);
  const named = options.mask !== undefined || Object.keys(options.unscored ?? {}).length > 0 || Object.keys(options.span ?? {}).length > 0;
  if (!options.skipInvalid || !droppedRows || named) return out;
  const hints: string[] = [];
  for (const c of columns) {
    if (c.kind === "metric" && !UNSCORED_LABELS.test(c.name) && !MASK_LIKE.test(c.name)) continue;
    const col = `CAST(${sqlIdent(c.name)} AS VARCHAR)`;
    const probe = async (values: string[]) => {
      const [r] = await engine.rows<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${table} WHERE lower(${col}) IN (${values.map((_, i) => `$v${i}`).join(", ")})`, Object.fromEntries(values.map((v, i) => [`v${i}`, v])));
      return Number(r.n);
    };
    if (UNSCORED_LABELS.test(c.name)) {
      const n = await probe(["-100", "-100.0"]);
      if (n > 0) hints.push(`"${c.name}" holds -100 at ${n} rows (use --unscored ${c.name}=-100)`);
    } else if (MASK_LIKE.test(c.name)) {
      const n = await probe(["0", "0.0", "false"]);
      if (n > 0) hints.push(`"${c.name}" is 0 at ${n} rows (use --mask ${c.name})`);
    } else if (SEGMENT_LIKE.test(c.name)) {
      const n = await probe(["prompt", "user", "system"]);
      if (n > 0) hints.push(`"${c.name}" marks ${n} rows as prompt (use --span ${c.name}=response)`);
    }
  }
  if (hints.length)
    out.push(
      `--skip-invalid dropped rows or values, but rows that look unscored were kept and scored: ${hints.join("; ")}. Without one of these options prompt or padding tokens count as response tokens and the statistics are wrong (METRICS 1.4)`,
    );
  return out;
}
