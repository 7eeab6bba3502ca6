/**
 * Opens an HTML file in headless Chromium with the network cut off, and checks that every
 * aligndepth figure in it was drawn by plotly.js. Shared by the end-to-end tests.
 */
import { existsSync } from "fs";
import { resolve } from "path";
import { pathToFileURL } from "url";
import type { BrowserContext, Page } from "playwright-core";
import { chromiumPath, launchChromium } from "../../src/export/chromium";

/** The system Chromium (Debian: `apt-get install chromium`); browser builds are never downloaded. */
export const CHROMIUM = chromiumPath();

export interface OfflinePage {
  page: Page;
  /** Requests that were not `file:` or `data:` (all aborted). */
  blocked: string[];
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** alert/confirm/prompt dialogs (e.g. from injected HTML); each was dismissed. */
  dialogs: string[];
  /** Number of `.aligndepth-figure` containers. */
  figures: number;
  /** Of those, how many contain an `svg.main-svg` drawn by plotly.js. */
  rendered: number;
  close(): Promise<void>;
}

/**
 * Loads `file` from a fresh profile, aborting every request that is not `file:` or `data:`, and
 * waits (up to `timeoutMs`) until every figure container has an `svg.main-svg`.
 */
export async function openOffline(file: string, timeoutMs = 60_000): Promise<OfflinePage> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: run 'bash scripts/setup.sh --tests' or set CHROMIUM.`);
  }
  // The same launch as figure export: system Chromium, new empty profile, no background network.
  const browser = await launchChromium({ viewport: { width: 1000, height: 700 } });
  const context: BrowserContext = browser.context;
  const close = browser.close;
  try {
    const blocked: string[] = [];
    const pageErrors: string[] = [];
    const dialogs: string[] = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (err) => pageErrors.push(String(err.stack ?? err)));
    page.on("dialog", (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: "load", timeout: timeoutMs });
    await page
      .waitForFunction(
        () => {
          const figures = Array.from(document.querySelectorAll(".aligndepth-figure"));
          return figures.every((f) => f.querySelector("svg.main-svg") !== null);
        },
        undefined,
        { timeout: timeoutMs, polling: 100 },
      )
      .catch(() => undefined); // the counts below say what did not render
    const counts = await page.evaluate(() => {
      const figures = Array.from(document.querySelectorAll(".aligndepth-figure"));
      return { figures: figures.length, rendered: figures.filter((f) => f.querySelector("svg.main-svg")).length };
    });
    return { page, blocked, pageErrors, dialogs, ...counts, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The modebar buttons plotly.js drew in the page (their `data-title`s), and those of them that can
 * send data over the network ("Share chart...", Chart Studio, "Edit chart"). Every figure's modebar
 * is in the DOM from the start (shown on hover).
 */
export async function modebarButtons(page: Page): Promise<{ titles: string[]; network: string[] }> {
  const titles = await page.evaluate(() => Array.from(document.querySelectorAll(".modebar-btn")).map((b) => b.getAttribute("data-title") ?? ""));
  return { titles, network: titles.filter((t) => /share|cloud|chart studio|edit chart|plotly\.com/i.test(t)) };
}
