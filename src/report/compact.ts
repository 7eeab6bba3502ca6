/**
 * Makes a figure small and stable before it goes into a report: every number is rounded to a few
 * significant digits (a 4-digit heatmap cell is as readable as a 17-digit one, at a third of the
 * bytes), and typed arrays become plain arrays. Rounding also hides the last-bit differences that
 * a parallel sum in the engine may leave between two runs, so the same input gives the same file.
 */
import type { Figure } from "../figures/figure";

/**
 * Rounds x to `digits` significant digits; non-finite numbers become null (as in JSON). Rounded
 * to 12 digits first: a mean of values logged to 5 digits often lies exactly on a rounding tie
 * (3.84275e-5), where the last bits a parallel sum leaves would otherwise decide the direction
 * from one run to the next; after the first rounding both sides of the tie are the same number.
 */
export function roundSignificant(x: number, digits = 5): number | null {
  if (!Number.isFinite(x)) return null;
  if (x === 0 || Number.isInteger(x)) return x;
  return Number(Number(x.toPrecision(Math.max(12, digits))).toPrecision(digits));
}

function compactValue(v: unknown, digits: number): unknown {
  if (typeof v === "number") return roundSignificant(v, digits);
  if (typeof v === "bigint") return Number(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>, (x) => roundSignificant(Number(x), digits));
  if (Array.isArray(v)) return v.map((x) => compactValue(x, digits));
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = compactValue(x, digits);
    return out;
  }
  return v;
}

/** A copy of the figure with every number rounded to `digits` significant digits (default 5). */
export function compactFigure(figure: Figure, digits = 5): Figure {
  return compactValue(figure, digits) as Figure;
}
