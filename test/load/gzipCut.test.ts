/**
 * A gzip text log cut off by a crash (issue 10, METRICS 1.5 and "nothing dropped silently"): a
 * stream truncated at a line boundary (the writer flushed after every line), or missing only its
 * 8-byte trailer, is refused with one whole-file line naming the records read before the cut; with
 * the skip mode those records are used and the cut is warned about. JSON Lines (long, wide) and CSV.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants, deflateRawSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InvalidInputError, loadTokenLogs } from "../../src/index";
import { run } from "../cli/run";

const CORE = join(__dirname, "..", "fixtures", "core");
const dir = mkdtempSync(join(tmpdir(), "aligndepth-gzipcut-"));
/** gzip header: magic, deflate, no flags, no mtime, no extra flags, OS unknown. */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/** The first `keep` lines of `text` as a gzip stream flushed at their end and cut there (no final block, no trailer). */
function cutAtLine(text: string, keep: number): Buffer {
  const lines = text.split("\n").slice(0, keep).map((l) => `${l}\n`).join("");
  return Buffer.concat([HEADER, deflateRawSync(Buffer.from(lines), { finishFlush: constants.Z_SYNC_FLUSH })]);
}

const cases = [
  { name: "jsonl-long", file: "ragged-long.jsonl", ext: "jsonl", header: 0, tokensPerLine: [1, 1, 1, 1, 1] },
  { name: "jsonl-wide", file: "ragged-wide.jsonl", ext: "jsonl", header: 0, tokensPerLine: [3, 2, 1] },
  { name: "csv", file: "ragged-long.csv", ext: "csv", header: 1, tokensPerLine: [1, 1, 1, 1, 1] },
];

describe.each(cases)("a gzip $name log cut off by a crash", ({ name, file, ext, header, tokensPerLine }) => {
  const text = readFileSync(join(CORE, file), "utf8");
  const records = tokensPerLine.length;
  const cut = join(dir, `${name}-cut.${ext}.gz`);
  writeFileSync(cut, cutAtLine(text, header + records));
  const total = text.trim().split("\n").length - header;
  const whole = gzipSync(Buffer.from(text));
  const noTrailer = join(dir, `${name}-no-trailer.${ext}.gz`);
  writeFileSync(noTrailer, whole.subarray(0, whole.length - 8));

  it("is refused with one whole-file line naming the records read before the cut (API)", async () => {
    const e = await loadTokenLogs(cut).catch((x) => x);
    expect(e).toBeInstanceOf(InvalidInputError);
    expect((e as InvalidInputError).problems.map((p) => `${p.file}: ${p.message}`)).toEqual([`${cut}: gzip stream is cut off (unexpected end of file): ${records} records read before the cut`]);
    const t = await loadTokenLogs(noTrailer).catch((x) => x);
    expect((t as InvalidInputError).problems.map((p) => p.message)).toEqual([`gzip stream is cut off (unexpected end of file): ${total} records read before the cut`]);
  });

  it("zero padding after the stream (gzip -t accepts it, DuckDB does not): one line naming the file, exit 1, never an internal error", async () => {
    const padded = join(dir, `${name}-padded.${ext}.gz`);
    writeFileSync(padded, Buffer.concat([whole, Buffer.alloc(16)]));
    const e = await loadTokenLogs(padded, { progress: false, cache: false }).catch((x) => x);
    expect(e).toBeInstanceOf(InvalidInputError);
    expect((e as InvalidInputError).problems.map((p) => `${p.file}: ${p.message}`)).toEqual([`${padded}: DuckDB cannot read this gzip file: it has data after the end of its gzip stream (such as zero padding); decompress it (gunzip drops the padding) and load the result`]);
    const s = await run(["profile", padded, "--no-progress", "--no-cache"]);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain("data after the end of its gzip stream");
  });

  it("cut inside a line: that line is lost with the rest, the same one line", async () => {
    const lines = text.split("\n");
    const partial = `${lines.slice(0, header + records).map((l) => `${l}\n`).join("")}${lines[header + records].slice(0, 10)}`;
    const mid = join(dir, `${name}-mid.${ext}.gz`);
    writeFileSync(mid, Buffer.concat([HEADER, deflateRawSync(Buffer.from(partial), { finishFlush: constants.Z_SYNC_FLUSH })]));
    const e = await loadTokenLogs(mid).catch((x) => x);
    expect((e as InvalidInputError).problems.map((p) => p.message)).toEqual([`gzip stream is cut off (unexpected end of file): ${records} records read before the cut`]);
  });

  it("validate and summary exit 1 with that line", async () => {
    const v = await run(["validate", cut, "--no-progress"]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(`${cut}: gzip stream is cut off (unexpected end of file): ${records} records read before the cut`);
    expect(v.stdout).not.toContain(": ok");
    const s = await run(["summary", cut, "--bootstrap", "0", "--no-progress"]);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain(`gzip stream is cut off (unexpected end of file): ${records} records read before the cut`);
  });

  it("with --skip-invalid the records before the cut are used and the cut is warned about", async () => {
    const logs = await loadTokenLogs(cut, { skipInvalid: true });
    try {
      expect(logs.report.records).toBe(records);
      expect(logs.report.tokens).toBe(tokensPerLine.reduce((a, b) => a + b, 0));
      expect(logs.report.warnings).toEqual([`${cut}: gzip stream is cut off (unexpected end of file): ${records} records read before the cut; they are used, the rest of the file is lost (--skip-invalid)`]);
    } finally {
      logs.close();
    }
    const s = await run(["summary", cut, "--skip-invalid", "--bootstrap", "0", "--json", "--no-progress"]);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).warnings[0]).toContain(`gzip stream is cut off (unexpected end of file): ${records} records read before the cut`);
    expect(s.stderr).toContain("warning: ");
  });
});
