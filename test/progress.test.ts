/** Progress: the loader reports what it reads; the terminal sink draws a bar only after its delay. */
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadTokenLogs } from "../src/index";
import { detailText, formatBytes, progressSink } from "../src/progress";
import type { ProgressDetail } from "../src/progress";
import { statSync } from "node:fs";

afterEach(() => vi.restoreAllMocks());

describe("progress", () => {
  it("the loader reports each file it validates line by line, with a fraction for plain files", async () => {
    const updates: Array<[string, number | null]> = [];
    let done = 0;
    const logs = await loadTokenLogs(join(__dirname, "fixtures", "core", "ragged-long.csv"), {
      progress: { update: (label, f) => updates.push([label, f]), done: () => done++ },
    });
    logs.close();
    expect(updates.length).toBeGreaterThan(0);
    expect(updates[0][0]).toMatch(/^loading ragged-long\.csv/);
    const fractions = updates.map(([, f]) => f).filter((f): f is number => f !== null);
    expect(fractions.length).toBeGreaterThan(0);
    expect(Math.max(...fractions)).toBeCloseTo(1, 6);
    expect(done).toBeGreaterThan(0);
  });

  it("the loader passes the bytes read and the file size (the bar shows them next to it)", async () => {
    const file = join(__dirname, "fixtures", "core", "ragged-long.csv");
    const size = statSync(file).size;
    const details: Array<ProgressDetail | undefined> = [];
    const logs = await loadTokenLogs(file, { progress: { update: (label, f, d) => label.startsWith("loading") && details.push(d), done: () => undefined } });
    logs.close();
    const withBytes = details.filter((d): d is ProgressDetail => d?.bytes !== undefined);
    expect(withBytes.length).toBeGreaterThan(0);
    for (const d of withBytes) expect(d.totalBytes).toBe(size);
    expect(Math.max(...withBytes.map((d) => d.bytes!))).toBe(size);
    expect(detailText(withBytes[withBytes.length - 1])).toBe(` | ${formatBytes(size)} / ${formatBytes(size)}`);
  });

  it("draws a bar on stderr after the delay, and nothing for short work", () => {
    const writes: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      writes.push(String(s));
      return true;
    });
    const quiet = progressSink(true, 60_000);
    quiet.update("loading x", 0.5);
    quiet.done();
    expect(writes).toEqual([]);
    const bar = progressSink(true, 0);
    bar.update("loading x", 0.5);
    bar.done();
    // cli-progress, in its plain-line mode (stderr is not a terminal under the test runner).
    expect(writes.join("")).toMatch(/^loading x \|#{12}-{12}\| 50% \| ETA \d+s \| 0s\n/);
    expect(writes[writes.length - 1]).toBe("\n");
  });

  it("shows bytes and rows next to the bar, and the elapsed time when the total is unknown", () => {
    const writes: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      writes.push(String(s));
      return true;
    });
    const bar = progressSink(true, 0);
    bar.update("loading a.jsonl", 0.25, { bytes: 1.5e6, totalBytes: 6e6, rows: 12345 });
    bar.update("query", null);
    bar.done();
    const text = writes.join("");
    expect(text).toMatch(/loading a\.jsonl \|#{6}-{18}\| 25% \| 1\.5 MB \/ 6\.0 MB, 12,345 rows \| ETA/);
    expect(text).toMatch(/\nquery \| 0s elapsed\n/);
    expect(detailText({ bytes: 999 })).toBe(" | 999 B");
  });

  it("is silent by default when stderr is not a terminal (pipes, CI)", () => {
    const spy = vi.spyOn(process.stderr, "write");
    const isTTY = process.stderr.isTTY;
    Object.defineProperty(process.stderr, "isTTY", { value: false, configurable: true });
    try {
      const auto = progressSink("auto", 0);
      auto.update("x", 0.5);
      auto.done();
      expect(spy).not.toHaveBeenCalled();
    } finally {
      Object.defineProperty(process.stderr, "isTTY", { value: isTTY, configurable: true });
    }
  });

  it("is silent when turned off", () => {
    const spy = vi.spyOn(process.stderr, "write");
    const off = progressSink(false, 0);
    off.update("x", 0.1);
    off.done();
    expect(spy).not.toHaveBeenCalled();
  });
});
