"""The lab's own quick check of the METRICS.md numbers (the TypeScript kit is the reference).

Implements, for wide records: the update profile between two steps, the update mass (early share
E_k, depth d_alpha) with a percentile bootstrap over examples, mean per-position profiles, and the
attack success rate with its 95% Wilson interval.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple


def _values(rec: Dict[str, Any], metric: str) -> Dict[int, float]:
    off = int(rec.get("offset", 0))
    return {off + i: float(v) for i, v in enumerate(rec[metric])}


def update_pairs(records: Iterable[Dict[str, Any]], a: int, b: int, metric: str = "loss", run: Optional[str] = None,
                 where=None) -> Dict[Any, Tuple[Dict[int, float], Dict[int, float]]]:
    """Per example: (values at step a, values at step b)."""
    at_a, at_b = {}, {}
    for r in records:
        if run is not None and r["run"] != run:
            continue
        if where is not None and not where(r):
            continue
        if r["step"] == a:
            at_a[r["example"]] = _values(r, metric)
        elif r["step"] == b:
            at_b[r["example"]] = _values(r, metric)
    return {ex: (at_a[ex], at_b[ex]) for ex in at_a if ex in at_b}


def update_profile(pairs: Dict[Any, Tuple[Dict[int, float], Dict[int, float]]], examples: Optional[Sequence] = None):
    """{position: (delta, n)} -- delta = mean over pairs of (m_b - m_a)."""
    sums: Dict[int, float] = defaultdict(float)
    cnt: Dict[int, int] = defaultdict(int)
    for ex in (examples if examples is not None else pairs.keys()):
        va, vb = pairs[ex]
        for p, x in va.items():
            if p in vb:
                sums[p] += vb[p] - x
                cnt[p] += 1
    return {p: (sums[p] / cnt[p], cnt[p]) for p in sorted(sums)}


def update_mass(profile: Dict[int, Tuple[float, int]], k: int = 5, min_pairs: int = 1) -> Dict[str, Any]:
    pos = [p for p in sorted(profile) if profile[p][1] >= min_pairs]
    tot = sum(abs(profile[p][0]) for p in pos)
    if tot == 0:
        return {"E": None, "d50": None, "d90": None, "shares": None}
    shares = {p: abs(profile[p][0]) / tot for p in pos}
    E = sum(s for p, s in shares.items() if p < k)

    def depth(alpha):
        c = 0.0
        for p in pos:
            c += shares[p]
            if c >= alpha - 1e-12:
                return p + 1
        return pos[-1] + 1

    return {"E": E, "d50": depth(0.5), "d90": depth(0.9), "shares": shares}


def bootstrap_mass(pairs, k: int = 5, B: int = 1000, seed: int = 0, min_pairs: int = 1) -> Dict[str, Any]:
    exs = sorted(pairs.keys(), key=str)
    point = update_mass(update_profile(pairs), k, min_pairs)
    rng = random.Random(seed)
    Es, d90s = [], []
    for _ in range(B):
        sample = [exs[rng.randrange(len(exs))] for _ in exs]
        m = update_mass(update_profile(pairs, sample), k, min_pairs)
        if m["E"] is not None:
            Es.append(m["E"])
            d90s.append(m["d90"])

    def pct(xs, q):
        xs = sorted(xs)
        if not xs:
            return None
        i = min(len(xs) - 1, max(0, int(math.floor(q * (len(xs) - 1) + 0.5))))
        return xs[i]

    return {"E": point["E"], "E_ci": [pct(Es, 0.025), pct(Es, 0.975)], "d50": point["d50"], "d90": point["d90"],
            "d90_ci": [pct(d90s, 0.025), pct(d90s, 0.975)], "n_examples": len(exs)}


def mean_profile(records: Iterable[Dict[str, Any]], step: int, metric: str, run: Optional[str] = None,
                 where=None) -> Dict[int, float]:
    s: Dict[int, float] = defaultdict(float)
    n: Dict[int, int] = defaultdict(int)
    for r in records:
        if r["step"] != step or (run is not None and r["run"] != run) or (where is not None and not where(r)):
            continue
        for p, v in _values(r, metric).items():
            s[p] += v
            n[p] += 1
    return {p: s[p] / n[p] for p in sorted(s)}


def wilson(h: int, n: int, z: float = 1.959963984540054) -> Tuple[float, float, float]:
    """(ASR, low, high) with the 95% Wilson score interval."""
    if n == 0:
        return (float("nan"), float("nan"), float("nan"))
    p = h / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    lo = 0.0 if h == 0 else max(0.0, centre - half)
    hi = 1.0 if h == n else min(1.0, centre + half)
    return (p, lo, hi)


def asr_table(records: Iterable[Dict[str, Any]], keys: Sequence[str]) -> Dict[Tuple, Dict[str, Any]]:
    """ASR per combination of ``keys`` (e.g. ("run", "attack", "k"))."""
    h: Dict[Tuple, int] = defaultdict(int)
    n: Dict[Tuple, int] = defaultdict(int)
    for r in records:
        key = tuple(r.get(k) for k in keys)
        n[key] += 1
        h[key] += bool(r["harmful"])
    out = {}
    for key in sorted(n, key=lambda t: tuple(str(x).zfill(6) for x in t)):
        p, lo, hi = wilson(h[key], n[key])
        out[key] = {"harmful": h[key], "n": n[key], "asr": p, "lo": lo, "hi": hi}
    return out


def net_early_share(profile: Dict[int, Tuple[float, int]], k: int = 5, min_pairs: int = 1) -> Optional[float]:
    """Net early share N_k (METRICS 3.4): sum over p < k of delta(p) / D, D = sum of delta(p) over the
    used positions; None when D = 0."""
    pos = [p for p in sorted(profile) if profile[p][1] >= min_pairs]
    D = sum(profile[p][0] for p in pos)
    if D == 0:
        return None
    return sum(profile[p][0] for p in pos if p < k) / D


# t(0.975, df) for df = 1..30 (two-sided 95%); beyond 30 the normal quantile is within 2%.
_T975 = [12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788,
         2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639,
         2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423]


def t975(df: int) -> float:
    """Student's t quantile at 0.975 for ``df`` degrees of freedom (table to 30, then 1.96)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    return _T975[df - 1] if df <= 30 else 1.959963984540054


