/**
 * A figure's own statement that its rows do not start at position 0 (METRICS 1.4: every output
 * says so, the figure included). Position axes of the figures are titled "(0 = first scored token)";
 * when the rows shown start later (e.g. `--where segment=response` on a log that keeps its prompt
 * tokens, so the response starts at position 4), that title would be false.
 */
import type { PositionStart } from "../stats/positionStart";
import type { Figure } from "./figure";

const FIRST_SCORED = /\s*\(0 = first scored token\)/;

/**
 * A copy of `figure` that says its rows do not start at position 0: a second title line (the
 * count of examples, the first position, and `hint`, how to re-base), and every axis title that
 * says "(0 = first scored token)" retitled "(as logged; rows start at N, not 0)". Unchanged when
 * every example starts at 0 (`start.examples === 0`).
 *
 * @param start from `positionStart(logs, { metric, where, runs })` (src/stats/positionStart.ts).
 * @param hint e.g. "load with --span segment=response to re-base"; the default names the options.
 * @example markPositionStart(fig, await positionStart(logs, { where: { segment: "response" } }))
 */
export function markPositionStart(figure: Figure, start: PositionStart, hint = "re-base with --span, --mask or --unscored"): Figure {
  if (start.examples === 0) return figure;
  const layout: Record<string, unknown> = { ...figure.layout };
  for (const key of Object.keys(layout)) {
    if (!/^[xy]axis\d*$/.test(key)) continue;
    const axis = layout[key] as Record<string, unknown> | undefined;
    const title = axis?.title as { text?: string } | string | undefined;
    const text = typeof title === "string" ? title : title?.text;
    if (!text || !FIRST_SCORED.test(text)) continue;
    const retitled = text.replace(FIRST_SCORED, ` (as logged; rows start at ${start.minStart}, not 0)`);
    layout[key] = { ...axis, title: typeof title === "string" ? { text: retitled } : { ...title, text: retitled } };
  }
  const note = `Not from position 0: ${start.examples} of ${start.total} examples start at position ${start.minStart} or later; ${hint}`;
  const title = layout.title as { text?: string } | string | undefined;
  const text = (typeof title === "string" ? title : title?.text) ?? "";
  layout.title = { ...(typeof title === "object" ? title : {}), text: `${text}<br><sup><span style="color:#b00">${note}</span></sup>` };
  const margin = (layout.margin as Record<string, number> | undefined) ?? {};
  layout.margin = { ...margin, t: Math.max(margin.t ?? 0, 80) };
  return { ...figure, layout };
}
