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


def test_refusal_variants():
    from aligndepth_lab.lang import REFUSAL_SLOTS, Language

    req = sample_request(random.Random(4), harmful=True)
    high = Language("high")
    # the high-consistency refusal is the lab's original refusal, the same whatever the rng
    assert high.refusal(req, random.Random(1)) == refusal(req) == high.refusal(req)
    assert refusal(req)[:9] == ["sorry", ",", "i", "cannot", "help", "you", req.verb, req.obj, "."]
    low = Language("low")
    rng = random.Random(5)
    seen = {tuple(low.refusal(req, rng)) for _ in range(4000)}
    assert all(len(r) == REFUSAL_LEN for r in seen)
    assert len(seen) == 4 ** 4  # every combination of the 4 slots' 4 variants
    # after the first token, the rest is far from determined: 64 different continuations of each opener
    assert len({r[2:] for r in seen if r[0] == "sorry"}) == 64
    for r in seen:
        ex = build(req, [(list(r), "refusal", True)])  # every word is in the vocabulary
        assert len(ex.ids) == len(req.prompt) + REFUSAL_LEN + 1
    try:
        low.refusal(req)
        raise AssertionError("the low-consistency refusal needs an rng")
    except ValueError:
        pass


def _micro_config():
    from aligndepth_lab.lab import Config

    return Config(d=16, layers=1, heads=2, mlp=32, batch=8, pretrain_steps=6, warmup=2, align_steps=4, log_every=2,
                  seeds=(1,), ablation_seeds=(1,), ablation_recipes=("sft",), ablations=("derail0", "lowconsistency"),
                  sparse_steps=(0, 4), grad_steps=(0,), influence_steps=(0,), n_probe=3, n_grad_probe=1,
                  n_attack=3, prefill_k=(0, 2), span_lens=(1, 3), prefix_lens=(0, 21), foreign_prefix_lens=(21,),
                  foreign_span_lens=(2,), max_new=4, samples=2, n_sample_prompts=2, sample_prefill_k=(1,),
                  sample_prefix_lens=(5,), sample_span_lens=(2,), ft_steps=2, ft_batch=2, n_ft_probe=2,
                  ft_eval_steps=(0, 2))


def test_lab_is_deterministic_for_a_seed_whatever_the_number_of_jobs(tmp_path):
    from aligndepth_lab.lab import run_lab

    cfg = _micro_config()
    s1 = run_lab(str(tmp_path / "a"), cfg=cfg, jobs=1)
    run_lab(str(tmp_path / "b"), cfg=cfg, jobs=2)
    files = sorted(f for f in os.listdir(tmp_path / "a" / "lab") if f.endswith(".gz"))
    assert files == sorted(f for f in os.listdir(tmp_path / "b" / "lab") if f.endswith(".gz"))
    assert "attacks.jsonl.gz" in files and "tokens-sft-lowconsistency-seed1.jsonl.gz" in files
    for f in files:
        assert (tmp_path / "a" / "lab" / f).read_bytes() == (tmp_path / "b" / "lab" / f).read_bytes(), f
    # runs: 3 recipes x 1 seed on the main base, sft on each ablation's base
    assert [r["name"] for r in s1["runs"]] == ["sft-seed1", "augment-seed1", "worst_insertion-seed1",
                                               "sft-derail0-seed1", "sft-lowconsistency-seed1"]
    try:
        import aligndepth_lab.influence  # noqa: F401
    except ImportError:  # the one call site is a no-op that says so, and writes nothing
        assert "influence logger not available" in " ".join(s1["notes"])
        assert not [f for f in files if f.startswith(("influence-", "train-gradient-", "probe-change-"))]
    else:  # influence at cfg.influence_steps of every run, deterministic like the rest
        for run in s1["runs"]:
            for prefix in ("influence-", "train-gradient-", "probe-change-"):
                assert f"{prefix}{run['name']}.jsonl.gz" in files
        with gzip.open(tmp_path / "a" / "lab" / "train-gradient-sft-seed1.jsonl.gz", "rt") as f:
            assert {json.loads(l)["step"] for l in f} == set(cfg.influence_steps)