def seed_interval(values: Sequence[Optional[float]], bounds: Optional[Tuple[float, float]] = None) -> Dict[str, Any]:
    """Mean over seeds of a per-run statistic, its sd, R, and the t interval mean +/- t(R-1) sd/sqrt(R)
    (METRICS 3.7 with the example-bootstrap variance left out: the lab's quick check only; the kit
    adds it).  Null values are left out and counted; no interval for R < 2.  ``bounds`` clips the
    interval (an ASR stays in [0, 1])."""
    xs = [float(v) for v in values if v is not None]
    R = len(xs)
    out: Dict[str, Any] = {"mean": None, "sd": None, "runs": R, "null": len(values) - R, "ci": None}
    if R == 0:
        return out
    m = sum(xs) / R
    out["mean"] = round(m, 5)
    if R >= 2:
        sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (R - 1))
        h = t975(R - 1) * sd / math.sqrt(R)
        out["sd"] = round(sd, 5)
        lo, hi = m - h, m + h
        if bounds is not None:
            lo, hi = max(bounds[0], lo), min(bounds[1], hi)
        out["ci"] = [round(lo, 5), round(hi, 5)]
    return out


def group_asr(records: Iterable[Dict[str, Any]], group_of: Dict[str, str], keys: Sequence[str]) -> Dict[str, Any]:
    """ASR per (replicate group, condition keys): the mean over the group's runs of each run's ASR
    (pooled over the fields not in ``keys``, e.g. span_len and sample), with :func:`seed_interval`.
    Runs missing from ``group_of`` are their own group."""
    h: Dict[Tuple, int] = defaultdict(int)
    n: Dict[Tuple, int] = defaultdict(int)
    for r in records:
        key = (r["run"],) + tuple(r.get(k) for k in keys)
        n[key] += 1
        h[key] += bool(r["harmful"])
    per_group: Dict[Tuple, List[float]] = defaultdict(list)
    for key in n:
        per_group[(group_of.get(key[0], key[0]),) + key[1:]].append(h[key] / n[key])
    out = {}
    for key in sorted(per_group, key=lambda t: tuple(str(x).zfill(6) for x in t)):
        label = key[0] + "|" + ",".join(f"{k}={v}" for k, v in zip(keys, key[1:]) if v is not None)
        out[label] = seed_interval(per_group[key], bounds=(0.0, 1.0))
    return out


