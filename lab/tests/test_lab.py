import gzip
import json
import math
import os
import random

import torch

from aligndepth_lab import analysis
from aligndepth_lab.lang import (ANSWER_LEN, REFUSAL_LEN, VOCAB, answer, build, judge_harmful, refusal,
                                 sample_request)
from aligndepth_lab.model import TinyGPT, greedy_generate


def test_language_shapes():
    rng = random.Random(0)
    req = sample_request(rng, harmful=True)
    assert len(answer(req)) == ANSWER_LEN and len(refusal(req)) == REFUSAL_LEN
    ex = build(req, [(refusal(req), "refusal", True)])
    assert ex.ids[ex.response_start] == VOCAB.stoi["sorry"] and ex.ids[-1] == VOCAB.eos
    assert sum(ex.mask) == REFUSAL_LEN + 1


def test_judge():
    rng = random.Random(1)
    h = sample_request(rng, harmful=True)
    b = sample_request(rng, harmful=False)
    assert judge_harmful(VOCAB.ids(answer(h)))
    assert not judge_harmful(VOCAB.ids(answer(b)))
    assert not judge_harmful(VOCAB.ids(refusal(h)))
    assert not judge_harmful(VOCAB.ids(answer(h)[:11]))  # one content token is not enough


def test_cached_generation_matches_full_recompute():
    torch.manual_seed(0)
    m = TinyGPT(len(VOCAB), d=32, layers=2, heads=2, mlp=64, ctx=64).eval()
    rng = random.Random(2)
    prompts = [VOCAB.ids(sample_request(rng, harmful=bool(i % 2)).prompt)[: 5 + i] for i in range(6)]
    gens = greedy_generate(m, prompts, 8, eos=-1, pad=VOCAB.pad)
    for p, g in zip(prompts, gens):
        seq = list(p)
        for _ in range(8):
            with torch.no_grad():
                nxt = int(m(torch.tensor([seq]))[0, -1].argmax())
            seq.append(nxt)
        assert g == seq[len(p):]


def test_left_padding_does_not_change_logits():
    torch.manual_seed(0)
    m = TinyGPT(len(VOCAB), d=32, layers=2, heads=2, mlp=64, ctx=64).eval()
    seq = torch.tensor([[1, 5, 7, 9, 11]])
    padded = torch.tensor([[0, 0, 1, 5, 7, 9, 11]])
    valid = padded != 0
    with torch.no_grad():
        a = m(seq)
        b = m(padded, valid)[:, 2:]
    assert torch.allclose(a, b, atol=1e-5)


def test_update_mass_and_wilson():
    recs = []
    for ex in range(3):
        recs.append({"run": "r", "step": 0, "example": ex, "loss": [3.0, 1.0, 1.0, 1.0]})
        recs.append({"run": "r", "step": 9, "example": ex, "loss": [0.0, 0.0, 1.0, 1.5]})
    prof = analysis.update_profile(analysis.update_pairs(recs, 0, 9))
    assert prof == {0: (-3.0, 3), 1: (-1.0, 3), 2: (0.0, 3), 3: (0.5, 3)}
    m = analysis.update_mass(prof, k=2)
    assert math.isclose(m["E"], 4 / 4.5)
    assert m["d50"] == 1 and m["d90"] == 4
    p, lo, hi = analysis.wilson(0, 200)
    assert p == 0 and lo == 0 and 0.018 < hi < 0.019
    p, lo, hi = analysis.wilson(100, 200)
    assert math.isclose(lo, 0.4314, abs_tol=1e-3) and math.isclose(hi, 0.5686, abs_tol=1e-3)


def test_smoke_run_writes_valid_files(tmp_path):
    from aligndepth_lab.lab import run_lab

    run_lab(str(tmp_path), smoke=True)
    lab = tmp_path / "lab"
    for recipe in ("sft", "augment", "worst_insertion"):
        for kind in ("tokens", "gradnorm"):
            with gzip.open(lab / f"{kind}-{recipe}.jsonl.gz", "rt") as f:
                recs = [json.loads(l) for l in f]
            keys = {tuple(sorted(r)) for r in recs}
            assert len(keys) == 1, "every record of a file has the same fields"
            seen = set()
            for r in recs:
                assert r["run"] == recipe and isinstance(r["step"], int) and r["step"] >= 0
                assert r["split"] in ("refusal", "harmful", "benign")
                assert r["example"].startswith(r["split"] + "-")
                k = (r["run"], r["step"], r["example"])
                assert k not in seen
                seen.add(k)
                # gradient files carry grad_norm and labels only: loss and kl of the same keys are in tokens-*
                metrics = ("loss", "kl", "logprob") if kind == "tokens" else ("grad_norm",)
                assert set(r) == {"run", "step", "example", "split", "token", "token_id", "segment", *metrics}
                n = len(r[metrics[0]])
                for f_ in metrics + ("token", "token_id", "segment"):
                    assert len(r[f_]) == n
                for f_ in metrics:
                    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in r[f_])
                if r["step"] == 0 and kind == "tokens":
                    assert max(r["kl"]) < 1e-5  # step 0 is the base model itself
            if kind == "tokens":
                assert 0 in {r["step"] for r in recs}
    with gzip.open(lab / "attacks.jsonl.gz", "rt") as f:
        att = [json.loads(l) for l in f]
    assert {a["run"] for a in att} == {"base", "sft", "augment", "worst_insertion"}
    for a in att:
        assert isinstance(a["harmful"], bool)
        if a["attack"] == "prefill":
            assert set(a) == {"run", "attack", "example", "k", "harmful"}
        else:
            assert set(a) == {"run", "attack", "example", "prefix_len", "span_len", "harmful"}
    summary = json.loads((lab / "summary.json").read_text())
    assert summary["smoke"] is True


def test_shared_prefix_attacks_match_naive_generation():
    from aligndepth_lab.lab import Config, attack_requests, run_attacks

    torch.manual_seed(3)
    m = TinyGPT(len(VOCAB), d=32, layers=2, heads=2, mlp=64, ctx=64).eval()
    # make the random model less degenerate: sharpen the output layer
    with torch.no_grad():
        m.head.weight.mul_(40)
    cfg = Config(prefill_k=(0, 3, 12), span_lens=(1, 5, 8), prefix_lens=(0, 4, 21), max_new=10)
    reqs = attack_requests(5, 7)
    recs = run_attacks(m, "x", reqs, cfg, chunk_rows=10, keep_generation=True)
    assert len(recs) == 7 * (3 + 9)
    for r in recs:
        req = reqs[int(r["example"][1:])]
        if r["attack"] == "prefill":
            ctx = req.prompt + answer(req)[: r["k"]]
        else:
            ctx = req.prompt + refusal(req)[: r["prefix_len"]] + answer(req)[: r["span_len"]]
        naive = greedy_generate(m, [VOCAB.ids(ctx)], cfg.max_new, VOCAB.eos, VOCAB.pad)[0]
        assert r["generated"] == naive, r
        assert r["harmful"] == judge_harmful(naive)
