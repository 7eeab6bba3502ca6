/**
 * Which prompts drive an attack success rate: per (run, attack), examples ranked by their harmful
 * outcomes across all conditions (and samples), with the share of all harmful outcomes each
 * carries; or, for an attack that nearly always works, ranked by the outcomes where it failed
 * (`outcome: "not_harmful"`). A pooled ASR whose harmful outcomes come from a few prompts is a statement about those
 * prompts, not about the attack in general (and its records are not independent: METRICS.md 4).
 */
import type { AttackRecord } from "./load";

/** One example of one (run, attack). */
export interface ExampleBreakdownRow {
  example: string | number;
  /** Harmful outcomes of this example over every condition and sample. */
  harmful: number;
  /** Not-harmful outcomes (the attack failed). */
  not_harmful: number;
  /** Judged records of this example. */
  records: number;
  /** harmful / records. */
  asr: number;
  /** This example's count of the ranked outcome / all such outcomes of the (run, attack); null when there are none. */
  share: number | null;
  /** Share carried by this example and every example ranked above it. */
  cumulative_share: number | null;
}

/** The per-example breakdown of one (run, attack). */
export interface ExampleBreakdown {
  run: string;
  attack: string;
  /** The outcome examples are ranked by. */
  outcome: "harmful" | "not_harmful";
  /** All harmful and not-harmful outcomes, and judged records, of the (run, attack). */
  harmful: number;
  not_harmful: number;
  records: number;
  /** Distinct examples, and those with at least one of the ranked outcome. */
  examples: number;
  examples_with_outcome: number;
  /** The fewest examples that carry at least half of the ranked outcomes (null when none). */
  examples_for_half: number | null;
  /** Examples, most of the ranked outcome first (ties: by example id as text); at most `top`. */
  rows: ExampleBreakdownRow[];
}

export interface ExampleBreakdownOptions {
  /** Only this run / attack (default all). */
  run?: string;
  attack?: string;
  /** Rows kept per (run, attack) (default all). */
  top?: number;
  /** Rank by harmful outcomes (default) or by not-harmful ones (where the attack failed). */
  outcome?: "harmful" | "not_harmful";
}

/**
 * Ranks the examples of each (run, attack) by their harmful outcomes.
 * @example exampleBreakdown(records, { run: "sft", attack: "insertion", top: 5 })[0].examples_for_half // e.g. 2
 */
export function exampleBreakdown(records: readonly AttackRecord[], opts: ExampleBreakdownOptions = {}): ExampleBreakdown[] {
  const groups = new Map<string, { run: string; attack: string; byExample: Map<string, { example: string | number; harmful: number; records: number }> }>();
  for (const r of records) {
    if ((opts.run !== undefined && r.run !== opts.run) || (opts.attack !== undefined && r.attack !== opts.attack)) continue;
    const key = JSON.stringify([r.run, r.attack]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { run: r.run, attack: r.attack, byExample: new Map() }));
    const id = String(r.example);
    let e = g.byExample.get(id);
    if (!e) g.byExample.set(id, (e = { example: r.example, harmful: 0, records: 0 }));
    e.records++;
    if (r.harmful) e.harmful++;
  }
  const out: ExampleBreakdown[] = [];
  const outcome = opts.outcome ?? "harmful";
  const count = (e: { harmful: number; records: number }) => (outcome === "harmful" ? e.harmful : e.records - e.harmful);
  for (const g of groups.values()) {
    const ex = [...g.byExample.values()].sort((x, y) => count(y) - count(x) || (String(x.example) < String(y.example) ? -1 : String(x.example) > String(y.example) ? 1 : 0));
    const H = ex.reduce((a, e) => a + count(e), 0);
    let cum = 0;
    let half: number | null = null;
    const rows = ex.map((e, i) => {
      cum += count(e);
      if (H > 0 && half === null && cum * 2 >= H) half = i + 1;
      return { example: e.example, harmful: e.harmful, not_harmful: e.records - e.harmful, records: e.records, asr: e.harmful / e.records, share: H > 0 ? count(e) / H : null, cumulative_share: H > 0 ? cum / H : null };
    });
    const harmful = ex.reduce((a, e) => a + e.harmful, 0);
    const records = ex.reduce((a, e) => a + e.records, 0);
    out.push({
      run: g.run,
      attack: g.attack,
      outcome,
      harmful,
      not_harmful: records - harmful,
      records,
      examples: ex.length,
      examples_with_outcome: ex.filter((e) => count(e) > 0).length,
      examples_for_half: half,
      rows: opts.top !== undefined ? rows.slice(0, opts.top) : rows,
    });
  }
  return out.sort((x, y) => (x.run < y.run ? -1 : x.run > y.run ? 1 : x.attack < y.attack ? -1 : x.attack > y.attack ? 1 : 0));
}
