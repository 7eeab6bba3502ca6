/**
 * One example's tokens across checkpoints: the token view at each chosen step, all on one colour
 * scale, then the change from the first to the last of them.
 */
import { escapeHtml } from "../display";
import type { TokenRow } from "../stats/tokens";
import { spreadSteps } from "./figure";
import { tokenViewHtml } from "./tokenView";

export interface TokenTimelineOptions {
  /** Checkpoints to show (default up to 4 spread over the rows' steps, first and last included). */
  steps?: number[];
  /** Name of the metric (default `loss`). */
  metric?: string;
  /** Colour domain of the values (default the range over the shown steps, so that they compare). */
  domain?: [number, number];
  /** Add the change from the first to the last shown step. Default true. */
  change?: boolean;
  /** A heading (escaped). */
  title?: string;
}

/**
 * HTML (no script): the example's tokens coloured by the metric at each step on one shared scale,
 * and, below, coloured by the change between the first and last of those steps.
 * @example
 * const rows = await exampleTokens(logs, { run: "sft", example: "refusal-003" });
 * showHtml(tokenTimelineHtml(rows, { title: "sft, refusal-003" }));
 */
export function tokenTimelineHtml(rows: readonly TokenRow[], opts: TokenTimelineOptions = {}): string {
  const metric = opts.metric ?? "loss";
  const present = [...new Set(rows.map((r) => r.step))].sort((a, b) => a - b);
  const steps = opts.steps ? opts.steps.filter((s) => present.includes(s)).sort((a, b) => a - b) : spreadSteps(present, 4);
  const vals = rows.filter((r) => steps.includes(r.step) && r.value !== null).map((r) => r.value as number);
  const domain: [number, number] = opts.domain ?? (vals.length ? [Math.min(...vals), Math.max(...vals)] : [0, 0]);
  const parts = steps.map((step) => tokenViewHtml(rows, { step, metric, domain }));
  if (opts.change !== false && steps.length > 1) parts.push(tokenViewHtml(rows, { from: steps[0], to: steps[steps.length - 1], metric }));
  const title = opts.title ? `<div style="font-family:sans-serif;font-weight:bold;margin:8px 0 2px">${escapeHtml(opts.title)}</div>` : "";
  return `<div class="ad-timeline">${title}${parts.join("\n")}</div>`;
}
