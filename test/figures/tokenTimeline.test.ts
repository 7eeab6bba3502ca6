import { describe, expect, it } from "vitest";
import { tokenTimelineHtml } from "../../src/figures/tokenTimeline";
import type { TokenRow } from "../../src/stats/tokens";

const rows: TokenRow[] = [
  { step: 0, position: 0, token: "Sorry", value: 4 },
  { step: 0, position: 1, token: "<b>", value: 2 },
  { step: 10, position: 0, token: "Sorry", value: 1 },
  { step: 10, position: 1, token: "<b>", value: 2 },
  { step: 20, position: 0, token: "Sorry", value: 0 },
  { step: 20, position: 1, token: "<b>", value: 1 },
];

describe("tokenTimelineHtml", () => {
  it("shows every step on one colour scale, then the change from the first to the last", () => {
    const html = tokenTimelineHtml(rows, { title: "sft <e1>" });
    const heads = [...html.matchAll(/class="ad-tv-head"><span>([^<]*):/g)].map((m) => m[1].trim());
    expect(heads).toEqual(["loss at step 0", "loss at step 10", "loss at step 20", "change in loss, step 0 \u2192 20"]);
    // One domain for all steps: min 0, max 4 (keys show it at each step).
    const keys = [...html.matchAll(/class="ad-tv-key"[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(keys.slice(0, 6)).toEqual(["0.0000", "4.0000", "0.0000", "4.0000", "0.0000", "4.0000"]);
    // Change: position 0 goes 4 -> 0 (-4), the largest |change|.
    expect(keys.slice(6)).toEqual(["-4.0000", "+4.0000"]);
    expect(html).toContain("sft &lt;e1&gt;");
    expect(html).toContain("&lt;b&gt;");
    expect(html).not.toContain("<b>");
  });
  it("takes chosen steps and a domain, and leaves out the change on request", () => {
    const html = tokenTimelineHtml(rows, { steps: [20, 10, 5], domain: [0, 10], change: false, metric: "kl" });
    const heads = [...html.matchAll(/class="ad-tv-head"><span>([^<]*):/g)].map((m) => m[1].trim());
    expect(heads).toEqual(["kl at step 10", "kl at step 20"]);
    expect(html).toContain(">10.0000<");
  });
});
