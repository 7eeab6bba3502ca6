"""Contender: pandas (Debian's python3-pandas under /usr/bin/python3), the tool most researchers reach for.

Reads the wide JSON Lines with read_json(lines=True) and explodes the per-token arrays, or the long
CSV with read_csv; then groupby/merge for the three tasks. pandas cannot read Parquet here (no
pyarrow or fastparquet): the bench gives it the CSV form of a subset instead.
"""
import json
import sys
import time

import numpy as np
import pandas as pd

K = 5


def vm_hwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def partial(times):
    sys.stdout.write("\n@@PARTIAL " + json.dumps(times) + "\n")
    sys.stdout.flush()


def main():
    manifest = json.load(open(sys.argv[1]))
    spec = manifest["spec"]
    times, answers = {}, {}
    t0 = time.perf_counter()
    if spec["format"] == "jsonl":
        frames = []
        for f in manifest["files"]:
            w = pd.read_json(f, lines=True, dtype={"run": str, "example": str, "split": str})
            w = w.explode(["loss", "kl", "token_id"], ignore_index=True)
            w["position"] = w.groupby(["run", "step", "example"]).cumcount()
            w["loss"] = w["loss"].astype("float64")
            w["kl"] = w["kl"].astype("float64")
            w["token_id"] = w["token_id"].astype("int64")
            frames.append(w)
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    else:
        df = pd.concat([pd.read_csv(f, dtype={"run": str, "example": str, "split": str}) for f in manifest["files"]], ignore_index=True)
    times["load"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    prof = df.groupby(["run", "step", "position"])["loss"].agg(["count", "mean", "std"]).reset_index()
    times["profile"] = time.perf_counter() - t1
    times["load_profile"] = times["load"] + times["profile"]
    partial(times)
    answers["profile"] = {
        f"{r.run}|{int(r.step)}|{int(r.position)}": [int(r.count), float(r.mean), None if pd.isna(r.std) else float(r.std)]
        for r in prof.itertuples(index=False)
    }

    t2 = time.perf_counter()
    bounds = df.groupby("run")["step"].agg(["min", "max"])
    mass = {}
    for run, b in bounds.iterrows():
        d = df[df["run"] == run]
        a = d[d["step"] == b["min"]][["example", "position", "loss"]]
        z = d[d["step"] == b["max"]][["example", "position", "loss"]]
        pairs = a.merge(z, on=["example", "position"], suffixes=("_a", "_b"))
        delta = (pairs["loss_b"] - pairs["loss_a"]).groupby(pairs["position"]).mean().sort_index()
        share = delta.abs() / delta.abs().sum()
        cum = share.cumsum()
        mass[run] = {
            "earlyShare": float(share[share.index < K].sum()),
            "d50": int(cum.index[np.argmax(cum.values >= 0.5 - 1e-12)] + 1),
            "d90": int(cum.index[np.argmax(cum.values >= 0.9 - 1e-12)] + 1),
            "from": int(b["min"]),
            "to": int(b["max"]),
        }
    times["update"] = time.perf_counter() - t2
    partial(times)
    answers["mass"] = mass

    t3 = time.perf_counter()
    first = df.groupby("run")["step"].transform("min")
    base = df[df["step"] == first][["run", "example", "position", "loss"]]
    later = df[df["step"] > first][["run", "step", "example", "position", "loss"]]
    pairs = later.merge(base, on=["run", "example", "position"], suffixes=("_b", "_a"))
    pairs["diff"] = pairs["loss_b"] - pairs["loss_a"]
    delta = pairs.groupby(["run", "step", "position"])["diff"].mean().abs().reset_index()
    delta["early"] = np.where(delta["position"] < K, delta["diff"], 0.0)
    agg = delta.groupby(["run", "step"])[["early", "diff"]].sum()
    conc = {f"{run}|{int(step)}": float(r["early"] / r["diff"]) for (run, step), r in agg.iterrows()}
    times["concentration"] = time.perf_counter() - t3
    answers["concentration"] = conc
    out = {"contender": "pandas", "workload": spec["name"], "times": times, "answers": answers, "peakRss": vm_hwm()}
    sys.stdout.write("\n@@RESULT " + json.dumps(out) + "\n")


main()
