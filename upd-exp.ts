import { loadTokenLogs } from "/work/main/src/index";
import { pairsSql } from "/work/main/src/stats/updateProfile";
(async () => {
  const files: string[] = require("/work/main/.bench/data/b-long-parquet/manifest.json").files;
  process.env.ALIGNDEPTH_CACHE_DIR = "/tmp/qcache/b-long-parquet";
  const logs = await loadTokenLogs(files, { progress: false } as any);
  const { sql, params } = pairsSql(logs, { metric: "loss" });
  const q = `${sql} SELECT run, any_value(s_from) AS "from", any_value(s_to) AS "to", "position", count(*)::BIGINT AS n, avg(diff) AS mean, COALESCE(var_pop(diff) * count(*), 0) AS m2 FROM pairs GROUP BY run, "position" ORDER BY run, "position"`;
  await logs.engine.run(`CREATE VIEW t2 AS SELECT CAST(run AS VARCHAR) AS run, CAST(step AS INTEGER) AS step, CAST(example AS VARCHAR) AS example, CAST("position" AS INTEGER) AS "position", CAST(split AS VARCHAR) AS split, CAST(loss AS DOUBLE) AS loss, CAST(kl AS DOUBLE) AS kl, CAST(token_id AS BIGINT) AS token_id FROM read_parquet([${files.map((f) => `'${f}'`).join(",")}])`);
  await logs.engine.run(`CREATE VIEW t3 AS SELECT * FROM read_parquet([${files.map((f) => `'${f}'`).join(",")}])`);
  for (let i = 0; i < 3; i++) {
    for (const [name, src] of [["union", "tokens"], ["one read+casts", "t2"], ["one read", "t3"]]) {
      const t0 = Date.now(); await logs.engine.rows(q.replaceAll(" tokens ", ` ${src} `), params); console.log(name, (Date.now() - t0) / 1000);
    }
  }
  const prof = (src: string) => `SELECT run, step, "position", count(*)::INTEGER AS n, avg(loss) AS mean, stddev_samp(loss) AS sd FROM ${src} GROUP BY run, step, "position" ORDER BY ALL`;
  for (let i = 0; i < 2; i++) for (const src of ["tokens", "t2", "t3"]) { const t0 = Date.now(); await logs.engine.rows(prof(src)); console.log("profile", src, (Date.now() - t0) / 1000); }
  await logs.close();
})();
