/**
 * Several files, one dataset (METRICS 1.3). Rows of different files with the same key (run, step,
 * example, position) are the same token: files may carry different metrics for the same keys (a
 * file of losses, a file of gradient norms) and are joined by key, in DuckDB (a keyed union and a
 * GROUP BY). The same metric for the same key in two files is a duplicate, and a label given for
 * the same key in two files must have the same value: both are invalid input naming both files.
 * Example ids are compared as text (the readers write integers in canonical decimal).
 */
import { InvalidInputError, Problem } from "../errors";
import { Engine, sqlIdent } from "./engine";
import { mayHaveDuplicateKeys } from "./readParquet";
import { Column } from "./schema";
import type { PreparedFile } from "./tokens";
import type { ProgressSink } from "../progress";

const KEY = `run, step, example, "position"`;
/** The table of rows joined by key (the relation `joinFiles` builds is a view over it). */
export const JOINED_BY_KEY = "__aligndepth_grouped";
/** Locations named per problem (METRICS 1.5). */
const FIRST = 5;

/** The union of the files' columns, in order of first appearance. */
export function unionColumns(prepared: PreparedFile[]): Column[] {
  const out: Column[] = [];
  for (const p of prepared) for (const c of p.columns) if (!out.some((o) => o.name === c.name)) out.push(c);
  return out;
}

/** The files' rows, one UNION ALL, each row tagged with its file's index (`__aligndepth_f`). */
function taggedUnion(usable: PreparedFile[], columns: Column[]): string {
  return usable.map((p, i) => `SELECT ${i} AS __aligndepth_f, * FROM (${p.source(columns)})`).join("\nUNION ALL\n");
}

/**
 * The files' rows as one UNION ALL, where files that can be read together (PreparedFile.readsWith,
 * same key) are one read over their list, in the order of their first file.
 */
export function mergedUnion(usable: PreparedFile[], columns: Column[]): string {
  const parts: Array<{ file: PreparedFile; paths: string[] }> = [];
  const byKey = new Map<string, { file: PreparedFile; paths: string[] }>();
  for (const p of usable) {
    const group = p.readsWith ? byKey.get(p.readsWith.key) : undefined;
    if (group) group.paths.push(p.path);
    else {
      const part = { file: p, paths: [p.path] };
      parts.push(part);
      if (p.readsWith) byKey.set(p.readsWith.key, part);
    }
  }
  return parts.map(({ file, paths }) => (paths.length > 1 && file.readsWith ? file.readsWith.source(columns, paths) : file.source(columns))).join("\nUNION ALL\n");
}

/**
 * Whether rows of different files share a key. Cheap exact tests first: Parquet files whose
 * (run, step) sets are disjoint cannot share a key (each file's own duplicates are handled by its
 * validation); otherwise the bitmap test over the built table; only then the GROUP BY.
 */
