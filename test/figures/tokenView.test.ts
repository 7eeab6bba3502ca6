import { describe, expect, it } from "vitest";
import { displayToken, tokenCells, tokenViewHtml } from "../../src/figures/tokenView";
import type { TokenRow } from "../../src/stats/tokens";

const HOSTILE = ["<script>alert(1)</script>", "</script>", "<img src=x onerror=alert(1)>", `"double" 'single'`, "a & b", ""];
const rows: TokenRow[] = [
  ...HOSTILE.map((token, position) => ({ step: 0, position, token, value: 2 })),
  ...HOSTILE.map((token, position) => ({ step: 10, position, token, value: [0.5, 1.5, 2, 3, 1, 2][position] })),
];

/** The visible text of the token spans, unescaped. */
function tokenTexts(html: string): string[] {
  return [...html.matchAll(/<span class="ad-tv-tok[^"]*" style="[^"]*" title="[^"]*"><span class="ad-tv-t">([^<]*)<\/span>/g)].map((m) =>
    m[1].replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&"),
  );
}

describe("tokenViewHtml", () => {
  it("escapes every token: no tag, script or handler survives", () => {
    const html = tokenViewHtml(rows, { step: 10, title: "<b>e1</b>" });
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toContain("</script>");
    expect(html).not.toMatch(/<b>e1/);
    // Only our own tags remain.
    const tags = [...html.matchAll(/<\/?([a-z]+)/g)].map((m) => m[1]);
    expect(new Set(tags)).toEqual(new Set(["div", "style", "span", "b"]));
    expect(tokenTexts(html)).toEqual([...HOSTILE.slice(0, 5), "\u2205"]);
    // Titles are double-quoted attributes: no raw quote inside.
    for (const m of html.matchAll(/title="([^"]*)"/g)) expect(m[1]).not.toMatch(/[<>]/);
    expect(html).toContain("token &quot;&lt;img src=x onerror=alert(1)&gt;&quot;");
  });
  it("colours values at a step: lowest white, highest red, value on hover", () => {
    const html = tokenViewHtml(rows, { step: 10 });
    const styles = [...html.matchAll(/class="ad-tv-tok" style="background:([^"]+)" title="([^"]*)"/g)];
    expect(styles[0][1]).toBe("rgb(255,255,255)"); // 0.5 = min
    expect(styles[3][1]).toBe("rgb(214,39,40)"); // 3 = max
    expect(styles[0][2]).toContain("loss 0.5000");
    expect(styles[0][2]).toContain("position 0&#10;");
    expect(html).toContain("loss at step 10");
  });
  it("colours changes between two steps: blue where the metric fell, red where it rose", () => {
    const { mode, cells } = tokenCells(rows, { from: 0, to: 10 });
    expect(mode).toBe("change");
    expect(cells.map((c) => c.value)).toEqual([-1.5, -0.5, 0, 1, -1, 0]);
    const html = tokenViewHtml(rows, { from: 0, to: 10 });
    const bgs = [...html.matchAll(/class="ad-tv-tok" style="background:([^"]+)"/g)].map((m) => m[1]);
    expect(bgs[0]).toBe("rgb(31,119,180)"); // -1.5 = largest |change|: full blue
    expect(bgs[2]).toBe("rgb(255,255,255)");
    // +1 of 1.5: 255 + (214 - 255) * 2/3 = 227.67 -> 228
    expect(bgs[3]).toBe("rgb(228,111,112)");
    expect(html).toContain("change in loss, step 0 \u2192 10");
  });
  it("prints each value under its token and a legend bar of the scale", () => {
    const html = tokenViewHtml(rows, { step: 10 });
    const values = [...html.matchAll(/<span class="ad-tv-v">([^<]*)<\/span>/g)].map((m) => m[1]);
    expect(values).toEqual(["0.5", "1.5", "2", "3", "1", "2"]);
    expect(html).toContain('class="ad-tv-bar" style="background:linear-gradient(to right,#fff,rgb(214,39,40))"');
  });
  it("decodes byte-level BPE markers for display and keeps the raw token in the hover", () => {
    expect(displayToken("\u0120the")).toBe(" the");
    expect(displayToken("\u010a")).toBe("\u21b5\n");
    expect(displayToken("\u2581Sorry")).toBe(" Sorry");
    expect(displayToken("<0x0A>")).toBe("\u21b5\n");
    expect(displayToken("\u0120caf\u00c3\u00a9")).toBe(" caf\u00e9"); // bytes 20 63 61 66 C3 A9
    expect(displayToken("caf\u00c3\u00a9")).toBe("caf\u00e9"); // byte-level "é" without a space marker
    expect(displayToken("caf\u00e9")).toBe("caf\u00e9"); // a real "é" (byte E9 alone is not UTF-8): as is
    expect(displayToken("a\tb")).toBe("a\u21e5b");
    const bpe = [
      { step: 1, position: 0, token: "I", value: 1 },
      { step: 1, position: 1, token: "\u0120can", value: 2 },
      { step: 1, position: 2, token: "\u010a", value: 3 },
      { step: 1, position: 3, token: "\u2581no", value: 4 },
    ];
    const html = tokenViewHtml(bpe);
    expect(tokenTexts(html)).toEqual(["I", " can", "\u21b5", " no"]);
    expect(html).toMatch(/<span class="ad-tv-v">3<\/span><\/span><br>/); // a line break after the newline token
    expect(html).toContain("token &quot;\u0120can&quot;"); // raw text in the hover
  });
  it("shows positions when the logs have no token text, and handles no rows", () => {
    const html = tokenViewHtml([{ step: 1, position: 0, token: null, value: 1 }]);
    expect(tokenTexts(html)).toEqual(["[0]"]);
    expect(tokenViewHtml([])).toContain('<div class="ad-tv-text"></div>');
  });
});