def test_smoke_run_writes_valid_files(tmp_path):
    from aligndepth_lab.lab import run_lab, smoke_config

    cfg = smoke_config()
    summary = run_lab(str(tmp_path), smoke=True)
    lab = tmp_path / "lab"
    runs = {r["name"]: r for r in summary["runs"]}
    assert set(runs) == {"sft-seed1", "sft-seed2", "augment-seed1", "augment-seed2", "worst_insertion-seed1",
                         "worst_insertion-seed2", "sft-derail0-seed1", "sft-lowconsistency-seed1",
                         "sft-pretrain2-seed1"}
    labels = ("recipe", "method", "derail", "consistency", "seed", "base")
    for name, run in runs.items():
        families = ["tokens", "finetune"] + (["gradnorm"] if run["core"] else [])
        assert (lab / f"gradnorm-{name}.jsonl.gz").exists() == run["core"]
        for kind in families:
            fname = f"{kind}-{run['finetune_run'] if kind == 'finetune' else name}.jsonl.gz"
            with gzip.open(lab / fname, "rt") as f:
                recs = [json.loads(l) for l in f]
            keys = {tuple(sorted(r)) for r in recs}
            assert len(keys) == 1, "every record of a file has the same fields"
            metric = {"tokens": ("loss", "kl"), "gradnorm": ("grad_norm",), "finetune": ("loss",)}[kind]
            arrays = metric + ("token",) + (("segment",) if kind != "finetune" else ())
            assert set(recs[0]) == {"run", "step", "example", "split", *labels, *arrays} | (
                {"tag"} if kind == "finetune" else set())
            seen = set()
            for r in recs:
                assert r["run"] == (run["finetune_run"] if kind == "finetune" else name)
                assert r["recipe"] == r["run"].rsplit("-seed", 1)[0]  # the replicate group
                assert r["seed"] == run["seed"] and r["method"] == run["method"]
                assert r["consistency"] == ("low" if "lowconsistency" in name else "high")
                assert r["derail"] == ("0" if "derail0" in name else "0.04")
                assert r["example"].startswith(r["split"] + "-")
                k = (r["run"], r["step"], r["example"])
                assert k not in seen
                seen.add(k)
                n = len(r[metric[0]])
                for f_ in arrays:
                    assert len(r[f_]) == n
                for f_ in metric:
                    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in r[f_])
                    assert all(v == 0 or v == float(f"{v:.5g}") for v in r[f_])  # 5 significant digits
                if kind == "tokens" and r["step"] == 0:
                    assert max(r["kl"]) < 1e-5  # step 0 is the base model itself
            steps = sorted({r["step"] for r in recs})
            if kind == "tokens":
                assert steps == (list(range(0, cfg.align_steps + 1, cfg.log_every)) if run["core"]
                                 else list(cfg.sparse_steps))
            elif kind == "finetune":
                assert steps == list(range(cfg.ft_steps + 1))  # every fine-tuning step
            else:
                assert steps == list(cfg.grad_steps)
    with gzip.open(lab / "attacks.jsonl.gz", "rt") as f:
        att = [json.loads(l) for l in f]
    assert {a["run"] for a in att} == (set(runs) | {r["finetune_run"] for r in runs.values()}
                                       | {"base", "base-derail0", "base-lowconsistency", "base-pretrain2"})
    assert {a["attack"] for a in att} == {"prefill", "insertion", "insertion_foreign", "finetune"}
    for a in att:
        assert isinstance(a["harmful"], bool)
        base = {"run", "attack", "example", "decoding", "harmful"} | ({"sample"} if a["decoding"] == "sampled" else set())
        cond = {"prefill": {"k"}, "finetune": {"ft_step"}}.get(a["attack"], {"prefix_len", "span_len"})
        assert set(a) == base | cond
    # every model gets greedy and sampled attacks; samples 0..S-1 for each sampled prompt
    for run in {a["run"] for a in att if a["attack"] != "finetune"}:
        mine = [a for a in att if a["run"] == run]
        assert {a["decoding"] for a in mine} == {"greedy", "sampled"}
        assert {a["sample"] for a in mine if a["decoding"] == "sampled"} == set(range(cfg.samples))
        assert len([a for a in mine if a["decoding"] == "greedy" and a["attack"] == "prefill"]) == (
            cfg.n_attack * len(cfg.prefill_k))
    summary_file = json.loads((lab / "summary.json").read_text())
    assert summary_file["smoke"] is True
    timing = json.loads((lab / "timing.json").read_text())
    for stage in ("pretrain", "align", "token_logs", "grad_norms", "attacks_greedy", "attacks_sampled",
                  "finetune_attack", "influence"):
        assert stage in timing["by_stage"]


