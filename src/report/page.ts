/**
 * The page around the sections: one HTML file with plotly.js inlined once in the head (no network,
 * no files beside it), a small stylesheet and a table of contents.
 */
import { escapeHtml, plotlyScript } from "../display";

const STYLE = `
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 28px 60px; background: #fff; }
h1 { font-size: 1.6em; margin: 0.4em 0 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.meta { color: #666; margin-top: 0; }
p.intro, p.note { max-width: 80ch; line-height: 1.45; }
nav.toc { font-size: 0.92em; margin: 0.8em 0; line-height: 1.7; }
nav.toc a { margin-right: 1.1em; color: #1f5fa8; text-decoration: none; white-space: nowrap; }
table.facts { border-collapse: collapse; margin: 0.6em 0; }
table.facts th { text-align: left; font-weight: 600; padding: 2px 16px 2px 0; vertical-align: top; white-space: nowrap; }
table.facts td { padding: 2px 0; }
table.aligndepth-table { border-collapse: collapse; font-size: 0.88em; margin: 0.5em 0; }
table.aligndepth-table th, table.aligndepth-table td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
table.aligndepth-table th { background: #f3f3f3; }
table.aligndepth-table td { white-space: nowrap; }
table.aligndepth-table td:first-child, table.files td.path { text-align: left; }
.table-wrap { overflow-x: auto; }
p.options { font-size: 0.92em; line-height: 1.6; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
figure.block { margin: 1em 0 1.6em; }
ul.findings { margin: 0.3em 0 0; padding-left: 1.2em; max-width: 90ch; line-height: 1.45; }
.token-view { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.86em; }
.seq { margin: 0.6em 0; }
.seq-label { color: #555; font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 0.92em; margin-bottom: 2px; }
.tokens { line-height: 1.9; }
span.tok { padding: 1px 2px; margin: 0 1px; border-radius: 2px; white-space: pre; }
.token-views .ad-tv { margin-bottom: 0.8em; }
.appendix dt { font-weight: 600; margin-top: 0.6em; }
.appendix dd { margin-left: 1.2em; max-width: 85ch; line-height: 1.45; }
`;

/** A complete page: `sections` are HTML strings (already escaped), `toc` their ids and titles. */
export function reportPage(title: string, header: string, toc: Array<[string, string]>, sections: string[]): string {
  const nav = toc.map(([id, t]) => `<a href="#${escapeHtml(id)}">${escapeHtml(t)}</a>`).join("\n");
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(title)}</title>\n<style>${STYLE}</style>\n${plotlyScript()}\n</head>\n<body>\n<main>\n` +
    `${header}\n<nav class="toc">\n${nav}\n</nav>\n${sections.join("\n")}\n</main>\n</body>\n</html>\n`
  );
}
