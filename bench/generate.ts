/** `node .bench/build/bench/generate.js [scale]`: generates the workloads without measuring. */
import { LONG_PARQUET, LONG_SUBSET_CSV, LONG_SUBSET_PARQUET, WIDE_JSONL, ensureWorkload, scaled } from "./workloads";

async function main(): Promise<void> {
  const scale = Number(process.argv[2] ?? process.env.BENCH_SCALE ?? 1);
  for (const spec of [WIDE_JSONL, LONG_PARQUET, LONG_SUBSET_PARQUET, LONG_SUBSET_CSV]) {
    const m = await ensureWorkload(scaled(spec, scale), (s) => console.log(s));
    console.log(`${m.spec.name}: ${m.tokens} token rows, ${m.files.length} files, ${(m.bytes / 1e6).toFixed(1)} MB`);
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