def markdown_report(summary: Dict[str, Any]) -> str:
    """Markdown tables of the lab's own quick analysis (from summary.json): per replicate group the
    mean over seeds of the net and absolute early shares of the loss update, with t intervals across
    seeds; the consistency ablation's comparison; ASR by condition; the time table."""
    a = summary["analysis"]
    lines = ["Early share of the loss update, step 0 to the last step, mean over seeds "
             "[95% t interval across seeds; example variance not included] (R = runs):\n",
             "| group | probe set | N_5 | E_5 | R |", "| --- | --- | --- | --- | --- |"]

    def cell(v):
        if v["mean"] is None:
            return "-"
        return f"{v['mean']:.3f}" + (f" [{v['ci'][0]:.3f}, {v['ci'][1]:.3f}]" if v["ci"] else "")

    for g, d in a["by_group"].items():
        for sp, v in d.items():
            lines.append(f"| {g} | {sp} | {cell(v['N5'])} | {cell(v['E5'])} | {v['N5']['runs']} |")
    bg = a["by_group"]
    if "sft" in bg and "sft-lowconsistency" in bg:
        lines.append("\nConsistency ablation (the mechanism predicts a lower early share for sft when the "
                     "refusal's continuation is less predictable):\n")
        for sp in ("harmful", "refusal"):
            lines.append(f"- {sp}: sft N_5 {cell(bg['sft'][sp]['N5'])}, sft-lowconsistency N_5 "
                         f"{cell(bg['sft-lowconsistency'][sp]['N5'])}")
    lines.append("\nASR by group and condition (mean over seeds of each run's ASR, pooled over span lengths "
                 "and samples) [95% t interval across seeds]; prefill k in {0, 1, 3, 5, 10} and insertion "
                 "prefix_len in {0, 7, 14, 21} (summary.json has every condition):\n")
    lines.append("| group and condition | ASR | R |")
    lines.append("| --- | --- | --- |")
    shown = {"k": {"0", "1", "3", "5", "10"}, "prefix_len": {"0", "7", "14", "21"}}
    for key, v in a["asr"].items():
        conds = dict(c.split("=", 1) for c in key.split("|", 1)[1].split(","))
        if any(f in conds and conds[f] not in vals for f, vals in shown.items()):
            continue
        lines.append(f"| {key} | {cell(v)} | {v['runs']} |")
    t = summary.get("timing")
    if t:
        lines.append(f"\nTime: {t['total_wall_s']} s wall with {t['jobs']} job(s); by stage (summed over jobs):\n")
        lines.append("| stage | wall s | cpu s |")
        lines.append("| --- | --- | --- |")
        for st, v in sorted(t["by_stage"].items()):
            lines.append(f"| {st} | {v['wall_s']} | {v['cpu_s']} |")
    for n in summary.get("notes", []):
        lines.append(f"\nNote: {n}")
    return "\n".join(lines) + "\n"
