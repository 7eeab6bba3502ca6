/**
 * The sections of the standalone report, as pure functions from results to HTML strings. Every
 * string that comes from a log (file names, run names, example ids, token text, labels) goes
 * through `escapeHtml` here, or through `scriptJson` inside the figure writer (`figureHtml`).
 */
import { escapeHtml, figureHtml, tableHtml } from "../display";
import type { Figure } from "../figures/figure";
import { compactFigure } from "./compact";

const esc = escapeHtml;
const int = (n: number) => n.toLocaleString("en-US");

/** One loaded file, as the header lists it. */
export interface HeaderFile {
  path: string;
  kind: string;
  records: number;
  used: number;
  skipped: number;
  /** Token rows (token logs) or outcomes (attack results). */
  rows: number;
  skippedByReason: Record<string, number>;
}

/** What the header says: what was loaded, what was analysed, and with which options. */
export interface HeaderInfo {
  title: string;
  version: string;
  /** ISO time, only when the user asked for it (a report is otherwise byte-identical across runs). */
  timestamp?: string;
  files: HeaderFile[];
  counts: { runs: number; steps: number; examples: number; tokens: number };
  /** The rows the analyses read (after `where`), when they are a subset. */
  analysed?: { runs: number; steps: number; examples: number; tokens: number };
  /** How the rows were selected, in words (e.g. `split = harmful (...; default)`). */
  selection: string;
  runs: string[];
  /** Each run's colour in the figures (hex), shown as a swatch before its name. */
  runColors?: Record<string, string>;
  metrics: string[];
  labels: string[];
  options: Array<[string, string]>;
  /** Attack outcomes loaded, when any. */
  attacks?: { records: number; runs: number; skipped: number };
}

/** Skipped records by reason, as text: `3 invalid-json, 1 nan` (or `none`). */
export function skippedText(byReason: Record<string, number>): string {
  const parts = Object.entries(byReason)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([reason, n]) => `${int(n)} ${reason}`);
  return parts.length ? parts.join(", ") : "none";
}

