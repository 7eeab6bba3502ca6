/**
 * A standalone figure page (figurePage: the library plus figureHtml, as reports use it) renders
 * offline in headless Chromium, and a hostile trace name stays text. Leaves a screenshot in
 * out/figure-page.png.
 */
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { expect, it } from "vitest";
import { figurePage } from "../../src/display";
import { modebarButtons, openOffline } from "./browser";

const OUT = join(__dirname, "..", "..", "out");
const HOSTILE = "</script><img src=x onerror=alert(1)>";

it("renders a standalone figure page offline", async () => {
  const positions = Array.from({ length: 48 }, (_, i) => i);
  const page = figurePage({
    data: [
      { type: "scatter", mode: "lines+markers", name: "step 0", x: positions, y: new Float64Array(positions.map((p) => 3 - Math.log1p(p) / 2)) },
      { type: "scatter", mode: "lines", name: HOSTILE, x: positions, y: positions.map((p) => 2.4 - Math.log1p(p) / 3) },
    ],
    layout: { title: { text: "Loss by position <!-- standalone -->" }, xaxis: { title: { text: "position" } }, yaxis: { title: { text: "loss (nats)" } } },
  });
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, "figure-page.html");
  writeFileSync(file, page);

  const browser = await openOffline(file);
  try {
    expect(browser.blocked).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
    expect(browser.dialogs).toEqual([]);
    expect(browser.figures).toBe(1);
    expect(browser.rendered).toBe(1);
    expect(await browser.page.locator("img").count()).toBe(0);
    // The hostile name is drawn as legend text, not parsed as HTML.
    expect(await browser.page.locator("g.legend text.legendtext").allTextContents()).toEqual(["step 0", HOSTILE]);
    // The modebar is there (download, zoom, ...) but offers no network action ("Share chart...").
    const buttons = await modebarButtons(browser.page);
    expect(buttons.titles).toContain("Download plot as a PNG");
    expect(buttons.network).toEqual([]);
    expect(await browser.page.locator('[data-title*="Share" i], [data-title*="cloud" i]').count()).toBe(0);
    await browser.page.screenshot({ path: join(OUT, "figure-page.png") });
  } finally {
    await browser.close();
  }
});
