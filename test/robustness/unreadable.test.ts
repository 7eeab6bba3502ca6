/**
 * An unreadable file. As root (CI), chmod 000 does not stop reads, so the permission error is
 * produced by a mocked fs for the file named below; as another user, a real chmod 000 file is used too.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.mock("node:fs", async (orig) => {
  const fs = await orig<typeof import("node:fs")>();
  const denied = (p: unknown) => typeof p === "string" && p.endsWith("mocked-unreadable.jsonl");
  const eacces = (p: string) => Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: "EACCES" });
  const wrapped = {
    ...fs,
    accessSync: (p: string, m?: number) => (denied(p) ? (() => { throw eacces(p); })() : fs.accessSync(p, m)),
    openSync: (p: string, ...a: unknown[]) => (denied(p) ? (() => { throw eacces(p); })() : (fs.openSync as (...x: unknown[]) => number)(p, ...a)),
  };
  return { ...wrapped, default: wrapped };
});

const { cli } = await import("./helpers");
const { loadTokenLogs } = await import("../../src/load");
const { InvalidInputError } = await import("../../src/errors");

let D = "";
const LINE = JSON.stringify({ run: "a", step: 0, example: 1, position: 0, loss: 0.5 });
beforeAll(() => {
  D = mkdtempSync(join(tmpdir(), "aligndepth-perm-"));
  writeFileSync(join(D, "mocked-unreadable.jsonl"), `${LINE}\n`);
  writeFileSync(join(D, "chmod-000.jsonl"), `${LINE}\n`);
  chmodSync(join(D, "chmod-000.jsonl"), 0o000);
});
afterAll(() => rmSync(D, { recursive: true, force: true }));

describe("unreadable permissions", () => {
  it("a permission error is one line, exit 1, from every command, and a typed API error", async () => {
    const f = join(D, "mocked-unreadable.jsonl");
    for (const [cmd, extra] of [["validate", []], ["profile", []], ["summary", ["--bootstrap", "0"]], ["convert", ["--out", join(D, "o.jsonl")]]] as Array<[string, string[]]>) {
      const r = await cli([cmd, f, ...extra]);
      expect(r.code).toBe(1);
      const lines = cmd === "validate" ? r.stdout : r.stderr.map((l) => l.replace(/^error: /, ""));
      expect(lines).toEqual([`${f}: permission denied (the file is not readable)`]);
    }
    const e = await loadTokenLogs(f, { progress: false }).catch((x) => x);
    expect(e).toBeInstanceOf(InvalidInputError);
    expect(e.first).toMatchObject({ file: f, line: null, reason: "unreadable" });
  });

  it.runIf(process.getuid?.() !== 0)("a real chmod 000 file (not root)", async () => {
    const f = join(D, "chmod-000.jsonl");
    const r = await cli(["profile", f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toEqual([`error: ${f}: permission denied (the file is not readable)`]);
  });

  it.runIf(process.getuid?.() === 0)("as root, chmod 000 cannot deny reads: covered by the mocked fs error above", () => {
    console.log("unreadable.test: running as root, so chmod 000 is still readable; the permission path is tested with a mocked EACCES");
    expect(process.getuid?.()).toBe(0);
  });
});
