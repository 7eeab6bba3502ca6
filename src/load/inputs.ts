/**
 * Input files: globs expanded, each file checked to exist and be readable, its format found from
 * its name (or its first bytes) unless the caller says.
 */
import { accessSync, constants, openSync, readSync, closeSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { Problem, fileProblem } from "../errors";
import { Format } from "./schema";

const GLOB_CHARS = /[*?[{]/;

/** Translates a glob (`*`, `?`, `**`, `[abc]`, `{a,b}`) into a regular expression over a path. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        re += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
        i += glob[i + 2] === "/" ? 2 : 1;
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (c === "{") {
      const end = glob.indexOf("}", i + 1);
      if (end < 0) re += "\\{";
      else {
        re += `(?:${glob.slice(i + 1, end).split(",").map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string, deep: boolean, out: string[]): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (deep) walk(p, deep, out);
    } else out.push(p);
  }
}

/** Expands one glob into the files it matches, sorted. */
export function expandGlob(pattern: string): string[] {
  const parts = pattern.split("/");
  const firstGlob = parts.findIndex((p) => GLOB_CHARS.test(p));
  const base = parts.slice(0, firstGlob).join("/") || (pattern.startsWith("/") ? "/" : ".");
  const deep = pattern.includes("**");
  const files: string[] = [];
  walk(base, deep || firstGlob < parts.length - 1, files);
  const re = globToRegExp(pattern.startsWith("./") ? pattern.slice(2) : pattern);
  return files
    .map((f) => (base === "." && !pattern.startsWith("./") ? f : f))
    .filter((f) => re.test(f.split(sep).join("/")) || re.test(`./${f}`))
    .sort();
}

export interface ResolvedFiles {
  files: string[];
  problems: Problem[];
  /** Inputs naming a file already listed (the same path, another spelling, a link): read once; one note each. */
  repeated: string[];
}

/** Expands globs and checks every file; problems name the input that failed. */
export function resolveInputs(inputs: string[]): ResolvedFiles {
  const files: string[] = [];
  const problems: Problem[] = [];
  const repeated: string[] = [];
  /** Real path -> the spelling kept: `f`, `./f` and a link to it are one file, read once. */
  const seen = new Map<string, string>();
  if (inputs.length === 0) problems.push(fileProblem("(no input)", "no-input", "no input files given"));
  for (const input of inputs) {
    const candidates = GLOB_CHARS.test(input) && !exists(input) ? expandGlob(input) : [input];
    if (candidates.length === 0) {
      problems.push(fileProblem(input, "no-match", "no file matches this pattern"));
      continue;
    }
    for (const f of candidates) {
      const p = checkFile(f);
      if (p) {
        problems.push(p);
        continue;
      }
      const real = realPath(f);
      const first = seen.get(real);
      if (first === undefined) {
        seen.set(real, f);
        files.push(f);
      } else repeated.push(f === first ? `${f} is given more than once: read once` : `${f} is the same file as ${first}: read once`);
    }
  }
  return { files, problems, repeated };
}

function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** A problem if the path is not a readable regular file. */
export function checkFile(file: string): Problem | null {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fileProblem(file, "missing-file", code === "ENOENT" ? "no such file" : `cannot open (${code})`);
  }
  if (st.isDirectory()) return fileProblem(file, "not-a-file", `is a directory (pass its files, or a glob such as '${join(file, "*.jsonl")}')`);
  if (!st.isFile()) return fileProblem(file, "not-a-file", "is not a regular file");
  try {
    accessSync(file, constants.R_OK);
    const fd = openSync(file, "r");
    closeSync(fd);
  } catch {
    return fileProblem(file, "unreadable", "permission denied (the file is not readable)");
  }
  if (st.size === 0) return fileProblem(file, "empty-file", "the file is empty (0 bytes)");
  return null;
}

/** The format of a file from its name, else from its first bytes; null if neither tells. */
export function detectFormat(file: string): Format | null {
  const name = file.toLowerCase().replace(/\.(gz|gzip)$/, "");
  if (/\.(jsonl|ndjson|json)$/.test(name)) return "jsonl";
  if (/\.(csv)$/.test(name)) return "csv";
  if (/\.(parquet|pq)$/.test(name)) return "parquet";
  const head = Buffer.alloc(4);
  try {
    const fd = openSync(file, "r");
    readSync(fd, head, 0, 4, 0);
    closeSync(fd);
  } catch {
    return null;
  }
  if (head.toString("latin1") === "PAR1") return "parquet";
  const t = head.toString("utf8").replace(/^\uFEFF/, "").trimStart();
  if (t.startsWith("{")) return "jsonl";
  return null;
}

export function absolute(file: string): string {
  return resolve(file);
}

/**
 * Record kinds other than token logs, recognised by their fields (METRICS 1.3): such files met
 * among token logs are left out and named in a note. Checked in order; the first match names it.
 */
export const OTHER_RECORD_KINDS: Array<{ kind: string; fields: string[] }> = [
  { kind: "attack results", fields: ["attack", "harmful", "score", "idx"] },
  { kind: "training-gradient log", fields: ["train_grad_norm", "n_tokens"] },
  { kind: "probe-change log", fields: ["loss_before", "loss_after"] },
  { kind: "influence log", fields: ["influence", "source_position"] },
];

/**
 * The kind of record a file holds when it is not a token log, from its field names (the first
 * record's keys, the CSV header or the Parquet columns), or null for a token log. A field the
 * column mapping names is the user's: it never marks another kind.
 */
export function otherRecordKind(fields: string[], mapped: string[] = []): string | null {
  const own = fields.filter((f) => !mapped.includes(f));
  // `score` and `idx` are common words: they mark attack results only in a file with no token-log
  // field (`position`, `loss`); `attack` and `harmful` always do.
  const tokenLike = fields.includes("position") || fields.includes("loss");
  for (const k of OTHER_RECORD_KINDS) {
    const markers = k.kind === "attack results" && tokenLike ? ["attack", "harmful"] : k.fields;
    if (markers.some((f) => own.includes(f))) return k.kind;
  }
  return null;
}

/**
 * The field names of a file: the first record's keys (JSON Lines), the header (CSV), the columns
 * (Parquet, through `describe`). Null when they cannot be read (the loaders then say why).
 */
export async function peekFields(file: string, format: Format, describe: (file: string) => Promise<string[]>): Promise<string[] | null> {
  try {
    if (format === "parquet") return await describe(file);
    const { readLines } = await import("./lines");
    const { parseJsonLenient } = await import("./checkRecord");
    for await (const { bytes } of readLines(file)) {
      const text = bytes.toString("utf8").replace(/^\uFEFF/, "").replace(/\r$/, "");
      if (text.trim() === "") continue;
      if (format === "csv") return text.split(",").map((h) => h.trim().replace(/^"(.*)"$/, "$1"));
      const v = parseJsonLenient(text);
      return v !== null && typeof v === "object" && !Array.isArray(v) ? Object.keys(v) : null;
    }
  } catch {
    return null;
  }
  return null;
}
