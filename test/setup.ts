/**
 * Runs before every test file: the validation cache (src/load/cache.ts) goes to a fresh temporary
 * folder, so that no test reads or writes the user's cache and no test depends on another's entries.
 * Tests of the cache itself set ALIGNDEPTH_CACHE_DIR to their own folder.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

process.env.ALIGNDEPTH_CACHE_DIR = mkdtempSync(join(tmpdir(), "aligndepth-test-cache-"));

import { afterAll } from "vitest";
import { rmSync } from "node:fs";
const dir = process.env.ALIGNDEPTH_CACHE_DIR;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
