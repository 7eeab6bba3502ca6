import type { InfluenceMatrix } from "../dynamics/influenceMatrix";
import type { ApproximationCheckRow } from "../dynamics/approximationCheck";
import { LEFT_OUT_NOTE, checkText, noteAnnotation } from "./dynamicsNote";
import { Figure, baseLayout, spreadSteps } from "./figure";

export interface InfluenceHeatmapOptions {
  /** Run to draw (default the first matrix's). */
  run?: string;
  /** Probe set to draw (default the first matrix's of the run). */
  split?: string;
  /** Checkpoints, one slider stop each (default every step of the run and probe set, at most `maxSteps`). */
  steps?: number[];
  /** Most checkpoints when `steps` is not given, spread over training (default 20). */
  maxSteps?: number;
  /** The checkpoint shown first (default the last). */
  active?: number;
  /**
   * Colour scale: `"shared"` (default), one scale centred on 0 for every checkpoint, so colours
   * compare across steps; `"each"`, each checkpoint scaled to its own largest |I| (still centred on
   * 0), so that a late step's pattern shows beside a first step whose influence is far larger.
   */
  scale?: "shared" | "each";
  /** The approximation check rows (`dynamicsSummary(...).approximation`): each checkpoint's check is shown under the title. */
  approximation?: readonly ApproximationCheckRow[];
  title?: string;
}

const round = (x: number) => Number(x.toPrecision(4));

/**
 * The influence I(p, q) of one training step on a probe set's mean losses (METRICS 7) as a p x q
 * heatmap: x = training (source) position q, y = probe position p (both 0-based), colour = nats per
 * step on a diverging scale centred on 0 and fixed over all checkpoints (or, with `scale: "each"`, scaled per checkpoint; negative, blue: the step
 * lowers that probe loss). One heatmap per checkpoint, a slider shows one at a time. Cells without
 * a record are drawn as 0 (as the statistics count them). Under the title: what the first-order
 * influence leaves out and, with `approximation`, the checkpoint's check (r, ratio of sums,
 * relative error), updated by the slider. Values are rounded to 4 significant digits.
 * @example show(influenceHeatmapFigure(influenceMatrices(logs.influence), { run: "sft-seed1", split: "harmful" }))
 */
export function influenceHeatmapFigure(matrices: readonly InfluenceMatrix[], opts: InfluenceHeatmapOptions = {}): Figure {
  const run = opts.run ?? matrices[0]?.run;
  const split = opts.split ?? matrices.find((m) => m.run === run)?.split;
  const mine = matrices.filter((m) => m.run === run && m.split === split).sort((a, b) => a.step - b.step);
  const all = mine.map((m) => m.step);
  const steps = opts.steps ? opts.steps.filter((s) => all.includes(s)) : spreadSteps(all, opts.maxSteps ?? 20);
  const shown = steps.map((s) => mine.find((m) => m.step === s) as InfluenceMatrix);
  const largest = (ms: readonly InfluenceMatrix[]) => {
    let z = 0;
    for (const m of ms) for (const v of m.values) z = Math.max(z, Math.abs(v));
    return z === 0 ? 1 : z;
  };
  const shared = largest(shown);
  const zmaxOf = (m: InfluenceMatrix) => (opts.scale === "each" ? largest([m]) : shared);
  const active = opts.active !== undefined && steps.includes(opts.active) ? steps.indexOf(opts.active) : Math.max(0, steps.length - 1);
  const data = shown.map((m, i) => ({
    type: "heatmap",
    name: `step ${m.step}`,
    visible: i === active,
    x: m.sources,
    y: m.positions,
    z: m.positions.map((_, r) => Array.from(m.values.subarray(r * m.sources.length, (r + 1) * m.sources.length), round)),
    zmin: -zmaxOf(m),
    zmax: zmaxOf(m),
    zmid: 0,
    colorscale: "RdBu",
    colorbar: { title: { text: "I(p, q)<br>nats/step" } },
    hovertemplate: `training position %{x}<br>probe position %{y}<br>I %{z:.3g}<extra>step ${m.step}</extra>`,
  }));
  const note = (step: number) =>
    opts.approximation ? `${checkText(opts.approximation.find((r) => r.run === run && r.split === split && r.step === step))}; ${LEFT_OUT_NOTE}` : LEFT_OUT_NOTE;
  const layout = baseLayout(opts.title ?? `Influence of training positions on probe positions, ${run}, ${split}`, "training position q (0 = first response token)", "probe position p (0 = first scored token)");
  layout.margin = { l: 60, r: 20, t: 60, b: 100 };
  layout.annotations = [noteAnnotation(steps.length ? note(steps[active]) : LEFT_OUT_NOTE)];
  if (steps.length) layout.sliders = [
    {
      active,
      currentvalue: { prefix: "training step ", font: { size: 12 } },
      pad: { t: 50 },
      steps: steps.map((step, i) => ({ label: String(step), method: "update", args: [{ visible: steps.map((_, j) => j === i) }, { "annotations[0].text": note(step) }] })),
    },
  ];
  return { data, layout };
}
