/**
 * Worker thread entry of `runBootstraps` (parallelBootstrap.ts): computes one run's bootstrap
 * (`runBootstrap`, the same code and seed as in the main thread) and hands the run's data back with
 * the result. The typed arrays travel by transfer (moved, not copied) both ways.
 */
import { parentPort, workerData } from "node:worker_threads";
import { IntervalOptions, RunBootstrap, RunData, runBootstrap } from "./runIntervals";
import { buffersOf } from "./parallelBootstrap";

const { data, opts } = workerData as { data: RunData; opts: IntervalOptions };
const boot: RunBootstrap = runBootstrap(data, opts);
parentPort!.postMessage({ boot, data }, buffersOf(data, boot));
