/**
 * The validation cache: what validating a file proved (its row counts, problems and skip counts,
 * duplicate-freedom, and for text files the columns and layout), stored per file so that a second
 * load of an unchanged file runs no validation scan. The relation is then built directly from the
 * file (Parquet: a view, nothing copied; text: the same read the first load made).
 *
 * A file's key hashes its identity and everything that changes what validation decides:
 * - the absolute path, size, modification and change times (ns), inode and device;
 * - a hash of its content's ends: the Parquet footer (schema, row-group statistics), or the first
 *   and last 64 KiB of a text file;
 * - the kit's version (package.json), a hash of the loader's code, the DuckDB binding's version, and the options that change validation (column mapping,
 *   mask, unscored, span, skip mode, format and layout overrides, problems kept) and the column
 *   kinds fixed by earlier files of the same load.
 * A file edited in place changes its change time (ctime), which no user-level tool can set back, so
 * the key changes. Cross-file facts (whether files share keys, rows per metric of the joined table)
 * are keyed on the list of file keys.
 *
 * Entries are small JSON files in `$ALIGNDEPTH_CACHE_DIR`, else `$XDG_CACHE_HOME/aligndepth`, else
 * `~/.cache/aligndepth`, written atomically (temp file + rename). An entry that cannot be read or
 * parsed, or whose stored key differs, is a miss and is rewritten. A cache directory that cannot be
 * created or written only costs the speed-up: loads never fail because of the cache.
 *
 * Cached values never carry SQL: the loader rebuilds its queries from the file's schema and the
 * options, and takes only counts, problems and column names (quoted as identifiers) from the entry.
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, readSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Bump when the shape of an entry or what validation proves changes (old entries become misses). */
const ENTRY_FORMAT = 1;
const EDGE = 64 * 1024;

/** The cache directory: ALIGNDEPTH_CACHE_DIR, else XDG_CACHE_HOME/aligndepth, else ~/.cache/aligndepth. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ALIGNDEPTH_CACHE_DIR) return resolve(env.ALIGNDEPTH_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), "aligndepth");
  return join(homedir(), ".cache", "aligndepth");
}

/**
 * A hash of the loader's own code (this folder's modules): a kit built from other sources, even
 * under the same package.json version (a git checkout between releases), proves things anew.
 */
function loaderCodeHash(): string {
  try {
    const files = readdirSync(__dirname).filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith(".d.ts")).sort();
    return sha256(...files.flatMap((f) => [f, readFileSync(join(__dirname, f))]));
  } catch {
    return "unknown";
  }
}

let kitVersion: string | undefined;
/**
 * The kit's version from its package.json, with the DuckDB binding's (validation runs partly in
 * DuckDB: entries of another version of either are misses).
 */
function version(): string {
  if (kitVersion === undefined) {
    const of = (load: () => { version?: unknown }) => {
      try {
        return String(load().version);
      } catch {
        return "unknown";
      }
    };
    kitVersion = `${of(() => require("../../package.json"))} duckdb ${of(() => require("@duckdb/node-api/package.json"))} code ${loaderCodeHash()}`;
  }
  return kitVersion;
}

const sha256 = (...parts: Array<string | Buffer>) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

/** JSON with object keys sorted (a stable hash of options). */
export function stableJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(",")}}`;
}

/** The hash of a file's content ends: the Parquet footer when the file has one, else its first and last 64 KiB. */
function edgeHash(fd: number, size: number, parquet: boolean): string {
  const read = (pos: number, len: number) => {
    const b = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, b, got, len - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    return b.subarray(0, got);
  };
  if (parquet && size >= 12) {
    const tail = read(size - 8, 8);
    const footer = tail.readUInt32LE(0);
    if (tail.subarray(4).toString("latin1") === "PAR1" && footer + 8 <= size) return sha256("footer", read(size - 8 - footer, footer + 8));
  }
  const head = read(0, Math.min(EDGE, size));
  const last = size > EDGE ? read(Math.max(EDGE, size - EDGE), size - Math.max(EDGE, size - EDGE)) : Buffer.alloc(0);
  return sha256("edges", head, last);
}

/** A file's identity (see the module doc); null when it cannot be read. */
export function fileIdentity(file: string, parquet: boolean): string | null {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const st = fstatSync(fd, { bigint: true });
    const hash = edgeHash(fd, Number(st.size), parquet);
    return stableJson({ path: resolve(file), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), ino: String(st.ino), dev: String(st.dev), hash });
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Hits and misses of one load: per file, and per cross-file check. */
export interface CacheUse {
  hits: number;
  misses: number;
  /** The directory used, or null when the cache was off (`cache: false`, `--no-cache`) or could not be used. */
  dir: string | null;
}

/**
 * The cache of one load. `key` builds an entry key from its parts; `get` returns a stored value
 * (or undefined: a miss), `put` stores one. When disabled every call is a no-op miss.
 */
export class ValidationCache {
  readonly use: CacheUse;
  private constructor(private readonly dir: string | null) {
    this.use = { hits: 0, misses: 0, dir };
  }

  /** The cache for a load; `enabled: false` gives one that never hits nor writes. */
  static open(enabled: boolean): ValidationCache {
    if (!enabled) return new ValidationCache(null);
    const dir = join(cacheDir(), "validation");
    try {
      mkdirSync(dir, { recursive: true });
      return new ValidationCache(dir);
    } catch {
      return new ValidationCache(null);
    }
  }

  get enabled(): boolean {
    return this.dir !== null;
  }

  /** An entry key: the kit's version, the kind of entry and its parts (identities, options). */
  key(kind: string, parts: unknown): string {
    return sha256(stableJson({ entry: ENTRY_FORMAT, version: version(), kind, parts }));
  }

  /** The value stored under `key`, or undefined (missing, corrupt, or stored under another key). Counts a hit or a miss. */
  get<T>(key: string, valid: (v: unknown) => v is T): T | undefined {
    if (!this.dir) return undefined;
    try {
      const entry = JSON.parse(readFileSync(join(this.dir, `${key}.json`), "utf8")) as { key?: unknown; value?: unknown };
      if (entry && entry.key === key && valid(entry.value)) {
        this.use.hits++;
        return entry.value;
      }
    } catch {
      /* a missing or corrupt entry is a miss (and is rewritten) */
    }
    this.use.misses++;
    return undefined;
  }

  /** Stores a value atomically (temp file + rename); failures are ignored. */
  put(key: string, value: unknown): void {
    if (!this.dir) return;
    const path = join(this.dir, `${key}.json`);
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify({ key, value }));
      renameSync(tmp, path);
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        /* nothing written */
      }
    }
  }
}

/** True when a file's identity is still `identity` (it did not change while it was validated). */
export function unchanged(file: string, parquet: boolean, identity: string): boolean {
  return fileIdentity(file, parquet) === identity;
}

/** Whether a cached value has the shape of a FileReport (counts are numbers, problems a list). */
export function isFileReport(v: unknown): v is import("./tokens").FileReport {
  const r = v as Record<string, unknown>;
  return (
    typeof r === "object" && r !== null && typeof r.path === "string" && typeof r.format === "string" &&
    ["records", "recordsUsed", "recordsSkipped", "tokens", "problemCount"].every((k) => typeof r[k] === "number") &&
    Array.isArray(r.problems) && typeof r.skipped === "object" && r.skipped !== null
  );
}

/** A cached file report as the file is named in this load (the same file may be reached by another relative path). */
export function relocated<T extends import("./tokens").FileReport>(report: T, file: string): T {
  return { ...report, path: file, problems: report.problems.map((q) => ({ ...q, file })) };
}
