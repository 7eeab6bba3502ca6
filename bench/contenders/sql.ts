/**
 * Contender: the same answers from hand-written DuckDB SQL on the same files, with the same engine
 * settings as aligndepth (memory_limit 2GB, all cores): the engine's floor. No validation.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Answers, ChildResult, K, emit, profileKey, readManifest, timed, vmHwm } from "./common";

async function main(): Promise<void> {
  const [manifestPath, ...flags] = process.argv.slice(2);
  const tasksAt = flags.indexOf("--tasks");
  const tasks = (tasksAt >= 0 ? flags[tasksAt + 1] : "profile,update,concentration").split(",");
  const m = readManifest(manifestPath);
  const tmp = mkdtempSync(join(tmpdir(), "bench-sql-"));
  const db = await DuckDBInstance.create(":memory:", { memory_limit: "2GB", temp_directory: join(tmp, "spill"), preserve_insertion_order: "false" });
  const c = await db.connect();
  const rows = async (sql: string) =>
    (await c.runAndReadAll(sql)).getRowObjectsJS().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v]))) as Array<Record<string, any>>;
  const files = `[${m.files.map((f) => `'${f}'`).join(", ")}]`;
  const times: Record<string, number> = {};
  const answers: Answers = {};
  await timed(times, "load", async () => {
    if (m.spec.format === "jsonl")
      await c.run(`CREATE TABLE t AS SELECT run, step, example, split, generate_subscripts(loss, 1) - 1 AS "position", unnest(loss) AS loss, unnest(kl) AS kl, unnest(token_id) AS token_id
        FROM read_json(${files}, format = 'newline_delimited', columns = {run: 'VARCHAR', step: 'INTEGER', example: 'VARCHAR', split: 'VARCHAR', loss: 'DOUBLE[]', kl: 'DOUBLE[]', token_id: 'BIGINT[]'})`);
    else if (m.spec.format === "csv") await c.run(`CREATE TABLE t AS SELECT * FROM read_csv(${files})`);
    else await c.run(`CREATE VIEW t AS SELECT * FROM read_parquet(${files})`);
  });
  const profile = await timed(times, "profile", () =>
    rows(`SELECT run, step, "position", count(*)::INTEGER AS n, avg(loss) AS mean, stddev_samp(loss) AS sd FROM t GROUP BY run, step, "position" ORDER BY ALL`),
  );
  times.load_profile = times.load + times.profile;
  answers.profile = Object.fromEntries(profile.map((r) => [profileKey(r.run, r.step, r.position), [r.n, r.mean, r.sd]]));
  if (!tasks.includes("update")) {
    c.closeSync();
    db.closeSync();
    rmSync(tmp, { recursive: true, force: true });
    emit({ contender: "duckdb-sql", workload: m.spec.name, times, answers, peakRss: vmHwm() });
    return;
  }
  const mass = await timed(times, "update", () =>
    rows(`WITH b AS (SELECT run, min(step) AS f, max(step) AS l FROM t GROUP BY run),
      pa AS (SELECT t.run, example, "position", loss FROM t JOIN b ON t.run = b.run AND t.step = b.f),
      pb AS (SELECT t.run, example, "position", loss FROM t JOIN b ON t.run = b.run AND t.step = b.l),
      d AS (SELECT pa.run, pa."position", avg(pb.loss - pa.loss) AS delta FROM pa JOIN pb ON pa.run = pb.run AND pa.example = pb.example AND pa."position" = pb."position" GROUP BY ALL),
      s AS (SELECT run, "position", abs(delta) / sum(abs(delta)) OVER (PARTITION BY run) AS share FROM d),
      c AS (SELECT run, "position", share, sum(share) OVER (PARTITION BY run ORDER BY "position") AS cum FROM s)
      SELECT c.run, any_value(b.f) AS "from", any_value(b.l) AS "to", sum(share) FILTER (WHERE "position" < ${K}) AS e,
             min("position" + 1) FILTER (WHERE cum >= 0.5 - 1e-12) AS d50, min("position" + 1) FILTER (WHERE cum >= 0.9 - 1e-12) AS d90
      FROM c JOIN b ON c.run = b.run GROUP BY c.run ORDER BY c.run`),
  );
  answers.mass = Object.fromEntries(mass.map((r) => [r.run, { earlyShare: r.e, d50: r.d50, d90: r.d90, from: r.from, to: r.to }]));
  const conc = await timed(times, "concentration", () =>
    rows(`WITH f AS (SELECT run, min(step) AS f FROM t GROUP BY run),
      base AS (SELECT t.run, example, "position", loss AS va FROM t JOIN f ON t.run = f.run AND t.step = f.f),
      later AS (SELECT t.run, step, example, "position", loss AS vb FROM t JOIN f ON t.run = f.run AND t.step > f.f),
      d AS (SELECT later.run, step, later."position", avg(vb - va) AS delta FROM later JOIN base ON later.run = base.run AND later.example = base.example AND later."position" = base."position" GROUP BY ALL)
      SELECT run, step, sum(abs(delta)) FILTER (WHERE "position" < ${K}) / sum(abs(delta)) AS e FROM d GROUP BY run, step ORDER BY run, step`),
  );
  answers.concentration = Object.fromEntries(conc.map((r) => [`${r.run}|${r.step}`, r.e]));
  c.closeSync();
  db.closeSync();
  rmSync(tmp, { recursive: true, force: true });
  const r: ChildResult = { contender: "duckdb-sql", workload: m.spec.name, times, answers, peakRss: vmHwm() };
  emit(r);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
