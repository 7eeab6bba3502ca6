/**
 * Headless Chromium for figure export (and the browser tests), driven by playwright-core: the
 * system browser (Debian `apt-get install chromium`; never a downloaded build), a new empty profile
 * per launch, and flags that keep it off the network (no background networking, component
 * updates, sync or QUIC).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { AligndepthError } from "../errors";

/** Where Chromium is looked for: `$CHROMIUM`, else `/usr/bin/chromium`. */
export function chromiumPath(): string {
  return process.env.CHROMIUM ?? "/usr/bin/chromium";
}

/** The launch flags (headless, no sandbox for root containers, nothing that talks to a server). */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // Same pixels for the same input: no LCD subpixel text, fixed colour profile.
  "--disable-lcd-text",
  "--force-color-profile=srgb",
  "--font-render-hinting=none",
];

/** A running browser context with its own fresh profile; `close` removes the profile. */
export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches the system Chromium with a new empty `--user-data-dir`.
 * @throws AligndepthError (one line) when Chromium or playwright-core is missing.
 */
export async function launchChromium(opts: { viewport?: { width: number; height: number }; deviceScaleFactor?: number } = {}): Promise<Chromium> {
  const executable = chromiumPath();
  if (!existsSync(executable)) {
    throw new AligndepthError(`Chromium not found at ${executable}: figure export needs it (Debian: apt-get install chromium; elsewhere set CHROMIUM=/path/to/chromium).`);
  }
  let playwright: typeof import("playwright-core");
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    playwright = require("playwright-core");
  } catch {
    throw new AligndepthError("the npm package playwright-core is not installed: figure export needs it (run `npm install`).");
  }
  const profile = mkdtempSync(join(tmpdir(), "aligndepth-chromium-"));
  let context: BrowserContext;
  try {
    context = await playwright.chromium.launchPersistentContext(profile, {
      executablePath: executable,
      headless: true,
      viewport: opts.viewport ?? { width: 1000, height: 700 },
      deviceScaleFactor: opts.deviceScaleFactor ?? 1,
      args: [...CHROMIUM_ARGS],
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw new AligndepthError(`Chromium at ${executable} did not start: ${String((e as Error).message ?? e).split("\n")[0]}`);
  }
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
