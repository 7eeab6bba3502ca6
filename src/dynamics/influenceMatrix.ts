/**
 * The influence of one training step on one probe set as a matrix I(p, q): rows are probe
 * positions p, columns training (source) positions q, both 0-based indices (METRICS 7). Built from
 * influence records; a cell with no record contributes 0 to every sum (METRICS 3: a position that
 * is not used contributes 0) and is counted in `missingCells`.
 */
import type { InfluenceRecord } from "./load";

export interface InfluenceMatrix {
  run: string;
  step: number;
  split: string;
  /** Probe positions p with at least one record, ascending. */
  positions: number[];
  /** Training positions q with at least one record, ascending. */
  sources: number[];
  /** I(p, q) in nats per step, row-major: values[i * sources.length + j] = I(positions[i], sources[j]). */
  values: Float64Array;
  /** Cells (p, q) of the grid positions x sources without a record. */
  missingCells: number;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One matrix per (run, step, split), sorted by run, split, step. */
export function influenceMatrices(records: readonly InfluenceRecord[]): InfluenceMatrix[] {
  const groups = new Map<string, InfluenceRecord[]>();
  for (const r of records) {
    const key = JSON.stringify([r.run, r.split, r.step]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  const out: InfluenceMatrix[] = [];
  for (const g of groups.values()) {
    const positions = [...new Set(g.map((r) => r.position))].sort((a, b) => a - b);
    const sources = [...new Set(g.map((r) => r.source_position))].sort((a, b) => a - b);
    const pi = new Map(positions.map((p, i) => [p, i]));
    const qi = new Map(sources.map((q, j) => [q, j]));
    const values = new Float64Array(positions.length * sources.length);
    for (const r of g) values[pi.get(r.position)! * sources.length + qi.get(r.source_position)!] = r.influence;
    out.push({ run: g[0].run, step: g[0].step, split: g[0].split, positions, sources, values, missingCells: positions.length * sources.length - g.length });
  }
  return out.sort((a, b) => byText(a.run, b.run) || byText(a.split, b.split) || a.step - b.step);
}

/** sum over p of I(p, q), per source position (the source profile), aligned with `m.sources`. */
export function sourceProfile(m: InfluenceMatrix): number[] {
  const out = new Array<number>(m.sources.length).fill(0);
  for (let i = 0; i < m.positions.length; i++) for (let j = 0; j < m.sources.length; j++) out[j] += m.values[i * m.sources.length + j];
  return out;
}

/** sum over q of I(p, q), per probe position: the first-order prediction of the change of lbar_p, aligned with `m.positions`. */
export function predictedChange(m: InfluenceMatrix): number[] {
  const out = new Array<number>(m.positions.length).fill(0);
  for (let i = 0; i < m.positions.length; i++) for (let j = 0; j < m.sources.length; j++) out[i] += m.values[i * m.sources.length + j];
  return out;
}
