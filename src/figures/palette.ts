/**
 * Run colours: one map from run (or recipe) name to a line style, made once per dataset and passed
 * to every figure, so that a run has the same colour in every figure of a notebook or report.
 *
 * Colours come from the Okabe-Ito palette (M. Okabe and K. Ito, "Color Universal Design (CUD): how
 * to make figures and presentations that are friendly to colorblind people", 2002/2008,
 * https://jfly.uni-koeln.de/color/; popularised by B. Wong, "Points of view: Color blindness",
 * Nature Methods 8:441, 2011), whose eight colours stay distinguishable under protanopia,
 * deuteranopia and tritanopia. No maintained npm package ships it, so the eight hex values are
 * written here as published. A marker symbol is a second cue (and separates runs when more than
 * eight share the cycle); ablations are dashed and replicate runs (seeds) of a recipe are thin lines
 * in the recipe's colour.
 *
 * The style of a name depends only on the SET of names the map was made from: names are sorted
 * (code-unit order), then the i-th name gets colour i mod 8 and marker (i + floor(i / 8)) mod 8, so
 * that the ninth name shares the first one's colour but not its marker. Order of traces or
 * of the rows a figure gets does not change it.
 */

/** The Okabe-Ito colours by their published names (RGB as in Okabe and Ito 2008, table 1). */
export const OKABE_ITO = {
  black: "#000000",
  orange: "#E69F00",
  skyBlue: "#56B4E9",
  bluishGreen: "#009E73",
  yellow: "#F0E442",
  blue: "#0072B2",
  vermillion: "#D55E00",
  reddishPurple: "#CC79A7",
} as const;

/**
 * The order in which runs receive the colours: strong colours first, yellow (low contrast on white)
 * and black (reserved for references elsewhere) last.
 */
export const RUN_COLOR_CYCLE: readonly string[] = [
  OKABE_ITO.blue,
  OKABE_ITO.vermillion,
  OKABE_ITO.bluishGreen,
  OKABE_ITO.orange,
  OKABE_ITO.reddishPurple,
  OKABE_ITO.skyBlue,
  OKABE_ITO.yellow,
  OKABE_ITO.black,
];

/** Plotly marker symbols, the second cue: i-th name, i-th symbol (mod 8). */
export const RUN_MARKERS: readonly string[] = ["circle", "square", "diamond", "triangle-up", "x", "triangle-down", "cross", "star"];

/** Grey for a name the map was not made with (it is never given another run's colour). */
export const UNKNOWN_COLOR = "#888888";

/** How one run (or recipe) is drawn. */
export interface RunStyle {
  /** Line and marker colour (hex). */
  color: string;
  /** Plotly marker symbol. */
  symbol: string;
  /** Plotly line dash: `solid`, or `dash` for an ablation. */
  dash: string;
  /** Line width in px: 2.5 for a run or recipe, 1 for one seed of a recipe with several. */
  width: number;
}

/** Options of `runColors`. */
export interface RunColorOptions {
  /**
   * run -> recipe (e.g. `groupRecipes(runs).recipeOf`): colours are then given to recipes, and every
   * run of a recipe with several runs is drawn thin in the recipe's colour.
   */
  recipeOf?: ReadonlyMap<string, string>;
  /** Runs or recipes that are ablations: drawn dashed. */
  ablations?: Iterable<string>;
}

/** The dataset-level colour map: pass the same one to every figure builder (`colors` option). */
export interface RunColors {
  /** The colour keys (recipes, or runs), sorted: key i has colour i mod 8. */
  readonly keys: readonly string[];
  /** The style of a run, or of a recipe by its name. Unknown names are grey. */
  style(name: string): RunStyle;
  /** Shorthand for `style(name).color`. */
  color(name: string): string;
  /** Plotly `line` and `marker` attributes for a trace of `name`. */
  trace(name: string, opts?: { markerSize?: number; width?: number }): { line: Record<string, unknown>; marker: Record<string, unknown> };
}

/**
 * Makes the colour map of a dataset from the names of all its runs (token logs and attack results
 * together).
 * @example
 *   const colors = runColors([...(await logs.runs()), ...attacks.records.map((r) => r.run)]);
 *   show(cumulativeShareFigure(masses, { colors }));
 *   show(asrByKFigure(asrByK(attacks.records), { colors }));
 */
export function runColors(names: Iterable<string>, opts: RunColorOptions = {}): RunColors {
  const runs = [...new Set(names)];
  const recipeOf = opts.recipeOf;
  const keyOf = (n: string) => recipeOf?.get(n) ?? n;
  const keys = [...new Set(runs.map(keyOf))].sort();
  const index = new Map(keys.map((k, i) => [k, i]));
  const members = new Map<string, number>();
  for (const r of runs) members.set(keyOf(r), (members.get(keyOf(r)) ?? 0) + 1);
  const ablations = new Set(opts.ablations ?? []);
  const style = (name: string): RunStyle => {
    const key = keyOf(name);
    const i = index.get(key) ?? index.get(name);
    const isSeed = key !== name && (members.get(key) ?? 0) > 1;
    return {
      color: i === undefined ? UNKNOWN_COLOR : RUN_COLOR_CYCLE[i % RUN_COLOR_CYCLE.length],
      symbol: i === undefined ? "circle-open" : RUN_MARKERS[(i + Math.floor(i / RUN_COLOR_CYCLE.length)) % RUN_MARKERS.length],
      dash: ablations.has(name) || ablations.has(key) ? "dash" : "solid",
      width: isSeed ? 1 : 2.5,
    };
  };
  return {
    keys,
    style,
    color: (name) => style(name).color,
    trace: (name, o = {}) => {
      const s = style(name);
      return { line: { color: s.color, dash: s.dash, width: o.width ?? s.width }, marker: { color: s.color, symbol: s.symbol, size: o.markerSize ?? 7 } };
    },
  };
}

/** The map a figure uses: the one passed in, else one made from the names the figure draws. */
export function colorsFor(colors: RunColors | undefined, names: Iterable<string>): RunColors {
  return colors ?? runColors(names);
}

/** `#rrggbb` -> `rgba(r,g,b,alpha)` (bands under lines). */
export function hexToRgba(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}
