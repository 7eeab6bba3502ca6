/**
 * Agreement of the contenders' answers with aligndepth's on the same rows: a fast wrong answer is
 * worthless. Early share per run and per checkpoint, and the position profile (n, mean, sd), must
 * agree to 1e-9; depths and step bounds exactly.
 */
import type { Outcome, Plan } from "./main";

export const TOLERANCE = 1e-9;

export interface Agreement {
  plan: string;
  contender: string;
  /** Max absolute differences from aligndepth. */
  earlyShare: number;
  concentration: number;
  profileMean: number;
  profileSd: number;
  /** Depths, bounds, counts and key sets identical. */
  exact: boolean;
  ok: boolean;
  notes: string[];
}

export function agreement(outcomes: Outcome[], plans: Plan[]): Agreement[] {
  const out: Agreement[] = [];
  for (const plan of plans) {
    const names = (c: string) => {
      const i = plan.inputs[c];
      return typeof i === "string" ? null : i.spec.name;
    };
    const first = (c: string) => outcomes.find((o) => o.ok && o.contender === c && o.workload === names(c))?.result;
    const ref = first("aligndepth");
    if (!ref) continue;
    for (const c of Object.keys(plan.inputs)) {
      if (c === "aligndepth") continue;
      const r = first(c);
      if (!r) continue;
      const notes: string[] = [];
      let exact = true;
      let es = 0;
      for (const [run, m] of Object.entries(ref.answers.mass ?? {})) {
        const o = r.answers.mass?.[run];
        if (!o) {
          exact = false;
          notes.push(`no update for run ${run}`);
          continue;
        }
        es = Math.max(es, Math.abs((m.earlyShare ?? NaN) - (o.earlyShare ?? NaN)));
        if (m.d50 !== o.d50 || m.d90 !== o.d90 || m.from !== o.from || m.to !== o.to) {
          exact = false;
          notes.push(`run ${run}: d50/d90/bounds ${[m.d50, m.d90, m.from, m.to]} vs ${[o.d50, o.d90, o.from, o.to]}`);
        }
      }
      let conc = 0;
      const rc = ref.answers.concentration ?? {};
      const oc = r.answers.concentration ?? {};
      if (Object.keys(rc).length !== Object.keys(oc).length) {
        exact = false;
        notes.push(`concentration: ${Object.keys(rc).length} vs ${Object.keys(oc).length} checkpoints`);
      }
      for (const [k, v] of Object.entries(rc)) conc = Math.max(conc, Math.abs((v ?? NaN) - (oc[k] ?? NaN)));
      let pm = 0;
      let ps = 0;
      const rp = ref.answers.profile ?? {};
      const op = r.answers.profile ?? {};
      if (Object.keys(rp).length !== Object.keys(op).length) {
        exact = false;
        notes.push(`profile: ${Object.keys(rp).length} vs ${Object.keys(op).length} rows`);
      }
      let nBad = 0;
      for (const [k, [n, mean, sd]] of Object.entries(rp)) {
        const o = op[k];
        if (!o) {
          nBad++;
          continue;
        }
        if (o[0] !== n) nBad++;
        pm = Math.max(pm, Math.abs((mean ?? NaN) - (o[1] ?? NaN)));
        if (sd !== null || o[2] !== null) ps = Math.max(ps, Math.abs((sd ?? NaN) - (o[2] ?? NaN)));
      }
      if (nBad) {
        exact = false;
        notes.push(`profile: ${nBad} rows with a different n or missing`);
      }
      const fin = (x: number) => (Number.isNaN(x) ? Infinity : x);
      const ok = exact && fin(es) <= TOLERANCE && fin(conc) <= TOLERANCE && fin(pm) <= TOLERANCE && fin(ps) <= TOLERANCE;
      out.push({ plan: plan.label, contender: c, earlyShare: fin(es), concentration: fin(conc), profileMean: fin(pm), profileSd: fin(ps), exact, ok, notes });
    }
  }
  return out;
}