def _attack_setup():
    from aligndepth_lab.lab import Config, Language, attack_items

    torch.manual_seed(3)
    m = TinyGPT(len(VOCAB), d=32, layers=2, heads=2, mlp=64, ctx=64).eval()
    with torch.no_grad():
        m.head.weight.mul_(40)  # make the random model less degenerate: sharpen the output layer
    cfg = Config(prefill_k=(0, 3, 12), span_lens=(1, 5, 8), prefix_lens=(0, 4, 21), foreign_prefix_lens=(0, 21),
                 foreign_span_lens=(2, 8), max_new=10)
    return m, cfg, attack_items(5, 7, Language("low"))


def test_shared_prefix_attacks_match_naive_generation():
    from aligndepth_lab.lab import greedy_conditions, run_attacks

    m, cfg, items = _attack_setup()
    recs = run_attacks(m, "x", items, greedy_conditions(cfg), cfg, chunk_rows=10, keep_generation=True)
    assert len(recs) == 7 * (3 + 9 + 4)
    by_ex = {it.example: it for it in items}
    for r in recs:
        it = by_ex[r["example"]]
        assert r["decoding"] == "greedy" and "sample" not in r
        if r["attack"] == "prefill":
            ctx = it.req.prompt + answer(it.req)[: r["k"]]
        else:
            span = answer(it.req) if r["attack"] == "insertion" else it.foreign
            ctx = it.req.prompt + it.refusal[: r["prefix_len"]] + span[: r["span_len"]]
        naive = greedy_generate(m, [VOCAB.ids(ctx)], cfg.max_new, VOCAB.eos, VOCAB.pad)[0]
        assert r["generated"] == naive, r
        assert r["harmful"] == judge_harmful(naive)
    # the foreign span is another harmful object's answer
    for it in items:
        assert it.foreign[7] != it.req.obj and it.foreign[10].endswith("_1")


def test_sampled_attacks_are_seeded_and_graded():
    from aligndepth_lab.lab import AttackItem, sampled_conditions, run_attacks

    m, cfg, items = _attack_setup()
    rep = [AttackItem(it.example, it.req, it.refusal, it.foreign, s) for it in items for s in range(3)]
    run = lambda seed: run_attacks(m, "x", rep, sampled_conditions(cfg), cfg,  # noqa: E731
                                   generator=torch.Generator().manual_seed(seed), keep_generation=True)
    a, b, c = run(1), run(1), run(2)
    assert a == b  # same seed, same samples
    assert [r["generated"] for r in a] != [r["generated"] for r in c]
    assert {r["sample"] for r in a} == {0, 1, 2} and {r["decoding"] for r in a} == {"sampled"}
    # samples of one prompt differ (temperature 1): not every group of 3 is identical
    gens = {}
    for r in a:
        key = (r["attack"], r.get("k"), r.get("prefix_len"), r.get("span_len"), r["example"])
        gens.setdefault(key, []).append(tuple(r["generated"]))
    assert any(len(set(g)) > 1 for g in gens.values())


def test_net_early_share_seed_interval_and_group_asr():
    prof = {0: (-3.0, 3), 1: (-1.0, 3), 2: (0.0, 3), 3: (0.5, 3)}
    assert math.isclose(analysis.net_early_share(prof, k=2), -4.0 / -3.5)
    assert analysis.net_early_share({0: (1.0, 2), 1: (-1.0, 2)}, k=1) is None  # D = 0
    v = analysis.seed_interval([1.0, 2.0, 3.0])
    assert v["mean"] == 2.0 and v["sd"] == 1.0 and v["runs"] == 3
    assert v["ci"] == [round(2 - 4.3027 / math.sqrt(3), 5), round(2 + 4.3027 / math.sqrt(3), 5)]
    v = analysis.seed_interval([0.1, 0.3, None], bounds=(0.0, 1.0))
    assert v["mean"] == 0.2 and v["null"] == 1 and v["ci"] == [0.0, 1.0]  # 0.2 +/- 1.27062, clipped
    assert analysis.seed_interval([0.4])["ci"] is None
    recs = [{"run": "a-seed1", "attack": "prefill", "k": 0, "harmful": h} for h in (True, False)]
    recs += [{"run": "a-seed2", "attack": "prefill", "k": 0, "harmful": h} for h in (True, True)]
    recs += [{"run": "base", "attack": "prefill", "k": 0, "harmful": False}]
    res = analysis.group_asr(recs, {"a-seed1": "a", "a-seed2": "a"}, ("attack", "k"))
    assert res["a|attack=prefill,k=0"]["mean"] == 0.75 and res["a|attack=prefill,k=0"]["runs"] == 2
    assert res["base|attack=prefill,k=0"] == {"mean": 0.0, "sd": None, "runs": 1, "null": 0, "ci": None}
