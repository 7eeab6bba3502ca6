import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DisplayMessage,
  Figure,
  PLOTLY_MIME,
  figureHtml,
  figureText,
  plotlyScript,
  plotlyBundleFor,
  resetPlotlyInlined,
  scriptJson,
  setDisplayWriter,
  show,
  showHtml,
  showTable,
  tableText,
} from "../src/display";

const HOSTILE = "</script><img src=x onerror=alert(1)>";

const figure: Figure = {
  data: [{ type: "scatter", mode: "lines", name: "step 100", x: [0, 1, 2], y: [2.5, 1.25, 1] }],
  layout: { title: { text: "Loss by position" } },
};

/** The <script> bodies of an HTML fragment, in order. */
function scripts(html: string): string[] {
  return [...html.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
}

let sent: DisplayMessage[];
beforeEach(() => {
  sent = [];
  setDisplayWriter((message) => sent.push(message));
  resetPlotlyInlined();
});
afterEach(() => setDisplayWriter(undefined));

describe("show", () => {
  it("sends one output carrying plotly JSON, HTML and text", () => {
    show(figure, { id: "fig-a" });
    expect(sent).toHaveLength(1);
    const data = sent[0].data;
    expect(Object.keys(data).sort()).toEqual([PLOTLY_MIME, "text/html", "text/plain"].sort());
    expect(data[PLOTLY_MIME]).toEqual({
      data: figure.data,
      layout: { autosize: true, title: { text: "Loss by position" } },
      config: {
        responsive: true, displaylogo: false, showSendToCloud: false, showEditInChartStudio: false, showLink: false, sendData: false, plotlyServerURL: "",
        modeBarButtonsToRemove: ["sendChartToCloud", "sendDataToCloud", "editInChartStudio"],
      },
    });
    expect(data["text/plain"]).toBe('Figure "Loss by position": 1 trace: scatter "step 100" (3 points)');
    const html = data["text/html"] as string;
    expect(html).toContain('<div id="fig-a" class="aligndepth-figure"');
    expect(html).toContain("window.Plotly.newPlot(el, figure.data, figure.layout, figure.config)");
  });

  it("keeps the cloud (share) actions off even when the figure's config asks for them", () => {
    show({ ...figure, config: { showSendToCloud: true, showLink: true, modeBarButtonsToRemove: ["zoom2d"] } });
    const config = (sent[0].data[PLOTLY_MIME] as { config: Record<string, unknown> }).config;
    expect(config).toMatchObject({ showSendToCloud: false, showLink: false, modeBarButtonsToRemove: ["zoom2d", "sendChartToCloud", "sendDataToCloud", "editInChartStudio"] });
    expect(sent[0].data["text/html"]).toContain('"showSendToCloud":false');
  });

  it("inlines plotly.js in the first figure of a session only", () => {
    show(figure);
    show(figure);
    show(figure, { includePlotly: true });
    const withLibrary = sent.map((m) => (m.data["text/html"] as string).includes("inlined by aligndepth"));
    expect(withLibrary).toEqual([true, false, true]);
    const first = sent[0].data["text/html"] as string;
    expect(first.split("inlined by aligndepth").length - 1).toBe(1);
    expect(first.match(/<script/g)?.length).toBe(2);
    // The kit's figures need only the cartesian build (about 1.5 MB, not the full 4.8 MB).
    expect(first).toContain("(cartesian), inlined by aligndepth");
    expect(first.length).toBeGreaterThan(1_000_000);
    expect(first.length).toBeLessThan(2_000_000);
    expect((sent[1].data["text/html"] as string).length).toBeLessThan(5_000);
  });

  it("inlines the full build when a figure needs a trace type outside the cartesian one, once", () => {
    show(figure);
    show({ data: [{ type: "scatter3d", x: [1], y: [2], z: [3] }] });
    show({ data: [{ type: "sankey" }] });
    show(figure);
    const libs = sent.map((m) => /\((cartesian|full)\), inlined by aligndepth/.exec(m.data["text/html"] as string)?.[1] ?? null);
    expect(libs).toEqual(["cartesian", "full", null, null]);
    expect(plotlyBundleFor(figure)).toBe("cartesian");
    expect(plotlyBundleFor({ data: [{ y: [1] }, { type: "heatmap", z: [[1]] }] })).toBe("cartesian");
    expect(plotlyBundleFor({ data: [{ type: "scattergl", y: [1] }] })).toBe("full");
  });

  it("does not inline the library when told not to", () => {
    show(figure, { includePlotly: false });
    show(figure);
    expect(sent.map((m) => (m.data["text/html"] as string).includes("inlined by aligndepth"))).toEqual([false, true]);
  });

  it("converts typed arrays and bigints to JSON numbers", () => {
    show({ data: [{ x: new Float64Array([0.5, 1.5]), y: new Int32Array([3, 4]), z: [10n] }] }, { includePlotly: false });
    const spec = sent[0].data[PLOTLY_MIME] as { data: { x: unknown; y: unknown; z: unknown }[] };
    expect(spec.data[0]).toEqual({ x: [0.5, 1.5], y: [3, 4], z: [10] });
    expect(sent[0].data["text/html"]).toContain('"x":[0.5,1.5]');
  });

  it("rejects something that is not a figure", () => {
    expect(() => show({} as Figure)).toThrow(/data: \[\.\.\.traces\]/);
    expect(sent).toHaveLength(0);
  });

  it("explains that it needs a tslab kernel when none is running", () => {
    setDisplayWriter(undefined);
    expect(() => show(figure)).toThrow(/tslab/);
  });
});

describe("escaping", () => {
  it("keeps a hostile trace name from closing the script", () => {
    const hostile: Figure = {
      data: [{ name: HOSTILE, x: [1], y: [1], text: ["<!--", "\u2028", "\u2029", "a&b"] }],
      layout: { title: { text: HOSTILE } },
    };
    const html = figureHtml(hostile, { id: "fig-h" });
    // Exactly one script element, and it ends where the fragment ends.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(html.trimEnd().endsWith("</script>")).toBe(true);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<!--");
    expect(html).not.toContain("\u2028");
    expect(html).not.toContain("\u2029");
    // The escaped JSON still means the same figure.
    const body = scripts(html)[0];
    const json = body.match(/var figure = (.*);\n/)![1];
    expect(JSON.parse(json).data[0].name).toBe(HOSTILE);
    expect(JSON.parse(json).data[0].text).toEqual(["<!--", "\u2028", "\u2029", "a&b"]);
  });

  it("escapes every character that matters inside a script", () => {
    expect(scriptJson({ s: "</script><!--&\u2028\u2029" })).toBe(
      '{"s":"\\u003c/script\\u003e\\u003c!--\\u0026\\u2028\\u2029"}',
    );
  });

  it("escapes an id that would break the attribute", () => {
    const html = figureHtml(figure, { id: '"><script>x</script>' });
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('id="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
  });

  it("inlines a library that cannot end its own script and hides require.js", () => {
    const tag = plotlyScript();
    // (Assertions on slices: a failure must not print 4.8 MB of library.)
    expect(tag.match(/<\/script/gi)?.length).toBe(1);
    expect(tag.endsWith("</script>")).toBe(true);
    expect(tag.slice(0, 200)).toMatch(/^<script type="text\/javascript">\/\* plotly\.js \d+\.\d+\.\d+ \(cartesian\), inlined by aligndepth \*\/\n/);
    expect(tag.slice(0, 200)).toContain("if (!window.Plotly) { (function (define, module, exports, require) {");
    expect(tag.slice(-100)).toContain('}).call(window); window.__aligndepthPlotly = "cartesian"; }');
    const full = plotlyScript("full");
    expect(full.length).toBeGreaterThan(4_000_000);
    expect(full.slice(0, 300)).toContain('if (!window.Plotly || window.__aligndepthPlotly !== "full") {');
    expect(full.match(/<\/script/gi)?.length).toBe(1);
  });

  it("escapes table cells and column names", () => {
    showTable([{ [HOSTILE]: HOSTILE, n: 1.23456789 }]);
    const html = sent[0].data["text/html"] as string;
    expect(html).not.toContain("<img");
    expect(html).not.toContain("</script>");
    expect(html).toContain("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("<td>1.235</td>");
  });
});

describe("tables and HTML", () => {
  it("shows records as an HTML table and aligned text", () => {
    showTable([
      { position: 0, mean: 2.5 },
      { position: 1, mean: 1.125, n: 4 },
    ]);
    expect(sent).toHaveLength(1);
    expect(sent[0].data["text/plain"]).toBe("position  mean   n\n0         2.5\n1         1.125  4");
    expect(sent[0].data["text/html"]).toContain("<thead><tr><th>position</th><th>mean</th><th>n</th></tr></thead>");
  });

  it("reads a DataFrame's columns and values and says how many rows it left out", () => {
    const frame = { columns: ["step", "loss"], values: [[0, 3], [1, 2], [2, 1]] };
    expect(tableText(frame, { maxRows: 2 })).toBe("step  loss\n0     3\n1     2\n... 1 more rows (3 in all)");
  });

  it("shows a real danfo.js DataFrame", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dfd = require("danfojs") as { DataFrame: new (rows: object[]) => { columns: string[]; values: unknown[] } };
    const frame = new dfd.DataFrame([
      { run: "dpo", early: 0.61234, n: 3 },
      { run: "sft", early: 0.5, n: 4 },
    ]);
    expect(tableText(frame)).toBe("run  early   n\ndpo  0.6123  3\nsft  0.5     4");
  }, 30_000);

  it("shows HTML with a text fallback", () => {
    showHtml("<p>Early share: <b>0.62</b></p><script>1</script>");
    expect(sent[0].data).toEqual({
      "text/html": "<p>Early share: <b>0.62</b></p><script>1</script>",
      "text/plain": "Early share: 0.62",
    });
  });

  it("summarizes figures in one line", () => {
    expect(figureText({ data: [] })).toBe("Figure: 0 traces");
    expect(figureText({ data: [{ type: "bar", y: [1, 2] }, { name: 3 }], layout: { title: "T" } })).toBe(
      'Figure "T": 2 traces: bar (2 points), scatter "3"',
    );
  });
});
