/**
 * The hand-written DuckDB position profile as a whole process, beside `aligndepth profile`: open
 * DuckDB, one query over the Parquet files, print the rows as JSON (the shape of `aligndepth
 * profile --json`). Usage: node sqlProfile.js MANIFEST
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { readManifest } from "./common";

async function main(): Promise<void> {
  const m = readManifest(process.argv[2]);
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  const files = `[${m.files.map((f) => `'${f}'`).join(", ")}]`;
  const r = await c.runAndReadAll(
    `SELECT run, step, "position", count(*)::INTEGER AS n, avg(loss) AS mean, stddev_samp(loss) AS sd, stddev_samp(loss) / sqrt(count(*)) AS se FROM read_parquet(${files}) GROUP BY run, step, "position" ORDER BY ALL`,
  );
  process.stdout.write(JSON.stringify({ metric: "loss", rows: r.getRowObjectsJS() }) + "\n");
  c.closeSync();
  db.closeSync();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