async function sharesKeys(engine: Engine, table: string, usable: PreparedFile[], columns: Column[]): Promise<boolean> {
  if (usable.length < 2) return false;
  if (usable.every((p) => p.format === "parquet")) {
    const steps = usable.map((p, i) => `SELECT DISTINCT ${i} AS __aligndepth_f, run, step FROM (${p.source(columns)})`).join("\nUNION ALL\n");
    const [{ shared }] = await engine.rows<{ shared: number }>(`SELECT count(*) AS shared FROM (SELECT 1 FROM (${steps}) GROUP BY run, step HAVING count(*) > 1)`);
    if (Number(shared) === 0) return false;
  }
  if (!(await mayHaveDuplicateKeys(engine, `SELECT ${KEY} FROM ${table}`))) return false;
  const [{ n }] = await engine.rows<{ n: number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM ${table} GROUP BY ${KEY} HAVING count(*) > 1)`);
  return Number(n) > 0;
}

/**
 * Builds the relation `name` with one row per key from the files' rows: the plain union when no two
 * files share a key, else the join by key. Returns whether a join was needed. `shared`, when given,
 * says whether the files share keys (from the validation cache), so that the test is not run.
 * @throws InvalidInputError for a metric given twice for one key, or labels that disagree.
 */
export async function joinFiles(engine: Engine, name: string, usable: PreparedFile[], columns: Column[], progress?: ProgressSink, shared?: boolean): Promise<boolean> {
  const union = mergedUnion(usable, columns);
  const materialize = usable.some((p) => p.format !== "parquet");
  await engine.rows(`CREATE ${materialize ? "TABLE" : "VIEW"} ${name} AS ${union}`, undefined, progress, "building the token table");
  // `shared` is what an earlier load of the same files found (the validation cache).
  if (!(shared ?? (await sharesKeys(engine, name, usable, columns)))) return false;

  // One GROUP BY over the files' rows: each column's one value (max of one non-null value, or null:
  // not measured) and, per key, how many files give each metric and how many values each label has.
  const metrics = columns.filter((c) => c.kind === "metric");
  const labels = columns.filter((c) => c.kind !== "metric");
  const grouped = JOINED_BY_KEY;
  const values = columns.map((c) => `max(${sqlIdent(c.name)}) AS ${sqlIdent(c.name)}`);
  const counts = [...metrics.map((c, i) => `count(${sqlIdent(c.name)}) AS __m${i}`), ...labels.map((c, i) => `count(DISTINCT ${sqlIdent(c.name)}) AS __l${i}`)];
  await engine.rows(`CREATE TABLE ${grouped} AS SELECT ${KEY}, ${[...values, ...counts].join(", ")} FROM (${union}) GROUP BY ${KEY}`, undefined, progress, "joining the files by key");
  await engine.run(`DROP ${materialize ? "TABLE" : "VIEW"} ${name}`);

  // One line per field and reason (METRICS 1.5): the first keys, the count of the rest, the files.
  const problems: Problem[] = [];
  const tagged = taggedUnion(usable, columns);
  const where = (r: Record<string, unknown>) => `(run ${JSON.stringify(r.run)}, step ${r.step}, example ${JSON.stringify(r.example)}, position ${r.position})`;
  const more = (n: number, shown: number) => (n > shown ? ` and ${n - shown} more` : "");
  /** The rows of the first keys (bound as parameters) in the files, with the file index. */
  const atKeys = async (keys: Array<Record<string, unknown>>, column: string) => {
    const params: Record<string, string | number> = {};
    const conds = keys.map((k, i) => {
      Object.assign(params, { [`r${i}`]: String(k.run), [`s${i}`]: Number(k.step), [`e${i}`]: String(k.example), [`p${i}`]: Number(k.position) });
      return `(run = $r${i} AND step = $s${i} AND example = $e${i} AND "position" = $p${i})`;
    });
    return engine.rows<{ f: number; v: string }>(`SELECT DISTINCT __aligndepth_f AS f, CAST(${sqlIdent(column)} AS VARCHAR) AS v FROM (${tagged}) WHERE (${conds.join(" OR ")}) AND ${sqlIdent(column)} IS NOT NULL ORDER BY f, v`, params);
  };
  const pathsOf = (rows: Array<{ f: number }>) => [...new Set(rows.map((r) => usable[Number(r.f)].path))];
  for (let i = 0; i < metrics.length; i++) {
    const rows = await engine.rows<Record<string, unknown>>(`SELECT ${KEY}, count(*) OVER () AS n FROM ${grouped} WHERE __m${i} > 1 ORDER BY ${KEY} LIMIT ${FIRST}`);
    if (rows.length === 0) continue;
    const n = Number(rows[0].n);
    const fs = pathsOf(await atKeys(rows, metrics[i].name));
    problems.push({
      file: fs[fs.length - 1],
      line: null,
      field: metrics[i].name,
      reason: "duplicate-metric",
      message: `the same metric twice for ${n} key${n > 1 ? "s" : ""} ${rows.map(where).join(", ")}${more(n, rows.length)}: also in ${fs.length > 1 ? fs.slice(0, -1).join(", ") : "the same file"} (the same file twice, a resumed run, or a file that should carry other metrics only? pass one of them)`,
    });
  }
  for (let i = 0; i < labels.length; i++) {
    const rows = await engine.rows<Record<string, unknown>>(`SELECT ${KEY}, count(*) OVER () AS n FROM ${grouped} WHERE __l${i} > 1 ORDER BY ${KEY} LIMIT ${FIRST}`);
    if (rows.length === 0) continue;
    const n = Number(rows[0].n);
    const at = await atKeys(rows, labels[i].name);
    const fs = pathsOf(at);
    const vs = [...new Set(at.map((r) => r.v))];
    problems.push({
      file: fs[fs.length - 1],
      line: null,
      field: labels[i].name,
      reason: "label-conflict",
      message: `the files disagree for ${n} key${n > 1 ? "s" : ""} ${rows.map(where).join(", ")}${more(n, rows.length)}: values ${vs.slice(0, 5).map((v) => JSON.stringify(v)).join(", ")} in ${fs.join(", ")} (a label of one token has one value)`,
    });
  }
  if (problems.length) throw new InvalidInputError(problems);
  await engine.run(`CREATE VIEW ${name} AS SELECT ${KEY}, ${columns.map((c) => sqlIdent(c.name)).join(", ")} FROM ${grouped}`);
  return true;
}