/** The report's header: title, what was loaded (files, counts, skipped rows and why) and the options. */
export function headerSection(h: HeaderInfo): string {
  const c = h.counts;
  const skipped = h.files.reduce((a, f) => a + f.skipped, 0);
  const byReason: Record<string, number> = {};
  for (const f of h.files) for (const [k, v] of Object.entries(f.skippedByReason)) byReason[k] = (byReason[k] ?? 0) + v;
  const facts: Array<[string, string]> = [
    ["files", int(h.files.length)],
    ["runs", `${int(c.runs)}: ${h.runs.map((r) => (h.runColors?.[r] && /^#[0-9a-fA-F]{6}$/.test(h.runColors[r]) ? `<span class="swatch" style="color:${h.runColors[r]}">&#9632;</span>&nbsp;` : "") + esc(r)).join(", ")}`],
    ["checkpoints (steps)", int(c.steps)],
    ["probe sequences (run, example)", int(c.examples)],
    ["token rows", int(c.tokens)],
    ["skipped records", skipped === 0 ? "none" : `${int(skipped)} (${esc(skippedText(byReason))})`],
    ["metrics", esc(h.metrics.join(", ")) || "-"],
    ["labels", esc(h.labels.join(", ")) || "-"],
    ["analysed rows", esc(h.selection) + (h.analysed ? `: ${int(h.analysed.tokens)} token rows, ${int(h.analysed.examples)} sequences, ${int(h.analysed.runs)} runs` : "")],
  ];
  if (h.attacks) facts.push(["attack outcomes", `${int(h.attacks.records)} records, ${int(h.attacks.runs)} runs${h.attacks.skipped ? `, ${int(h.attacks.skipped)} skipped` : ""}`]);
  const factRows = facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join("\n");
  const fileRows = h.files
    .map(
      (f) =>
        `<tr><td class="path">${esc(f.path)}</td><td>${esc(f.kind)}</td><td class="num">${int(f.records)}</td><td class="num">${int(f.used)}</td>` +
        `<td class="num">${int(f.skipped)}</td><td>${esc(f.skipped ? skippedText(f.skippedByReason) : "")}</td><td class="num">${int(f.rows)}</td></tr>`,
    )
    .join("\n");
  const opts = h.options.map(([k, v]) => `<code>${esc(k)}</code> ${esc(v)}`).join(" &middot; ");
  return [
    `<header id="header">`,
    `<h1>${esc(h.title)}</h1>`,
    `<p class="meta">aligndepth ${esc(h.version)} report${h.timestamp ? `, generated ${esc(h.timestamp)}` : ""}. One self-contained file: it opens offline and every figure is interactive (hover, zoom, legends, dropdowns).</p>`,
    `<table class="facts">\n${factRows}\n</table>`,
    `<p class="options"><strong>Options:</strong> ${opts}</p>`,
    `<details><summary>Files (${int(h.files.length)})</summary>`,
    `<table class="aligndepth-table files"><thead><tr><th>file</th><th>kind</th><th>records</th><th>used</th><th>skipped</th><th>why skipped</th><th>rows</th></tr></thead>\n<tbody>\n${fileRows}\n</tbody></table>`,
    `</details>`,
    `</header>`,
  ].join("\n");
}

/** A section of the report: a heading, an introduction (text, escaped) and body HTML. */
export function section(id: string, title: string, intro: string, body: string): string {
  return `<section id="${esc(id)}">\n<h2>${esc(title)}</h2>\n${intro ? `<p class="intro">${esc(intro)}</p>\n` : ""}${body}\n</section>`;
}

/** One figure (drawn by the shared writer `figureHtml` with a stable id) and sentences under it. */
export function figureBlock(id: string, figure: Figure, sentences: string[] = []): string {
  const html = figureHtml(compactFigure(figure), { id, height: 460 });
  const notes = sentences.map((s) => `<li>${esc(s)}</li>`).join("");
  return `<figure class="block">\n${html}\n${notes ? `<ul class="findings">${notes}</ul>\n` : ""}</figure>`;
}

/** A table of rows (escaped by `tableHtml`) with sentences under it. */
export function tableBlock(rows: object[], sentences: string[] = [], maxRows = 100): string {
  const notes = sentences.map((s) => `<li>${esc(s)}</li>`).join("");
  return `<div class="table-wrap">${tableHtml(rows, { maxRows, digits: 3 })}</div>${notes ? `\n<ul class="findings">${notes}</ul>` : ""}`;
}

/** A paragraph of escaped text. */
export function note(text: string): string {
  return `<p class="note">${esc(text)}</p>`;
}

/** The metric definitions, restated briefly (the full reference is the project's metrics document). */
export function appendixSection(k: number, metric: string): string {
  const items: Array<[string, string]> = [
    ["Token logs", "One value per scored token of a probe sequence at a checkpoint, keyed by run, step, example and position. Position 0 is the first scored token (normally the first token of the response); loss is the negative log-probability of that token in nats."],
    ["Position profile", "For every run, step and position: the number of values n, their mean, the sample standard deviation (n - 1 in the denominator; undefined for n < 2) and the standard error sd / sqrt(n). Bands in the figures are mean ± 1.96 se."],
    ["Update profile", `For every run and position, between a first step a and a last step b: the mean over the examples present at both steps of (${metric} at b - ${metric} at a), with the number of such pairs n and its sd and se.`],
    ["Update mass", "The positions with at least the minimum number of pairs (default 1), in ascending order; the share of a position is the absolute value of its mean update divided by the sum of those absolute values over all used positions. When the sum is zero every share, and everything derived from them, is undefined."],
    [`Net early share N${k}`, `D is the sum over used positions of the mean update (the net change); N${k} = the sum of the mean updates at positions before ${k}, divided by D (null when D = 0). Noise at unchanged positions adds variance to N${k}, no bias. Beside it: the uniform reference min(${k}, P) / P, and the headroom reference H${k} (the share of the starting ${metric} at positions before ${k}: N${k} if every position fell by the same fraction of its starting value).`],
    ["Depths z50 and z90", "With C(p) the cumulative net share up to position p: the first p where C(p) reaches 0.5 (or 0.9), plus the interpolated fraction of that position: the leading positions, counted continuously, that carry half (or 90%) of the net change."],
    ["Counter-movement R", "The smaller of the summed positive and the summed negative mean updates, divided by their total (0 to 0.5): warned about above 0.1 when more than noise gives."],
    [`Absolute early share E${k}, depths d50 and d90 (version 1)`, `The same with the absolute value of each mean update: kept for comparison. Noise at unchanged positions counts as update, so these are biased toward late positions.`],
    ["Confidence intervals", "95% BCa intervals (bias-corrected and accelerated; Efron 1987) over bootstrap replicates that draw examples with replacement (each example keeps all its positions and both steps), from a fixed seed, so the same input and seed give the same interval; integer depths use the percentile interval. With one run per recipe they ignore training randomness (seeds). Two runs are compared by a paired bootstrap over the same examples (a p-value, Holm-adjusted over a table), never by whether intervals overlap."],
    ["Concentration over training", `For each checkpoint s after the first: E${k} and d50 of the update from the first checkpoint to s.`],
    ["Attack success rate", "For one attack condition: the number of outcomes judged harmful divided by the number of outcomes, with a 95% interval: the Wilson score interval when each example has one outcome, a cluster bootstrap over examples when an example has several (samples, or conditions pooled in a curve). A judge score counts as harmful when it is at least the threshold (default: the top of the judge scale, 5 on the default 1-5 scale)."],
    ["Reading the results", "On probes whose answer alignment must change (a harmful answer to a harmful request: its loss rises), shallow alignment shows as a high N" + k + " and a small z90, and a KL to the base model concentrated at the first positions; a deeper recipe spreads its change over more positions. On refusal probes every recipe has little left to learn after the first tokens: there N" + k + " sits near the headroom reference and does not tell recipes apart."],
  ];
  const dl = items.map(([t, d]) => `<dt>${esc(t)}</dt><dd>${esc(d)}</dd>`).join("\n");
  return `<section id="appendix" class="appendix">\n<h2>Appendix: metric definitions</h2>\n<dl>\n${dl}\n</dl>\n</section>`;
}
