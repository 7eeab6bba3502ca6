import json
import math
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from aligndepth_lab.convert import (
    conditions_from_name,
    judge_to_attack_records,
    torch_to_token_records,
)

LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _published_logps(logits, labels, loss_mask, max_len):
    """The published trainer's layout: log-probs, masked/padded entries = 1000."""
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1]
    m = loss_mask[:, 1:]
    labels[~m] = 0
    lp = torch.gather(logits.log_softmax(-1), 2, labels.unsqueeze(2)).squeeze(2)
    full = lp * m + (~m) * 1000
    return F.pad(full, (0, max_len - full.shape[1]), value=1000)


def _published_logits(logits, loss_mask, keep=20):
    """The published trainer's layout: scored rows' logits, then rows of 10086."""
    logits = logits[:, :-1]
    m = loss_mask[:, 1:]
    out = torch.zeros(logits.shape[0], keep, logits.shape[2])
    for i in range(logits.shape[0]):
        item = logits[i][m[i]]
        L = min(keep, item.shape[0])
        out[i, :L] = item[:L]
        out[i, L:] = 10086
    return out


def _data(seed=0, B=4, T=12, V=13):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, T, V, generator=g)
    labels = torch.randint(0, V, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.bool)
    for i, (a, b) in enumerate([(4, 12), (6, 10), (2, 12), (8, 9)]):
        mask[i, a:b] = True
    return logits, labels, mask


def test_logprob_file_to_records(tmp_path):
    logits, labels, mask = _data()
    full = _published_logps(logits, labels, mask, 16)
    # saved as a list of per-batch tensors, as the published scripts accumulate them
    path = tmp_path / "logps.pt"
    torch.save([full[:2], full[2:]], path)
    out = tmp_path / "tokens.jsonl"
    r = subprocess.run([sys.executable, "-m", "aligndepth_lab", "convert-torch", str(path), "--run", "llama-sft",
                        "--step", "100", "--out", str(out), "--example-prefix", "hex-", "--set", "split=harmful"],
                       env=dict(os.environ, PYTHONPATH=LAB), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in out.read_text().splitlines()]
    assert [x["example"] for x in recs] == ["hex-0", "hex-1", "hex-2", "hex-3"]
    ce = F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:], reduction="none")
    for i, rec in enumerate(recs):
        assert rec["run"] == "llama-sft" and rec["step"] == 100 and rec["split"] == "harmful"
        want = ce[i][mask[i, 1:]].tolist()
        assert len(rec["loss"]) == len(want) == len(rec["logprob"])
        for a, b, lp in zip(rec["loss"], want, rec["logprob"]):
            assert math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6)
            assert math.isclose(lp, -a, rel_tol=1e-9, abs_tol=1e-12)


def test_logprob_list_of_per_example_arrays_and_ref():
    ex = [torch.tensor([1000.0, 1000.0, -0.5, -1.25, -0.0, 1000.0]), [1000, -2.0, -3.0]]
    ref = [torch.tensor([1000.0, 1000.0, -0.75, -1.0, -0.5, 1000.0]), [1000, -1.0, -1.5]]
    recs = torch_to_token_records(ex, "r", 0, ref=ref)
    assert recs[0]["loss"] == [0.5, 1.25, 0.0]
    assert recs[0]["ref_logprob"] == [-0.75, -1.0, -0.5]
    assert recs[1]["loss"] == [2.0, 3.0]
    assert recs[1]["example"] == 1


def test_logprob_rejects_non_sentinel_positive():
    with pytest.raises(ValueError):
        torch_to_token_records([torch.tensor([1000.0, 0.7, -1.0])], "r", 0, kind="logprobs")


def test_logits_file_to_loss_and_kl(tmp_path):
    logits, labels, mask = _data(3)
    ref_logits = logits + torch.randn_like(logits)
    pub = _published_logits(logits, mask)
    pub_ref = _published_logits(ref_logits, mask)
    ids = [labels[i, 1:][mask[i, 1:]] for i in range(4)]  # ragged list of scored token ids
    for p, obj in (("l.pt", pub), ("r.pt", pub_ref), ("ids.pt", ids)):
        torch.save(obj, tmp_path / p)
    out = tmp_path / "o.jsonl"
    r = subprocess.run([sys.executable, "-m", "aligndepth_lab", "convert-torch", str(tmp_path / "l.pt"), "--run", "m",
                        "--step", "3", "--ref", str(tmp_path / "r.pt"), "--token-ids", str(tmp_path / "ids.pt"),
                        "--out", str(out)], env=dict(os.environ, PYTHONPATH=LAB), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in out.read_text().splitlines()]
    ce = F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:], reduction="none")
    for i, rec in enumerate(recs):
        m = mask[i, 1:]
        assert len(rec["loss"]) == int(m.sum())
        for a, b in zip(rec["loss"], ce[i][m].tolist()):
            assert math.isclose(a, b, rel_tol=1e-5)
        rows, rrows = logits[i, :-1][m], ref_logits[i, :-1][m]
        for t, k in enumerate(rec["kl"]):
            p = torch.softmax(rows[t].double(), -1)
            q = torch.softmax(rrows[t].double(), -1)
            assert math.isclose(k, float((p * (p.log() - q.log())).sum()), rel_tol=1e-5, abs_tol=1e-7)


def test_logits_without_ids_is_an_error():
    logits, labels, mask = _data()
    with pytest.raises(ValueError, match="token ids"):
        torch_to_token_records(_published_logits(logits, mask), "r", 0)


def test_judge_files(tmp_path):
    a = tmp_path / "prefill_5_tokens_gpt_judge.jsonl"
    a.write_text("\n".join(json.dumps(o) for o in [
        {"question": "q0", "answer": "a0", "score": 5},
        {"question": "q1", "answer": "a1", "score": 1},
        {"question": "q2", "answer": "a2", "score": 3},
    ]) + "\n")
    b = tmp_path / "b.jsonl"
    b.write_text('{"idx": 7, "score": 4}\n{"idx": 9, "score": 5}\n')
    out = tmp_path / "att.jsonl"
    env = dict(os.environ, PYTHONPATH=LAB)
    r = subprocess.run([sys.executable, "-m", "aligndepth_lab", "convert-judge", str(a), "--run", "llama",
                        "--attack", "prefill", "--pattern", r"prefill_(?<k>\d+)_tokens", "--out", str(out)],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "aligndepth_lab", "convert-judge", str(b), "--run", "llama",
                        "--attack", "prefill", "--set", "k=10", "--out", str(out)],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in out.read_text().splitlines()]
    assert recs[0] == {"run": "llama", "attack": "prefill", "example": 0, "k": 5, "score": 5}
    assert [x["example"] for x in recs] == [0, 1, 2, 7, 9]
    assert [x["k"] for x in recs] == [5, 5, 5, 10, 10]
    assert [x["score"] for x in recs] == [5, 1, 3, 4, 5]


def test_judge_rejects_bad_score_and_duplicates():
    with pytest.raises(ValueError):
        judge_to_attack_records(['{"idx": 1, "score": NaN}'], "r", "prefill")
    with pytest.raises(ValueError):
        judge_to_attack_records(['{"idx": 1, "score": 1}', '{"idx": 1, "score": 2}'], "r", "prefill")
    with pytest.raises(ValueError):
        judge_to_attack_records(['{"idx": 1}'], "r", "prefill")
    with pytest.raises(ValueError):
        conditions_from_name("x.jsonl", r"k(?P<k>\d+)")
