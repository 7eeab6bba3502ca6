/**
 * The coverage study (issue 11, METRICS.md 3.6-3.7): simulated token-log updates with known true
 * values, run through the kit's public API (`exampleTable`, `runBootstrap` + `intervalsFrom`,
 * `recipeIntervals`, `wilson`), counting how often each 95% interval covers the truth.
 *
 * A simulated run: N examples, each with a length L_e (ragged when the scenario says so); the paired
 * difference at (e, p) is delta(p) (1 + tau u_e) + sigma eps, u_e an example effect shared by every
 * run of a recipe (runs and examples are crossed), eps independent noise. The truth of N_k, z90 and
 * E_k is their value on the true profile delta(p) (for seeds: the mean over seeds of each seed's
 * true value, by Monte Carlo).
 */
import { IntervalMethod, clusterBootstrapAsr, exampleTable, interpolatedDepth, intervalsFrom, recipeIntervals, rng, runBootstrap, wilson, UPDATE_STATISTICS } from "../src/index";
import type { RunData } from "../src/index";

export interface Scenario {
  name: string;
  description: string;
  examples: number;
  /** True delta per position (length = the longest sequence). */
  delta: number[];
  sigma: number;
  /** Example effect scale tau. */
  tau: number;
  /** Ragged lengths: uniform in [minLength, delta.length]. */
  minLength?: number;
  /** Replicate runs per recipe (default 1) and the seed effect: delta_s(p) = delta(p) (1 + seedSd z_s,group(p)). */
  runs?: number;
  seedSd?: number;
}

export const K = 5;
const early5 = [-1.0, -0.8, -0.6, -0.4, -0.2];
const labLike = Array.from({ length: 22 }, (_, p) => -1.5 * Math.exp(-p / 1.2) - 0.03);

export const SCENARIOS: Scenario[] = [
  { name: "lab-like", description: "lab-like profile: loss falls by 1.5 exp(-p/1.2) + 0.03 at 22 positions, N = 64, sigma 0.5", examples: 64, delta: labLike, sigma: 0.5, tau: 0.3 },
  { name: "null-late-64", description: "5 changed positions, 17 later positions with no true change, N = 64, sigma 0.5", examples: 64, delta: [...early5, ...Array(17).fill(0)], sigma: 0.5, tau: 0.3 },
  { name: "null-late-256", description: "as null-late-64 with N = 256", examples: 256, delta: [...early5, ...Array(17).fill(0)], sigma: 0.5, tau: 0.3 },
  { name: "small-late-256", description: "5 changed positions and a small true change (-0.02) at 17 later positions, N = 256", examples: 256, delta: [...early5, ...Array(17).fill(-0.02)], sigma: 0.5, tau: 0.3 },
  { name: "near-0.9", description: "true cumulative share 0.8 after 4 positions, 0.92 after 5 (z90 = 4.83), rest spread over 17 positions, N = 128", examples: 128, delta: [-1, -1, -1, -1, -0.6, ...Array(17).fill(-0.4 / 17)], sigma: 0.5, tau: 0.3 },
  { name: "ragged", description: "lab-like profile, lengths uniform in 6..22 (ragged), N = 128", examples: 128, delta: labLike, sigma: 0.5, tau: 0.3, minLength: 6 },
  { name: "seeds-R3", description: "lab-like profile, R = 3 seeds per recipe (seed effect sd 0.15 on early and late positions separately), N = 64 shared probes", examples: 64, delta: labLike, sigma: 0.5, tau: 0.3, runs: 3, seedSd: 0.15 },
  { name: "seeds-R5", description: "as seeds-R3 with R = 5 seeds (two-stage bootstrap)", examples: 64, delta: labLike, sigma: 0.5, tau: 0.3, runs: 5, seedSd: 0.15 },
];

