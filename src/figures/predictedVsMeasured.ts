import type { ApproximationCheckRow } from "../dynamics/approximationCheck";
import { LEFT_OUT_NOTE, noteAnnotation, percentFine } from "./dynamicsNote";
import { Figure, baseLayout } from "./figure";

export interface PredictedVsMeasuredOptions {
  run?: string;
  split?: string;
  /** Training step (default the last checked step of the run and probe set). */
  step?: number;
  title?: string;
}

const fmt = (x: number | null, digits = 2) => (x === null ? "n/a" : x.toFixed(digits));

/**
 * The check of the first-order approximation (METRICS 7) at one step: per probe position p, the
 * predicted change sum over q of I(p, q) and the measured change loss_after - loss_before of the
 * probe set's mean loss (nats), with Pearson r, the ratio of sums and the relative L2 error in the
 * title, and under it what the first-order influence leaves out. Rows are `approximationCheck(...).rows` (or `dynamicsSummary(...).approximation`).
 * @example show(predictedVsMeasuredFigure(summary.approximation, { run: "sft-seed1", split: "harmful" }))
 */
export function predictedVsMeasuredFigure(rows: readonly ApproximationCheckRow[], opts: PredictedVsMeasuredOptions = {}): Figure {
  const run = opts.run ?? rows[0]?.run;
  const split = opts.split ?? rows.find((r) => r.run === run)?.split;
  const mine = rows.filter((r) => r.run === run && r.split === split).sort((a, b) => a.step - b.step);
  const row = opts.step !== undefined ? mine.find((r) => r.step === opts.step) : mine[mine.length - 1];
  const pts = row?.positions ?? [];
  const data = [
    {
      type: "scatter",
      mode: "lines+markers",
      name: "predicted (sum over q of I)",
      x: pts.map((p) => p.position),
      y: pts.map((p) => p.predicted),
      line: { color: "#1f77b4", width: 2 },
      hovertemplate: "probe position %{x}<br>predicted %{y:.4g} nats<extra></extra>",
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "measured (after - before)",
      x: pts.map((p) => p.position),
      y: pts.map((p) => p.measured),
      line: { color: "#d62728", width: 2, dash: "dash" },
      hovertemplate: "probe position %{x}<br>measured %{y:.4g} nats<extra></extra>",
    },
  ];
  const stats = row ? `: r ${fmt(row.pearson_r)}, ratio of sums ${fmt(row.ratio_of_sums)}, relative error ${percentFine(row.relative_l2_error)}` : ": no check";
  const layout = baseLayout(opts.title ?? `Predicted vs measured change, ${run}, ${split}, step ${row?.step ?? "n/a"}${stats}`, "probe position p (0 = first scored token)", "change of the mean probe loss (nats)");
  layout.annotations = [noteAnnotation(LEFT_OUT_NOTE)];
  return { data, layout };
}
