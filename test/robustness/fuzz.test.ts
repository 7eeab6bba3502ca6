/**
 * Seeded, bounded fuzzing of the loader: valid logs (long and wide JSON Lines, CSV) mutated in their
 * bytes and their structure a few hundred times. Every load must end within a time limit with either
 * a result or an InvalidInputError (never another exception, never a hang); when a skip-mode load
 * succeeds, rows in = rows used + rows skipped and the table holds exactly the used tokens.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors";
import { loadTokenLogs } from "../../src/load";
import { rng } from "./helpers";

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const ITERATIONS = 300;
const TIME_LIMIT_MS = 15_000;

let D = "";
beforeAll(() => {
  D = mkdtempSync(join(tmpdir(), "aligndepth-fuzz-"));
});
afterAll(() => rmSync(D, { recursive: true, force: true }));

function longLines(): string[] {
  const out: string[] = [];
  for (const step of [0, 10]) for (let ex = 0; ex < 3; ex++) for (let pos = 0; pos < 3; pos++)
    out.push(JSON.stringify({ run: "r", step, example: ex, position: pos, loss: 1 / (1 + pos + ex + step), kl: pos / 10, token: `t${pos}`, token_id: pos + 100 }));
  return out;
}
function wideLines(): string[] {
  const out: string[] = [];
  for (const step of [0, 10]) for (let ex = 0; ex < 3; ex++)
    out.push(JSON.stringify({ run: "r", step, example: `e${ex}`, segment: "refusal", loss: [0.5, 0.25, 1 / 3], kl: [0, 0.1, 0.2], token: ["a", "b", "c"] }));
  return out;
}
function csvLines(): string[] {
  const out = ["run,step,example,position,loss,token"];
  for (const step of [0, 10]) for (let ex = 0; ex < 3; ex++) for (let pos = 0; pos < 3; pos++) out.push(`r,${step},${ex},${pos},${1 / (1 + pos)},"t,${pos}"`);
  return out;
}

const ODD_VALUES = ["null", "NaN", "-Infinity", '"x"', "[]", "{}", "true", "-1", "0.5", "1e400", '"\\ud800"', "12345678901234567890123", '""', "[1,[2]]"];

/** One mutation of the text, chosen by `r`. */
function mutate(text: string, r: () => number, csv: boolean): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const lines = text.split("\n");
  const li = Math.floor(r() * Math.max(1, lines.length - 1));
  const kind = Math.floor(r() * 12);
  switch (kind) {
    case 0: { // flip a byte
      const b = Buffer.from(text);
      const i = Math.floor(r() * b.length);
      b[i] ^= 1 << Math.floor(r() * 8);
      return b.toString("latin1");
    }
    case 1: { // insert a byte
      const i = Math.floor(r() * text.length);
      return text.slice(0, i) + String.fromCharCode(Math.floor(r() * 256)) + text.slice(i);
    }
    case 2: { // delete a run of bytes
      const i = Math.floor(r() * text.length);
      return text.slice(0, i) + text.slice(i + 1 + Math.floor(r() * 20));
    }
    case 3: // truncate
      return text.slice(0, Math.floor(r() * text.length));
    case 4: // duplicate a line
      lines.splice(li, 0, lines[li]);
      return lines.join("\n");
    case 5: { // swap two lines
      const lj = Math.floor(r() * Math.max(1, lines.length - 1));
      [lines[li], lines[lj]] = [lines[lj], lines[li]];
      return lines.join("\n");
    }
    case 6: // CRLF and a BOM
      return `\uFEFF${text.replace(/\n/g, "\r\n")}`;
    default: {
      if (csv) {
        const cells = lines[li].split(",");
        const ci = Math.floor(r() * cells.length);
        if (kind === 7) cells.splice(ci, 1); // drop a field
        else cells[ci] = pick(["", "nan", "inf", "x", "-1", "1.5", '"', '"a""b"', "1e999", "  2 "]);
        lines[li] = cells.join(",");
        return lines.join("\n");
      }
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(lines[li]);
      } catch {
        return text;
      }
      const keys = Object.keys(obj);
      const k = pick(keys);
      let line: string;
      if (kind === 7) {
        delete obj[k]; // drop a field
        line = JSON.stringify(obj);
      } else if (kind === 8) {
        obj[`extra${Math.floor(r() * 3)}`] = 1; // a field that appears late
        line = JSON.stringify(obj);
      } else if (kind === 9 && Array.isArray(obj[k])) {
        (obj[k] as unknown[]).pop(); // shorten one array
        line = JSON.stringify(obj);
      } else {
        // swap a value's type (textually, so that NaN and lone surrogates get through)
        line = JSON.stringify({ ...obj, [k]: "__ODD__" }).replace('"__ODD__"', pick(ODD_VALUES));
      }
      lines[li] = line;
      return lines.join("\n");
    }
  }
}