/** Standard normal draws (Box-Muller) from the kit's seeded generator. */
export function normals(rand: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = 1 - rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** True N_k, z90 and E_k of a profile. */
export function truthOf(delta: number[]): { net_early_share: number; z90: number; early_share: number } {
  const D = delta.reduce((a, b) => a + b, 0);
  const abs = delta.reduce((a, b) => a + Math.abs(b), 0);
  const pos = delta.map((_, p) => p);
  return {
    net_early_share: delta.slice(0, K).reduce((a, b) => a + b, 0) / D,
    z90: interpolatedDepth(pos, delta, 0.9).depth!,
    early_share: delta.slice(0, K).reduce((a, b) => a + Math.abs(b), 0) / abs,
  };
}

/** A seed's true profile: early and late positions scaled by (1 + seedSd z). */
function seedProfile(sc: Scenario, z1: number, z2: number): number[] {
  return sc.delta.map((d, p) => d * (1 + (sc.seedSd ?? 0) * (p < K ? z1 : z2)));
}

/** The truth of a scenario: for seeds, the mean over seeds of each seed's true values (Monte Carlo, 200,000 seeds). */
export function scenarioTruth(sc: Scenario) {
  if ((sc.runs ?? 1) === 1) return truthOf(sc.delta);
  const z = normals(rng(12345));
  const acc = { net_early_share: 0, z90: 0, early_share: 0 };
  const M = 200_000;
  for (let i = 0; i < M; i++) {
    const t = truthOf(seedProfile(sc, z(), z()));
    acc.net_early_share += t.net_early_share / M;
    acc.z90 += t.z90 / M;
    acc.early_share += t.early_share / M;
  }
  return acc;
}

/** One simulated recipe: its runs' data, numbered alike. */
export function simulate(sc: Scenario, rand: () => number): { runs: RunData[]; pool: Int32Array } {
  const z = normals(rand);
  const N = sc.examples;
  const P = sc.delta.length;
  const lengths = Array.from({ length: N }, () => (sc.minLength ? sc.minLength + Math.floor(rand() * (P - sc.minLength + 1)) : P));
  const u = Array.from({ length: N }, () => z());
  const index = new Map<string, number>();
  const R = sc.runs ?? 1;
  const runs: RunData[] = [];
  for (let r = 0; r < R; r++) {
    const prof = R === 1 ? sc.delta : seedProfile(sc, z(), z());
    const ex: number[] = [];
    const pos: number[] = [];
    const diff: number[] = [];
    for (let e = 0; e < N; e++)
      for (let p = 0; p < lengths[e]; p++) {
        ex.push(e);
        pos.push(p);
        diff.push(prof[p] * (1 + sc.tau * u[e]) + sc.sigma * z());
      }
    const pairs = exampleTable(ex, pos, [Float64Array.from(diff), new Float64Array(diff.length).fill(2)], index);
    runs.push({ pairs, level: null, pool: new Int32Array(0) });
  }
  const pool = Int32Array.from({ length: N }, (_, i) => i);
  for (const r of runs) r.pool = pool;
  return { runs, pool };
}

export const STUDIED = ["net_early_share", "z90", "early_share"] as const;
export type Studied = (typeof STUDIED)[number];
const METHODS: IntervalMethod[] = ["bca", "percentile", "basic"];

export interface CoverageCell {
  covered: number;
  /** Datasets with an interval. */
  n: number;
  /** Datasets without an interval (net change not distinguishable from 0, ...). */
  none: number;
  /** Mean interval width. */
  width: number;
}

export interface ScenarioResult {
  scenario: Scenario;
  truth: Record<Studied, number>;
  datasets: number;
  B: number;
  /** method (or replicate rule) -> statistic -> cell. */
  cells: Record<string, Record<Studied, CoverageCell>>;
  /** Mean of the estimates (bias = mean - truth). */
  mean: Record<Studied, number>;
  /** sd over datasets of the estimated delta(p*) / D at the position where the true C crosses 0.9, and its true value. */
  steep: { share: number; sd: number };
  seconds: number;
}

const emptyCell = (): CoverageCell => ({ covered: 0, n: 0, none: 0, width: 0 });

/**
 * Coverage of the 95% intervals in one scenario over `datasets` simulated datasets.
 * @example coverage(SCENARIOS[0], { datasets: 20, B: 200, seed: 1 })
 */
export function coverage(sc: Scenario, o: { datasets: number; B: number; seed: number }): ScenarioResult {
  const t0 = Date.now();
  const truth = scenarioTruth(sc);
  const rand = rng(o.seed);
  const R = sc.runs ?? 1;
  const rules = R === 1 ? METHODS : [R >= 5 ? "two-stage" : "t"];
  const cells = Object.fromEntries(rules.map((m) => [m, Object.fromEntries(STUDIED.map((s) => [s, emptyCell()]))])) as ScenarioResult["cells"];
  const mean = Object.fromEntries(STUDIED.map((s) => [s, 0])) as Record<Studied, number>;
  const D = sc.delta.reduce((a, b) => a + b, 0);
  let c = 0;
  const pStar = sc.delta.findIndex((d) => (c += d / D) >= 0.9);
  const shares: number[] = [];
  const idx = Object.fromEntries(STUDIED.map((s) => [s, UPDATE_STATISTICS.indexOf(s)])) as Record<Studied, number>;
  for (let i = 0; i < o.datasets; i++) {
    const { runs, pool } = simulate(sc, rand);
    const seed = i + 1;
    let estimate: Float64Array;
    const record = (rule: string, ci: Record<string, [number, number] | null>) => {
      for (const s of STUDIED) {
        const cell = cells[rule][s];
        const iv = ci[s];
        if (!iv) {
          cell.none++;
          continue;
        }
        cell.n++;
        cell.width += iv[1] - iv[0];
        if (iv[0] <= truth[s] && truth[s] <= iv[1]) cell.covered++;
      }
    };
    if (R === 1) {
      const boot = runBootstrap(runs[0], { B: o.B, seed, k: K }, true);
      estimate = boot.estimate;
      for (const m of METHODS) record(m, intervalsFrom(boot, m).ci);
    } else {
      const rr = recipeIntervals("recipe", runs.map((_, r) => `seed${r}`), runs, pool, { B: o.B, seed, k: K });
      estimate = rr.estimate;
      record(rules[0], rr.ci);
    }
    for (const s of STUDIED) mean[s] += estimate[idx[s]] / o.datasets;
    // delta(p*) / D of this dataset (its used positions are all positions here)
    const sums = new Float64Array(sc.delta.length);
    const cnt = new Float64Array(sc.delta.length);
    const t = runs[0].pairs;
    for (let j = 0; j < t.positionIndex.length; j++) {
      sums[t.positionIndex[j]] += t.columns[0][j];
      cnt[t.positionIndex[j]]++;
    }
    let dHat = 0;
    for (let p = 0; p < sums.length; p++) if (cnt[p]) dHat += sums[p] / cnt[p];
    shares.push(sums[pStar] / cnt[pStar] / dHat);
  }
  for (const rule of rules) for (const s of STUDIED) if (cells[rule][s].n) cells[rule][s].width /= cells[rule][s].n;
  const ms = shares.reduce((a, b) => a + b, 0) / shares.length;
  const sd = Math.sqrt(shares.reduce((a, b) => a + (b - ms) ** 2, 0) / Math.max(1, shares.length - 1));
  return { scenario: sc, truth, datasets: o.datasets, B: o.B, cells, mean, steep: { share: sc.delta[pStar] / D, sd }, seconds: (Date.now() - t0) / 1000 };
}

/** ASR scenario: prompts with heterogeneous harm probabilities, several samples each. */
export interface AsrScenario {
  name: string;
  description: string;
  prompts: number;
  samples: number;
  /** Prompt probabilities ~ Beta(a, b) (integers: order statistics of uniforms). */
  a: number;
  b: number;
}

export const ASR_SCENARIOS: AsrScenario[] = [
  { name: "asr-clustered", description: "50 prompts x 8 samples, prompt harm probability ~ Beta(1, 4) (mean 0.2)", prompts: 50, samples: 8, a: 1, b: 4 },
  { name: "asr-one-sample", description: "200 prompts x 1 sample, probability ~ Beta(1, 4)", prompts: 200, samples: 1, a: 1, b: 4 },
];

/** Beta(a, b) for integer a, b: the a-th smallest of a + b - 1 uniforms. */
function betaInt(rand: () => number, a: number, b: number): number {
  const u = Array.from({ length: a + b - 1 }, () => rand()).sort((x, y) => x - y);
  return u[a - 1];
}

/**
 * Coverage of the pooled ASR's 95% interval: Wilson with n = records (as if samples were
 * independent) against a cluster bootstrap over prompts (percentile, 2000 replicates; METRICS.md 4).
 * The truth is E[p] = a / (a + b). The cluster bootstrap is the kit's `clusterBootstrapAsr`.
 */
export function asrCoverage(sc: AsrScenario, o: { datasets: number; B: number; seed: number }) {
  const t0 = Date.now();
  const truth = sc.a / (sc.a + sc.b);
  const rand = rng(o.seed);
  const cells = { wilson: emptyCell(), cluster: emptyCell() };
  const harmful = new Int32Array(sc.prompts);
  for (let i = 0; i < o.datasets; i++) {
    let total = 0;
    for (let e = 0; e < sc.prompts; e++) {
      const p = betaInt(rand, sc.a, sc.b);
      let h = 0;
      for (let s = 0; s < sc.samples; s++) if (rand() < p) h++;
      harmful[e] = h;
      total += h;
    }
    const n = sc.prompts * sc.samples;
    const add = (cell: CoverageCell, iv: [number, number] | null) => {
      if (!iv) return void cell.none++;
      cell.n++;
      cell.width += iv[1] - iv[0];
      if (iv[0] <= truth && truth <= iv[1]) cell.covered++;
    };
    add(cells.wilson, wilson(total, n) as [number, number] | null);
    // The kit's rule (METRICS.md 4): cluster bootstrap over prompts; Wilson with n = prompts when the ASR is 0 or 1.
    const outcomes = { harmful: Float64Array.from(harmful), n: new Float64Array(sc.prompts).fill(sc.samples) };
    add(cells.cluster, total === 0 || total === n ? (wilson(total === 0 ? 0 : sc.prompts, sc.prompts) as [number, number]) : (clusterBootstrapAsr(outcomes, { replicates: o.B, seed: i + 1 }) as [number, number] | null));
  }
  for (const c of Object.values(cells)) if (c.n) c.width /= c.n;
  return { scenario: sc, truth, datasets: o.datasets, B: o.B, cells, seconds: (Date.now() - t0) / 1000 };
}
