/** `node .bench/build/bench/generate.js [scale] [--billion]`: generates the workloads without measuring. */
import { BILLION_ONE, BILLION_PARTS, LONG_PARQUET, LONG_SUBSET_CSV, LONG_SUBSET_PARQUET, WIDE_JSONL, WIDE_JSONL_GZ, ensureWorkload, scaled } from "./workloads";

async function main(): Promise<void> {
  const scale = Number(process.argv.slice(2).find((a) => !a.startsWith("--")) ?? process.env.BENCH_SCALE ?? 1);
  for (const spec of [WIDE_JSONL, WIDE_JSONL_GZ, LONG_PARQUET, LONG_SUBSET_PARQUET, LONG_SUBSET_CSV, ...(process.argv.includes("--billion") ? [BILLION_ONE, BILLION_PARTS] : [])]) {
    const m = await ensureWorkload(scaled(spec, scale), (s) => console.log(s));
    console.log(`${m.spec.name}: ${m.tokens} token rows, ${m.files.length} files, ${(m.bytes / 1e6).toFixed(1)} MB`);
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
