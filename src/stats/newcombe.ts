/**
 * Newcombe's square-and-add (hybrid score) intervals for a difference of two proportions, built
 * from the Wilson intervals of each proportion (METRICS.md 4):
 * - independent samples: Newcombe, "Interval estimation for the difference between independent
 *   proportions: comparison of eleven methods", Statistics in Medicine 17:873-890, 1998, method 10;
 * - paired data: Newcombe, "Improved confidence intervals for the difference between binomial
 *   proportions based on paired data", Statistics in Medicine 17:2635-2650, 1998, method 10.
 */
import { Interval, Z95, wilson } from "./wilson";

/**
 * The interval of p1 - p2 for independent proportions p1 = x1 / n1 and p2 = x2 / n2 (method 10):
 * with Wilson limits [l1, u1], [l2, u2] and d = p1 - p2,
 * L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2).
 * Null when n1 or n2 is 0.
 * @example newcombeIndependent(56, 70, 48, 80) // d 0.2, [0.0524, 0.3339] (Newcombe's worked example)
 */
export function newcombeIndependent(x1: number, n1: number, x2: number, n2: number, z = Z95): { diff: number; ci: Interval } | null {
  const w1 = wilson(x1, n1, z);
  const w2 = wilson(x2, n2, z);
  if (!w1 || !w2) return null;
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const d = p1 - p2;
  return { diff: d, ci: [d - Math.hypot(p1 - w1[0], w2[1] - p2), d + Math.hypot(w1[1] - p1, p2 - w2[0])] };
}

/** The paired 2x2 table: a both positive, b A only, c B only, d neither. */
export interface PairedTable {
  a: number;
  b: number;
  c: number;
  d: number;
}

/**
 * Newcombe's phi-hat for the paired interval: with margins e = a + b, f = c + d, g = a + c,
 * h = b + d and A = ad - bc: 0 when any margin is 0; else (A - n/2) / sqrt(efgh) when A > n/2,
 * 0 when 0 <= A <= n/2, A / sqrt(efgh) when A < 0 (the paper's continuity adjustment of the
 * positive correlation).
 */
export function newcombePhi(t: PairedTable): number {
  const n = t.a + t.b + t.c + t.d;
  const e = t.a + t.b;
  const f = t.c + t.d;
  const g = t.a + t.c;
  const h = t.b + t.d;
  if (e === 0 || f === 0 || g === 0 || h === 0) return 0;
  const A = t.a * t.d - t.b * t.c;
  const num = A > n / 2 ? A - n / 2 : A >= 0 ? 0 : A;
  return num / Math.sqrt(e * f * g * h);
}

/**
 * The interval of pA - pB for paired proportions pA = (a + b) / n, pB = (a + c) / n (method 10):
 * with Wilson limits [l1, u1] of pA, [l2, u2] of pB, phi = newcombePhi(table) and d = (b - c) / n,
 * L = d - sqrt((pA - l1)^2 - 2 phi (pA - l1)(u2 - pB) + (u2 - pB)^2),
 * U = d + sqrt((u1 - pA)^2 - 2 phi (u1 - pA)(pB - l2) + (pB - l2)^2). Null when n = 0.
 * @example newcombePaired({ a: 36, b: 12, c: 2, d: 0 }) // d 0.2, [0.0569, 0.3404] (the paper's first example)
 * @throws RangeError for counts that are not integers >= 0.
 */
export function newcombePaired(t: PairedTable, z = Z95): { diff: number; ci: Interval; phi: number } | null {
  for (const v of [t.a, t.b, t.c, t.d]) if (!Number.isInteger(v) || v < 0) throw new RangeError(`newcombePaired: counts must be integers >= 0, got ${v}`);
  const n = t.a + t.b + t.c + t.d;
  if (n === 0) return null;
  const pA = (t.a + t.b) / n;
  const pB = (t.a + t.c) / n;
  const [l1, u1] = wilson(t.a + t.b, n, z) as Interval;
  const [l2, u2] = wilson(t.a + t.c, n, z) as Interval;
  const phi = newcombePhi(t);
  const d = (t.b - t.c) / n;
  const lo = d - Math.sqrt(Math.max(0, (pA - l1) ** 2 - 2 * phi * (pA - l1) * (u2 - pB) + (u2 - pB) ** 2));
  const hi = d + Math.sqrt(Math.max(0, (u1 - pA) ** 2 - 2 * phi * (u1 - pA) * (pB - l2) + (pB - l2) ** 2));
  return { diff: d, ci: [lo, hi], phi };
}
