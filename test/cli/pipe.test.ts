/**
 * `aligndepth profile ... | head`: when the reader closes the pipe, the command exits 0 quietly
 * instead of crashing with an EPIPE stack trace. Runs the real guard (src/cli/output.ts, compiled
 * with esbuild) in a child process whose stdout is a pipe that `head -c` closes early.
 */
import { spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { transformSync } from "esbuild";
import { describe, expect, it } from "vitest";
import { exitQuietlyOnClosedPipe } from "../../src/cli/output";

describe("closed pipe", () => {
  it("a child writing 8 MB into `head -c 100` exits 0 with nothing on stderr", () => {
    const dir = mkdtempSync(join(tmpdir(), "aligndepth-pipe-"));
    const { code } = transformSync(readFileSync(join(__dirname, "..", "..", "src", "cli", "output.ts"), "utf8"), { loader: "ts", format: "cjs" });
    writeFileSync(join(dir, "output.js"), code);
    const child = `const o = require(${JSON.stringify(join(dir, "output.js"))}); if (process.argv[2] === "guard") o.exitQuietlyOnClosedPipe();
      const line = "x".repeat(1023) + "\\n"; let i = 0; (function more() { while (i < 8192) { i++; if (!process.stdout.write(line)) return process.stdout.once("drain", more); } })();`;
    writeFileSync(join(dir, "child.js"), child);
    const run = (arg: string) => spawnSync("bash", ["-c", `node ${join(dir, "child.js")} ${arg} | head -c 100 >/dev/null; echo "status \${PIPESTATUS[0]}" >&2`], { encoding: "utf8" });
    const guarded = run("guard");
    expect(guarded.stderr.trim()).toBe("status 0");
    // Without the guard the same child crashes: the test can fail.
    const bare = run("none");
    expect(bare.stderr).toMatch(/EPIPE/);
    expect(bare.stderr).toMatch(/status 1$/m);
  });
  it("exits 0 on EPIPE only, and installs itself once", () => {
    const s = new EventEmitter() as unknown as NodeJS.WriteStream;
    const exits: number[] = [];
    exitQuietlyOnClosedPipe(s, (c) => exits.push(c));
    exitQuietlyOnClosedPipe(s, (c) => exits.push(c)); // installed once
    s.emit("error", Object.assign(new Error("closed"), { code: "EPIPE" }));
    expect(exits).toEqual([0]);
    expect(() => s.emit("error", Object.assign(new Error("disk"), { code: "EIO" }))).toThrow("disk");
  });
});
