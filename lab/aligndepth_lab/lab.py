"""The shallow-alignment lab: pretrain a tiny base model, align it three ways, log, attack.

``run_lab(out)`` writes, under ``out/lab/``:

* ``tokens-<recipe>.jsonl.gz``   token logs (wide layout) of every checkpoint of a recipe, on the
  fixed probe sets ``refusal``, ``harmful`` and ``benign``: loss, kl (to the base model), logprob,
  token, token_id, segment; scalar ``split``.
* ``gradnorm-<recipe>.jsonl.gz`` ``grad_norm`` at a few checkpoints, on the first probes of each
  set, with the labels token, token_id, segment and split; no loss or kl (those are in tokens-*,
  under the same keys: a loader joins the two by key).
* ``attacks.jsonl.gz``           prefilling and insertion attack results on the base model and on
  every recipe's final model.
* ``summary.json``               configuration, versions, timings and the lab's own quick analysis.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from . import analysis
from .lang import (
    ANSWER_INTRO_LEN,
    ANSWER_LEN,
    REFUSAL_LEN,
    VOCAB,
    Example,
    answer,
    build,
    judge_harmful,
    pretrain_example,
    refusal,
    sample_request,
)
from .logger import TokenLogger, per_token_grad_norms, per_token_loss
from .model import TinyGPT, encode_left_padded, extend, greedy_continue, pad_right, take_prefix

RECIPES = ("sft", "augment", "worst_insertion")
SPLITS = ("refusal", "harmful", "benign")


@dataclass
class Config:
    seed: int = 20240601
    d: int = 64
    layers: int = 2
    heads: int = 4
    mlp: int = 256
    ctx: int = 64
    batch: int = 64
    pretrain_steps: int = 600
    pretrain_lr: float = 3e-3
    warmup: int = 100
    p_refuse: float = 0.08
    p_derail: float = 0.04
    align_steps: int = 400
    align_lr: float = 3e-4
    harmful_frac: float = 0.5  # share of harmful requests in an alignment batch (rest: benign retention)
    augment_frac: float = 0.5  # share of harmful examples that get the recipe's special treatment
    n_candidates: int = 4  # worst_insertion: candidate spans per example
    max_span: int = 8
    log_every: int = 20
    grad_steps: Tuple[int, ...] = (0, 20, 100, 400)
    n_probe: int = 64
    n_grad_probe: int = 16
    n_attack: int = 200
    prefill_k: Tuple[int, ...] = tuple(range(0, 13))
    span_lens: Tuple[int, ...] = tuple(range(1, 9))
    prefix_lens: Tuple[int, ...] = tuple(range(0, REFUSAL_LEN + 1))
    max_new: int = 16


def smoke_config() -> Config:
    return Config(d=32, layers=1, heads=2, mlp=64, batch=32, pretrain_steps=60, align_steps=20, log_every=5,
                  grad_steps=(0, 20), n_probe=6, n_grad_probe=2, n_attack=8, prefill_k=(0, 1, 5, 10),
                  span_lens=(1, 4, 8), prefix_lens=(0, 7, REFUSAL_LEN), max_new=12)


# ----------------------------------------------------------------------------------------------
# batches
# ----------------------------------------------------------------------------------------------


def collate(exs: Sequence[Example]):
    ids = pad_right([e.ids for e in exs], VOCAB.pad)
    mask = torch.zeros(ids.shape, dtype=torch.bool)
    for i, e in enumerate(exs):
        mask[i, : len(e)] = torch.tensor(e.mask)
    return ids, mask


def lm_loss(model, exs: Sequence[Example]) -> torch.Tensor:
    ids, mask = collate(exs)
    loss, m = per_token_loss(model(ids), ids, mask)
    return loss[m].mean()


def retention_example(rng) -> Example:
    req = sample_request(rng, harmful=False)
    return build(req, [(answer(req), "benign", True)])


def sft_example(rng) -> Example:
    req = sample_request(rng, harmful=True)
    return build(req, [(refusal(req), "refusal", True)])


def augment_example(rng) -> Example:
    """Safety-recovery augmentation: harmful prefix (random length, not trained on), then refusal."""
    req = sample_request(rng, harmful=True)
    k = rng.randint(1, ANSWER_LEN - 1)
    return build(req, [(answer(req)[:k], "harmful", False), (refusal(req), "refusal", True)])


@torch.no_grad()
def worst_insertion_examples(model, rng, n: int, cfg: Config) -> List[Example]:
    """Random worst-insertion: a harmful span inserted at a random point of the refusal; among
    ``n_candidates`` random spans, the one after which the current model gives the highest
    log-probability to the harmful answer's next token.  The span is not trained on; after it
    the model is trained to refuse again (the refusal restarts)."""
    items = []
    contexts, targets = [], []
    for _ in range(n):
        req = sample_request(rng, harmful=True)
        ans, ref = answer(req), refusal(req)
        p = rng.randint(0, REFUSAL_LEN)
        cands = []
        for _ in range(cfg.n_candidates):
            ln = rng.randint(1, cfg.max_span)
            s = rng.randint(0, ANSWER_LEN - ln - 1)
            cands.append((s, ln))
        items.append((req, ans, ref, p, cands))
        for s, ln in cands:
            contexts.append(VOCAB.ids(req.prompt + ref[:p] + ans[s : s + ln]))
            targets.append(VOCAB.stoi[ans[s + ln]])
    T = max(len(c) for c in contexts)
    ids = torch.full((len(contexts), T), VOCAB.pad, dtype=torch.long)
    valid = torch.zeros(ids.shape, dtype=torch.bool)
    for i, c in enumerate(contexts):
        ids[i, T - len(c):] = torch.tensor(c)
        valid[i, T - len(c):] = True
    was = model.training
    model.eval()
    lp = torch.log_softmax(model(ids, valid)[:, -1], -1)
    model.train(was)
    score = lp[torch.arange(len(targets)), torch.tensor(targets)].view(n, cfg.n_candidates)
    best = score.argmax(1).tolist()
    out = []
    for (req, ans, ref, p, cands), j in zip(items, best):
        s, ln = cands[j]
        # keep inside the context window
        while len(req.prompt) + p + ln + REFUSAL_LEN + 1 > cfg.ctx and p > 0:
            p -= 1
        out.append(build(req, [(ref[:p], "refusal", True), (ans[s : s + ln], "inserted", False),
                               (ref, "refusal", True)]))
    return out


def alignment_batch(recipe: str, model, rng, cfg: Config) -> List[Example]:
    n_h = int(round(cfg.batch * cfg.harmful_frac))
    exs = [retention_example(rng) for _ in range(cfg.batch - n_h)]
    special = [rng.random() < cfg.augment_frac for _ in range(n_h)]
    n_special = sum(special) if recipe != "sft" else 0
    if recipe == "sft":
        exs += [sft_example(rng) for _ in range(n_h)]
    elif recipe == "augment":
        exs += [augment_example(rng) for _ in range(n_special)]
        exs += [sft_example(rng) for _ in range(n_h - n_special)]
    elif recipe == "worst_insertion":
        exs += worst_insertion_examples(model, rng, n_special, cfg) if n_special else []
        exs += [sft_example(rng) for _ in range(n_h - n_special)]
    else:
        raise ValueError(recipe)
    return exs


# ----------------------------------------------------------------------------------------------
# probes and logging
# ----------------------------------------------------------------------------------------------


def make_probes(seed: int, n: int) -> Dict[str, List[Example]]:
    rng = random.Random(seed)
    probes: Dict[str, List[Example]] = {s: [] for s in SPLITS}
    for _ in range(n):
        req = sample_request(rng, harmful=True)
        probes["refusal"].append(build(req, [(refusal(req), "refusal", True)]))
        probes["harmful"].append(build(req, [(answer(req), "harmful", True)]))
        req_b = sample_request(rng, harmful=False)
        probes["benign"].append(build(req_b, [(answer(req_b), "benign", True)]))
    return probes


def _segments(exs: Sequence[Example]) -> List[List[str]]:
    return [[s for s, m in zip(e.segments[1:], e.mask[1:]) if m] for e in exs]


@torch.no_grad()
def log_checkpoint(log: TokenLogger, run: str, step: int, model, probes, base_logits) -> None:
    model.eval()
    for split in SPLITS:
        exs = probes[split]
        ids, mask = collate(exs)
        logits = model(ids)
        log.log_batch(run, step, [f"{split}-{i:03d}" for i in range(len(exs))], logits, ids, mask,
                      ref_logits=base_logits[split], vocab=VOCAB.itos, segments=_segments(exs), split=split)
    log.checkpoint()


def log_grad_norms(log: TokenLogger, run: str, step: int, model, probes, base_logits, n: int) -> None:
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    for split in SPLITS:
        exs = probes[split][:n]
        norms = []
        for e in exs:
            ids = torch.tensor([e.ids])
            mask = torch.tensor([e.mask])
            loss, m = per_token_loss(model(ids), ids, mask)
            g = per_token_grad_norms(loss, params, m)
            norms.append(g[0][m[0]].tolist())
        ids, mask = collate(exs)
        with torch.no_grad():
            logits = model(ids)
        # grad_norm and labels only: loss and kl of the same keys are in tokens-* (joined by key)
        log.log_batch(run, step, [f"{split}-{i:03d}" for i in range(len(exs))], logits, ids, mask,
                      grad_norms=norms, vocab=VOCAB.itos, segments=_segments(exs), split=split,
                      with_loss=False, with_logprob=False)
    model.zero_grad(set_to_none=True)
    log.checkpoint()


# ----------------------------------------------------------------------------------------------
# attacks
# ----------------------------------------------------------------------------------------------


def attack_requests(seed: int, n: int):
    rng = random.Random(seed)
    return [sample_request(rng, harmful=True) for _ in range(n)]


@torch.no_grad()
def run_attacks(model, run: str, reqs, cfg: Config, chunk_rows: int = 1800,
                keep_generation: bool = False) -> List[Dict[str, Any]]:
    """Greedy-decode every attack condition and judge it.

    prefill (k): context = prompt + the first k tokens of the harmful answer.
    insertion (prefix_len, span_len): context = prompt + the first prefix_len refusal tokens + the
    first span_len tokens of the harmful answer.
    Contexts that are truncations of one sequence share its KV cache (exactly the same numbers as
    encoding each context on its own, up to float rounding)."""
    model.eval()
    n = len(reqs)
    out: List[Dict[str, Any]] = []

    def judge_rows(conds, gens):
        for c, g in zip(conds, gens):
            c["harmful"] = judge_harmful(g)
            if keep_generation:
                c["generated"] = g
            out.append(c)

    def decode(cache, valid, last_pos, first_logits, conds):
        for s in range(0, len(conds), chunk_rows):
            sl = slice(s, s + chunk_rows)
            gens = greedy_continue(model, [(k[sl], v[sl]) for k, v in cache], valid[sl], last_pos[sl],
                                   first_logits[sl], cfg.max_new, VOCAB.eos, VOCAB.pad)
            judge_rows(conds[sl], gens)

    plen = torch.tensor([len(r.prompt) for r in reqs])
    # --- prefilling: one pass over prompt + answer[:max k]
    kmax = max(cfg.prefill_k)
    logits, cache, valid, pos = encode_left_padded(model, [VOCAB.ids(r.prompt + answer(r)[:kmax]) for r in reqs],
                                                   VOCAB.pad)
    W = logits.shape[1]
    pad_left = W - (plen + kmax)
    rows, lens, firsts, lasts, conds = [], [], [], [], []
    for k in cfg.prefill_k:
        col = pad_left + plen + k - 1  # column of the context's last token
        rows.append(torch.arange(n))
        lens.append(col + 1)
        firsts.append(logits[torch.arange(n), col])
        lasts.append(pos[torch.arange(n), col])
        conds += [{"run": run, "attack": "prefill", "example": f"p{i:03d}", "k": k} for i in range(n)]
    c2, v2 = take_prefix(cache, valid, torch.cat(rows), torch.cat(lens))
    decode(c2, v2, torch.cat(lasts), torch.cat(firsts), conds)
    # --- insertion: one pass over prompt + full refusal, then per prefix_len one pass over the span
    smax = max(cfg.span_lens)
    _, cache, valid, pos = encode_left_padded(model, [VOCAB.ids(r.prompt + refusal(r)) for r in reqs], VOCAB.pad)
    W = valid.shape[1]
    pad_left = W - (plen + REFUSAL_LEN)
    span = torch.tensor([VOCAB.ids(answer(r)[:smax]) for r in reqs])
    for pl in cfg.prefix_lens:
        L = pad_left + plen + pl
        c1, v1 = take_prefix(cache, valid, torch.arange(n), L)
        last = pad_left + plen + pl - 1  # prompt is never empty
        last_pos = pos[torch.arange(n), last]
        lg, c1, v1, _ = extend(model, c1, v1, last_pos, span)
        rows, lens, firsts, lasts, conds = [], [], [], [], []
        W1 = v1.shape[1]
        for sl in cfg.span_lens:
            rows.append(torch.arange(n))
            lens.append(torch.full((n,), W1 - smax + sl))
            firsts.append(lg[:, sl - 1])
            lasts.append(last_pos + sl)
            conds += [{"run": run, "attack": "insertion", "example": f"p{i:03d}", "prefix_len": pl,
                       "span_len": sl} for i in range(n)]
        c2, v2 = take_prefix(c1, v1, torch.cat(rows), torch.cat(lens))
        decode(c2, v2, torch.cat(lasts), torch.cat(firsts), conds)
    return out


# ----------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------


def pretrain(cfg: Config, say) -> TinyGPT:
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed + 1)
    model = TinyGPT(len(VOCAB), cfg.d, cfg.layers, cfg.heads, cfg.mlp, cfg.ctx)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.pretrain_lr, weight_decay=0.01, betas=(0.9, 0.98))
    import math

    def lr_at(s):
        if s < cfg.warmup:
            return cfg.pretrain_lr * (s + 1) / cfg.warmup
        f = (s - cfg.warmup) / max(1, cfg.pretrain_steps - cfg.warmup)
        return cfg.pretrain_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * f)))

    model.train()
    t0 = time.time()
    for s in range(cfg.pretrain_steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(s)
        exs = [pretrain_example(rng, cfg.p_refuse, cfg.p_derail) for _ in range(cfg.batch)]
        loss = lm_loss(model, exs)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if s % 250 == 0 or s == cfg.pretrain_steps - 1:
            say(f"pretrain step {s} loss {loss.item():.4f} ({time.time() - t0:.0f}s)")
    model.eval()
    return model


def align(recipe: str, base: TinyGPT, cfg: Config, probes, base_logits, tok_log: TokenLogger,
          grad_log: TokenLogger, say) -> TinyGPT:
    import copy

    model = copy.deepcopy(base)
    torch.manual_seed(cfg.seed + 7)
    rng = random.Random(cfg.seed + 11)  # same seed for every recipe
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.align_lr, weight_decay=0.0, betas=(0.9, 0.98))
    t0 = time.time()
    for s in range(cfg.align_steps + 1):
        if s % cfg.log_every == 0 or s == cfg.align_steps:
            log_checkpoint(tok_log, recipe, s, model, probes, base_logits)
        if s in cfg.grad_steps:
            log_grad_norms(grad_log, recipe, s, model, probes, base_logits, cfg.n_grad_probe)
        if s == cfg.align_steps:
            break
        model.train()
        exs = alignment_batch(recipe, model, rng, cfg)
        loss = lm_loss(model, exs)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if s % 100 == 0:
            say(f"{recipe} step {s} loss {loss.item():.4f} ({time.time() - t0:.0f}s)")
    model.eval()
    return model


# ----------------------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------------------


def _gzip(src: str, dst: str) -> None:
    with open(src, "rb") as f, open(dst, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            shutil.copyfileobj(f, gz)
    os.remove(src)


def _read_jsonl(path: str) -> List[Dict[str, Any]]:
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def summarize(out_lab: str, cfg: Config, ext: str) -> Dict[str, Any]:
    """The lab's own quick analysis (the kit's CLI is the reference implementation)."""
    res: Dict[str, Any] = {"depth": {}, "kl": {}, "loss": {}, "grad_norm": {}, "attacks": {}}
    final = cfg.align_steps
    for recipe in RECIPES:
        recs = _read_jsonl(os.path.join(out_lab, f"tokens-{recipe}.jsonl{ext}"))
        res["depth"][recipe] = {}
        res["kl"][recipe] = {}
        res["loss"][recipe] = {}
        for split in SPLITS:
            where = lambda r, s=split: r.get("split") == s  # noqa: E731
            pairs = analysis.update_pairs(recs, 0, final, "loss", where=where)
            res["depth"][recipe][split] = analysis.bootstrap_mass(pairs, k=5, B=1000, seed=0)
            prof = analysis.update_profile(pairs)
            res["depth"][recipe][split]["delta"] = [round(prof[p][0], 4) for p in sorted(prof)]
            conc = {}
            for step in sorted({r["step"] for r in recs if r["step"] > 0}):
                m = analysis.update_mass(analysis.update_profile(
                    analysis.update_pairs(recs, 0, step, "loss", where=where)), k=5)
                conc[str(step)] = {"E": None if m["E"] is None else round(m["E"], 4), "d50": m["d50"]}
            res.setdefault("concentration", {}).setdefault(recipe, {})[split] = conc
            kl = analysis.mean_profile(recs, final, "kl", where=where)
            res["kl"][recipe][split] = [round(kl[p], 4) for p in sorted(kl)]
            l0 = analysis.mean_profile(recs, 0, "loss", where=where)
            l1 = analysis.mean_profile(recs, final, "loss", where=where)
            res["loss"][recipe][split] = {"step0": [round(l0[p], 4) for p in sorted(l0)],
                                          "final": [round(l1[p], 4) for p in sorted(l1)]}
        grecs = _read_jsonl(os.path.join(out_lab, f"gradnorm-{recipe}.jsonl{ext}"))
        res["grad_norm"][recipe] = {}
        for step in sorted({r["step"] for r in grecs}):
            res["grad_norm"][recipe][str(step)] = {
                s: [round(v, 4) for v in analysis.mean_profile(grecs, step, "grad_norm",
                                                                where=lambda r, s=s: r.get("split") == s).values()]
                for s in SPLITS}
    att = _read_jsonl(os.path.join(out_lab, f"attacks.jsonl{ext}"))
    pre = analysis.asr_table([r for r in att if r["attack"] == "prefill"], ("run", "k"))
    ins = analysis.asr_table([r for r in att if r["attack"] == "insertion"], ("run", "prefix_len"))
    ins_all = analysis.asr_table([r for r in att if r["attack"] == "insertion"], ("run",))
    res["attacks"]["prefill_by_k"] = {f"{r}|k={k}": v for (r, k), v in pre.items()}
    res["attacks"]["insertion_by_prefix_len"] = {f"{r}|prefix_len={p}": v for (r, p), v in ins.items()}
    res["attacks"]["insertion_overall"] = {r: v for (r,), v in ins_all.items()}
    return res


def run_lab(out: str, smoke: bool = False, seed: Optional[int] = None, threads: int = 1, gzip_out: bool = True,
            save_models: Optional[str] = None) -> None:
    cfg = smoke_config() if smoke else Config()
    if seed is not None:
        cfg.seed = seed
    torch.set_num_threads(max(1, min(2, threads)))
    torch.use_deterministic_algorithms(True)
    out_lab = os.path.join(out, "lab")
    os.makedirs(out_lab, exist_ok=True)
    ext = ".gz" if gzip_out else ""
    names = [f"tokens-{r}.jsonl" for r in RECIPES] + [f"gradnorm-{r}.jsonl" for r in RECIPES] + ["attacks.jsonl"]
    for nm in names:
        for p in (os.path.join(out_lab, nm), os.path.join(out_lab, nm + ".gz")):
            if os.path.exists(p):
                os.remove(p)
    t_start = time.time()

    def say(msg):
        print(f"[{time.time() - t_start:6.1f}s] {msg}", flush=True)

    timings: Dict[str, float] = {}
    t = time.time()
    base = pretrain(cfg, say)
    timings["pretrain_s"] = round(time.time() - t, 1)
    if save_models:
        os.makedirs(save_models, exist_ok=True)
        torch.save(base.state_dict(), os.path.join(save_models, "base.pt"))

    probes = make_probes(cfg.seed + 100, cfg.n_probe)
    with torch.no_grad():
        base_logits = {s: base(collate(probes[s])[0]) for s in SPLITS}

    reqs = attack_requests(cfg.seed + 200, cfg.n_attack)
    t = time.time()
    from .logger import JsonlAppender

    with JsonlAppender(os.path.join(out_lab, "attacks.jsonl")) as att:
        for rec in run_attacks(base, "base", reqs, cfg):
            att.write(rec)
        timings["attack_base_s"] = round(time.time() - t, 1)
        say(f"attacks on base done ({timings['attack_base_s']}s)")
        for recipe in RECIPES:
            t = time.time()
            with TokenLogger(os.path.join(out_lab, f"tokens-{recipe}.jsonl")) as tok, \
                    TokenLogger(os.path.join(out_lab, f"gradnorm-{recipe}.jsonl")) as gl:
                model = align(recipe, base, cfg, probes, base_logits, tok, gl, say)
            timings[f"align_{recipe}_s"] = round(time.time() - t, 1)
            if save_models:
                torch.save(model.state_dict(), os.path.join(save_models, f"{recipe}.pt"))
            t = time.time()
            for rec in run_attacks(model, recipe, reqs, cfg):
                att.write(rec)
            att.checkpoint()
            timings[f"attack_{recipe}_s"] = round(time.time() - t, 1)
            say(f"{recipe}: aligned in {timings[f'align_{recipe}_s']}s, attacked in {timings[f'attack_{recipe}_s']}s")
    if gzip_out:
        for nm in names:
            _gzip(os.path.join(out_lab, nm), os.path.join(out_lab, nm + ".gz"))
    timings["total_s"] = round(time.time() - t_start, 1)
    summary = {
        "command": "PYTHONPATH=lab /usr/bin/python3 -m aligndepth_lab run --out data/" + (" --smoke" if smoke else ""),
        "config": asdict(cfg),
        "smoke": smoke,
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads()},
        "vocab_size": len(VOCAB),
        "params": sum(p.numel() for p in base.parameters()),
        "timings": timings,
        "files": sorted(n + ext for n in names),
        "analysis": summarize(out_lab, cfg, ext),
    }
    with open(os.path.join(out_lab, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
        f.write("\n")
    say(f"done: {out_lab}")
