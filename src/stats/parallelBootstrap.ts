/**
 * The bootstraps of several runs at once, one worker thread per run: each run's replicates are
 * independent of the others' (own data, same seed), so running them side by side on the machine's
 * cores gives exactly the numbers of running them one after another (METRICS.md 3.6).
 *
 * The runs' typed arrays are moved to the workers and back (transfer, no copy): the caller must use
 * the `data` returned, not the objects it passed in. Without the compiled worker (running from the
 * TypeScript sources, e.g. under vitest), with one run, with little data, or with
 * ALIGNDEPTH_BOOTSTRAP_THREADS=1, everything runs in the calling thread.
 */
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { IntervalOptions, RunBootstrap, RunData, runBootstrap } from "./runIntervals";

/** Below this many entries (summed over runs) a worker's start-up costs more than it saves. */
const MIN_ENTRIES = 200_000;

const WORKER = join(__dirname, "bootstrapWorker.js");

/** Every ArrayBuffer behind the typed arrays of a run's data (and of a bootstrap result), once each. */
export function buffersOf(data: RunData, boot?: RunBootstrap): ArrayBuffer[] {
  const arrays: ArrayBufferView[] = [data.pool];
  for (const t of [data.pairs, data.level]) if (t) arrays.push(t.offsets, t.positionIndex, ...t.columns);
  if (boot) arrays.push(boot.estimate, boot.replicates, ...(boot.jackknife ? [boot.jackknife] : []));
  const seen = new Set<ArrayBuffer>();
  for (const a of arrays) if (a.buffer instanceof ArrayBuffer && a.buffer.byteLength > 0) seen.add(a.buffer);
  return [...seen];
}

/** How many threads the bootstraps may use: ALIGNDEPTH_BOOTSTRAP_THREADS, else the number of cores. */
function threads(): number {
  const env = Number(process.env.ALIGNDEPTH_BOOTSTRAP_THREADS);
  return Number.isInteger(env) && env >= 1 ? env : cpus().length;
}

/**
 * `runBootstrap` of every task, in parallel when it pays (see the file's comment).
 * @returns per task, the bootstrap and the run's data (the same values; use it instead of `task.data`).
 */
export async function runBootstraps(tasks: Array<{ data: RunData; opts: IntervalOptions }>): Promise<Array<{ boot: RunBootstrap; data: RunData }>> {
  const entries = tasks.reduce((a, t) => a + t.data.pairs.positionIndex.length + (t.data.level?.positionIndex.length ?? 0), 0);
  const buffers = tasks.map((t) => buffersOf(t.data));
  const shared = new Set(buffers.flat()).size !== buffers.reduce((a, b) => a + b.length, 0);
  if (tasks.length < 2 || threads() < 2 || entries < MIN_ENTRIES || shared || !existsSync(WORKER))
    return tasks.map((t) => ({ boot: runBootstrap(t.data, t.opts), data: t.data }));
  // At most `threads()` workers at a time; the calling thread waits.
  const out = new Array<{ boot: RunBootstrap; data: RunData }>(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await inWorker(tasks[i], buffers[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(threads(), tasks.length) }, lane));
  return out;
}

function inWorker(task: { data: RunData; opts: IntervalOptions }, transfer: ArrayBuffer[]): Promise<{ boot: RunBootstrap; data: RunData }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: task, transferList: transfer });
    w.once("message", (m: { boot: RunBootstrap; data: RunData }) => resolve(m));
    w.once("error", reject);
    w.once("exit", (code) => {
      if (code !== 0) reject(new Error(`bootstrap worker exited with code ${code}`));
    });
  });
}