async function withLimit<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`time limit: ${what}`)), TIME_LIMIT_MS)));
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

describe("fuzz", () => {
  it(`${ITERATIONS} mutated logs end in a result or an InvalidInputError (seed ${SEED})`, async () => {
    const r = rng(SEED);
    const bases: Array<[string, string, boolean]> = [
      ["long.jsonl", `${longLines().join("\n")}\n`, false],
      ["wide.jsonl", `${wideLines().join("\n")}\n`, false],
      ["data.csv", `${csvLines().join("\n")}\n`, true],
    ];
    const outcomes = { loaded: 0, invalid: 0, skipLoaded: 0 };
    /** Inputs the checker passed but DuckDB refused: gaps in the checker (still clean errors). */
    const rejected: string[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const [name, base, csv] = bases[i % bases.length];
      let text = base;
      const n = 1 + Math.floor(r() * 3);
      for (let m = 0; m < n; m++) text = mutate(text, r, csv);
      const file = join(D, `${i}-${name}`);
      writeFileSync(file, Buffer.from(text, /[^\x00-\xff]/.test(text) ? "utf8" : "latin1"));
      for (const skipInvalid of [false, true]) {
        const what = `iteration ${i} (${file}, skipInvalid ${skipInvalid})`;
        let logs;
        try {
          logs = await withLimit(loadTokenLogs(file, { progress: false, skipInvalid, threads: 1 }), what);
        } catch (e) {
          if (!(e instanceof InvalidInputError)) throw new Error(`${what}: ${(e as Error)?.name}: ${(e as Error)?.message}\n--- input ---\n${text.slice(0, 2000)}`);
          expect(e.problems.length, what).toBeGreaterThan(0);
          for (const p of e.problems) {
            expect(p.file, what).toBeTruthy();
            expect(p.message, what).not.toMatch(/\n/);
          }
          outcomes.invalid++;
          if (e.problems.some((p) => p.reason === "rejected")) rejected.push(`${what}: ${e.message}`);
          continue;
        }
        try {
          const rep = logs.report;
          expect(rep.records, what).toBe(rep.recordsUsed + rep.recordsSkipped);
          expect(Object.values(rep.skipped).reduce((a, b) => a + b, 0), what).toBe(rep.recordsSkipped);
          const [{ n: rows }] = await logs.engine.rows<{ n: number }>(`SELECT count(*) AS n FROM ${logs.table}`);
          expect(rows, what).toBe(rep.tokens);
          if (!skipInvalid) expect(rep.recordsSkipped, what).toBe(0);
          if (skipInvalid) outcomes.skipLoaded++;
          else outcomes.loaded++;
        } finally {
          logs.close();
        }
      }
    }
    console.log(`fuzz: ${ITERATIONS} inputs, seed ${SEED}: ${outcomes.loaded} loaded strict, ${outcomes.skipLoaded} loaded with skip, ${outcomes.invalid} clean InvalidInputErrors`);
    if (rejected.length) console.log(`fuzz: refused by DuckDB after the checker passed them:\n${rejected.join("\n")}`);
    expect(rejected).toEqual([]);
    expect(outcomes.invalid).toBeGreaterThan(0);
    expect(outcomes.skipLoaded).toBeGreaterThan(0);
  }, 300_000);
});
