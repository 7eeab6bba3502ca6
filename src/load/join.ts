/**
 * Several files, one dataset: the union of the files' columns, and the rule that a key (run,
 * step, example, position) appears at most once across files.
 */
import { InvalidInputError, Problem } from "../errors";
import { Engine } from "./engine";
import { mayHaveDuplicateKeys } from "./readParquet";
import { Column } from "./schema";
import type { PreparedFile } from "./tokens";

/**
 * A key (run, step, example, position) at most once across all files too. Cheap check on the
 * loaded table; only when it fails, a second query names the files. Always an error, also with
 * skipInvalid: which of two files is right (the same file twice, or a resumed run) is the user's call.
 */
export async function checkCrossFileDuplicates(engine: Engine, usable: PreparedFile[], columns: Column[]): Promise<void> {
  // At scale the GROUP BY over every key is the cost (and needs memory): first two cheap exact
  // tests. Parquet files whose (run, step) sets are disjoint cannot share a key (each file's own
  // duplicates are handled by its validation); otherwise a bitmap test over (run, step, example).
  if (usable.every((p) => p.format === "parquet")) {
    const steps = usable.map((p, i) => `SELECT DISTINCT ${i} AS __aligndepth_f, run, step FROM (${p.source(columns)})`).join("\nUNION ALL\n");
    const [{ shared }] = await engine.rows<{ shared: number }>(`SELECT count(*) AS shared FROM (SELECT 1 FROM (${steps}) GROUP BY run, step HAVING count(*) > 1)`);
    if (Number(shared) === 0) return;
  }
  if (!(await mayHaveDuplicateKeys(engine, `SELECT run, step, example, "position" FROM tokens`))) return;
  const [{ n }] = await engine.rows<{ n: number }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM tokens GROUP BY run, step, example, "position" HAVING count(*) > 1)`,
  );
  if (Number(n) === 0) return;
  const union = usable.map((p, i) => `SELECT ${i} AS __aligndepth_f, run, step, example, "position" FROM (${p.source(columns)})`).join("\nUNION ALL\n");
  const rows = await engine.rows<{ run: string; step: number; example: string; position: number; files: number[] }>(
    `SELECT run, step, example, "position", list(DISTINCT __aligndepth_f ORDER BY __aligndepth_f) AS files FROM (${union})
     GROUP BY run, step, example, "position" HAVING count(*) > 1 ORDER BY min(__aligndepth_f), run, step, example, "position" LIMIT 10`,
  );
  const problems: Problem[] = rows.map((r) => {
    const fs = r.files.map((f) => usable[Number(f)].path);
    return {
      file: fs[fs.length - 1],
      line: null,
      field: null,
      reason: "duplicate-key",
      message: `duplicate key across files: run ${JSON.stringify(r.run)}, step ${r.step}, example ${JSON.stringify(r.example)}, position ${r.position} is also in ${fs.slice(0, -1).join(", ")} (the same file twice, or a resumed run? pass one of them)`,
    };
  });
  throw new InvalidInputError(problems, Number(n));
}

export function unionColumns(prepared: PreparedFile[]): Column[] {
  const out: Column[] = [];
  for (const p of prepared) for (const c of p.columns) if (!out.some((o) => o.name === c.name)) out.push(c);
  return out;
}

