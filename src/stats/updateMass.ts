/**
 * Update mass: how the update of a metric between two checkpoints is spread over positions.
 * share(p) = |delta(p)| / sum over used positions of |delta(q)|; early share E_k = sum of shares
 * at positions p < k; depth d_alpha = the smallest p + 1 whose cumulative share reaches alpha.
 * Positions are the token positions themselves (0 = first scored token), not ranks, so gaps in the
 * used positions (from `minPairs`) do not shift depths.
 */

export interface PositionDelta {
  position: number;
  /** Number of pairs (examples with a value at both steps). */
  n: number;
  /** Mean over pairs of (m_to - m_from). */
  delta: number | null;
}

export interface UpdateMass {
  /** Positions used (n >= minPairs), ascending. */
  positions: number[];
  /** share(p) for each used position; null when the total update is 0. */
  shares: Array<number | null>;
  /** Cumulative share up to and including each used position. */
  cumulative: Array<number | null>;
  /** Sum of |delta| over the used positions. */
  total: number;
  earlyShare: number | null;
  d50: number | null;
  d90: number | null;
  k: number;
}

export interface MassOptions {
  /** Early-share cut-off: positions p < k count as early. Default 5. */
  k?: number;
  /** Positions need at least this many pairs to be used. Default 1. */
  minPairs?: number;
}

/** Tolerance for "the cumulative share reaches alpha", so that rounding in a sum of shares cannot move a depth. */
const REACH_EPS = 1e-12;

/** The depth d_alpha from ascending positions and their shares; null when shares are null. */
export function depth(positions: ArrayLike<number>, shares: ArrayLike<number | null>, alpha: number): number | null {
  let cum = 0;
  for (let i = 0; i < positions.length; i++) {
    const s = shares[i];
    if (s === null) return null;
    cum += s;
    if (cum >= alpha - REACH_EPS) return positions[i] + 1;
  }
  return positions.length ? positions[positions.length - 1] + 1 : null;
}

/** Early share E_k from ascending positions and their shares. */
export function earlyShare(positions: ArrayLike<number>, shares: ArrayLike<number | null>, k: number): number | null {
  let e = 0;
  for (let i = 0; i < positions.length; i++) {
    const s = shares[i];
    if (s === null) return null;
    if (positions[i] < k) e += s;
  }
  return positions.length ? e : null;
}

/**
 * Update mass of an update profile.
 * @example updateMass([{ position: 0, n: 3, delta: -2 }, { position: 1, n: 3, delta: 1 }]) // E_5 = 1, d50 = 1
 */
export function updateMass(profile: PositionDelta[], opts: MassOptions = {}): UpdateMass {
  const k = opts.k ?? 5;
  const minPairs = opts.minPairs ?? 1;
  const used = profile.filter((r) => r.n >= minPairs && r.delta !== null).sort((a, b) => a.position - b.position);
  const positions = used.map((r) => r.position);
  const total = used.reduce((a, r) => a + Math.abs(r.delta as number), 0);
  if (total === 0 || used.length === 0) {
    const nulls = positions.map(() => null);
    return { positions, shares: nulls, cumulative: nulls, total, earlyShare: null, d50: null, d90: null, k };
  }
  const shares = used.map((r) => Math.abs(r.delta as number) / total);
  let c = 0;
  const cumulative = shares.map((s) => (c += s));
  return {
    positions,
    shares,
    cumulative,
    total,
    earlyShare: earlyShare(positions, shares, k),
    d50: depth(positions, shares, 0.5),
    d90: depth(positions, shares, 0.9),
    k,
  };
}

/** Update mass of each run of an update profile (rows carry `run`), in the order runs first appear. */
export function massByRun(rows: Array<PositionDelta & { run: string }>, opts: MassOptions = {}): Array<{ run: string; mass: UpdateMass }> {
  const runs = [...new Set(rows.map((r) => r.run))];
  return runs.map((run) => ({ run, mass: updateMass(rows.filter((r) => r.run === run), opts) }));
}
