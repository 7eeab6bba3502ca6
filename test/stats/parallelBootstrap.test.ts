/**
 * runBootstraps: the bootstraps of several runs, side by side in worker threads when compiled (the
 * worker file is JavaScript; under vitest the TypeScript sources run in the calling thread). What
 * the workers do is checked here piece by piece: the buffers moved are each run's own, once each;
 * data moved away and back (structured clone with transfer, as postMessage does) gives the same
 * bootstrap bit for bit; and the calling-thread path equals runBootstrap.
 */
import { describe, expect, it } from "vitest";
import { exampleTable } from "../../src/stats/exampleTable";
import { buffersOf, runBootstraps } from "../../src/stats/parallelBootstrap";
import { RunBootstrap, RunData, runBootstrap } from "../../src/stats/runIntervals";
import { rng } from "../../src/stats/bootstrap";

function run(seed: number, withLevel: boolean): RunData {
  const rand = rng(seed);
  const ex: string[] = [];
  const pos: number[] = [];
  for (let e = 0; e < 40; e++) for (let p = 0; p < 2 + (e % 7); p++) (ex.push(`e${e}`), pos.push(p));
  // Columns as views over larger buffers, as loadRunData keeps them.
  const view = (n: number, f: () => number) => {
    const a = new Float64Array(n + 16).subarray(0, n);
    for (let i = 0; i < n; i++) a[i] = f();
    return a;
  };
  const index = new Map<string, number>();
  const pairs = exampleTable(ex, pos, [view(pos.length, () => -Math.exp(-rand() * 3)), view(pos.length, () => 1 + rand())], index);
  const level = withLevel ? exampleTable(ex, pos, [view(pos.length, () => rand())], index) : null;
  return { pairs, level, pool: Int32Array.from({ length: index.size }, (_, i) => i) };
}

const same = (a: RunBootstrap, b: RunBootstrap) => {
  for (const k of ["estimate", "replicates", "jackknife"] as const) {
    const x = a[k]!;
    const y = b[k]!;
    expect(x.length, k).toBe(y.length);
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) expect.fail(`${k}[${i}]: ${x[i]} !== ${y[i]}`);
  }
};

describe("runBootstraps", () => {
  const opts = { k: 2, B: 150, seed: 4, method: "bca" as const };

  it("moves each run's own buffers, once each (views over one buffer count once)", () => {
    const d = run(1, true);
    const bufs = buffersOf(d);
    // pool; pairs: offsets, positionIndex, 2 columns; level: offsets, positionIndex, 1 column.
    expect(bufs.length).toBe(8);
    expect(new Set(bufs).size).toBe(8);
    const boot = runBootstrap(d, opts);
    expect(buffersOf(d, boot).length).toBe(11);
  });

  it("data moved away and back gives the same bootstrap, bit for bit", () => {
    const d = run(2, true);
    const before = runBootstrap(d, opts);
    const moved = structuredClone(d, { transfer: buffersOf(d) });
    expect(d.pairs.columns[0].length).toBe(0); // detached: the caller must use what comes back
    same(runBootstrap(moved, opts), before);
  });

  it("in the calling thread, equals runBootstrap of each run", async () => {
    const tasks = [run(3, false), run(4, true), run(5, false)].map((data) => ({ data, opts }));
    const expected = tasks.map((t) => runBootstrap(t.data, t.opts));
    const got = await runBootstraps(tasks);
    got.forEach((g, i) => {
      same(g.boot, expected[i]);
      expect(g.data).toBe(tasks[i].data);
    });
  });
});
