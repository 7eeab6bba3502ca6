import json
import math

import pytest
import torch
import torch.nn.functional as F

from aligndepth_lab.logger import (
    TokenLogger,
    per_token_grad_norms,
    per_token_kl,
    per_token_loss,
    scored_values,
)


def _batch(seed=0, B=3, T=7, V=11):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, T, V, generator=g) * 2
    labels = torch.randint(0, V, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.bool)
    mask[0, 3:] = True  # prompt of 3 tokens
    mask[1, 5:] = True
    mask[2, 1:] = True
    return logits, labels, mask


def test_loss_matches_cross_entropy():
    logits, labels, mask = _batch()
    loss, m = per_token_loss(logits, labels, mask)
    assert loss.shape == (3, 6) and m.shape == (3, 6)
    ce = F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:], reduction="none")
    assert torch.allclose(loss[m], ce[m], atol=1e-5)
    assert (loss[~m] == 0).all()


def test_position_zero_is_first_scored_token():
    logits, labels, mask = _batch()
    loss, m = per_token_loss(logits, labels, mask)
    vals = scored_values(loss, m)
    assert [len(v) for v in vals] == [4, 2, 6]
    # example 0: first scored input token is index 3, predicted by logits at index 2
    direct = -torch.log_softmax(logits[0, 2], -1)[labels[0, 3]]
    assert math.isclose(vals[0][0], float(direct), rel_tol=1e-5)
    direct_last = -torch.log_softmax(logits[1, 5], -1)[labels[1, 6]]
    assert math.isclose(vals[1][1], float(direct_last), rel_tol=1e-5)


def test_ignore_index_default_mask():
    logits, labels, mask = _batch()
    lab = labels.clone()
    lab[~mask] = -100
    loss_a, m_a = per_token_loss(logits, lab)
    loss_b, m_b = per_token_loss(logits, labels, mask)
    assert torch.equal(m_a, m_b)
    assert torch.allclose(loss_a[m_a], loss_b[m_b])


def test_kl_matches_explicit_sum():
    logits, labels, mask = _batch(1)
    ref = logits + torch.randn_like(logits)
    kl = per_token_kl(logits, ref)
    assert kl.shape == (3, 6)
    for b in range(3):
        for t in range(6):
            p = torch.softmax(logits[b, t].double(), -1)
            q = torch.softmax(ref[b, t].double(), -1)
            direct = float((p * (p.log() - q.log())).sum())
            assert math.isclose(float(kl[b, t]), direct, rel_tol=1e-4, abs_tol=1e-6)
    assert torch.allclose(per_token_kl(logits, logits), torch.zeros(3, 6), atol=1e-6)
    # direction: KL(model || ref) differs from KL(ref || model)
    rev = per_token_kl(ref, logits)
    assert not torch.allclose(kl, rev, atol=1e-3)


def test_grad_norm_matches_per_token_autograd():
    torch.manual_seed(0)
    V, D, T = 9, 5, 6
    emb = torch.nn.Embedding(V, D)
    head = torch.nn.Linear(D, V)
    ids = torch.randint(0, V, (1, T))
    mask = torch.zeros(1, T, dtype=torch.bool)
    mask[0, 2:] = True
    params = list(emb.parameters()) + list(head.parameters())

    def fwd():
        h = emb(ids).cumsum(1)  # causal mixing
        return head(torch.tanh(h))

    loss, m = per_token_loss(fwd(), ids, mask)
    norms = per_token_grad_norms(loss, params, m)
    for t in range(T - 1):
        if not m[0, t]:
            assert norms[0, t] == 0
            continue
        for p in params:
            p.grad = None
        l2 = F.cross_entropy(fwd()[0, t : t + 1], ids[0, t + 1 : t + 2])
        l2.backward()
        direct = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params))
        assert math.isclose(float(norms[0, t]), direct, rel_tol=1e-5)


def test_grad_norm_wrt_intermediate_tensor():
    torch.manual_seed(1)
    x = torch.randn(1, 4, 3, requires_grad=True)
    w = torch.randn(3, 5)
    logits = (x.cumsum(1)) @ w
    ids = torch.randint(0, 5, (1, 4))
    loss, m = per_token_loss(logits, ids)
    norms = per_token_grad_norms(loss, [x], m)
    for t in range(3):
        g, = torch.autograd.grad(loss[0, t], x, retain_graph=True)
        assert math.isclose(float(norms[0, t]), float(g.norm()), rel_tol=1e-6)


def test_logger_writes_wide_records(tmp_path):
    logits, labels, mask = _batch(2)
    ref = logits * 0.5
    vocab = [f"w{i}" for i in range(11)]
    path = tmp_path / "t.jsonl"
    with TokenLogger(path) as log:
        log.log_batch("sft", 0, ["a", "b", "c"], logits, labels, mask, ref_logits=ref, vocab=vocab,
                      segments=[["r"] * 4, ["r"] * 2, ["r"] * 6], split="refusal")
        log.checkpoint()
    recs = [json.loads(l) for l in path.read_text().splitlines()]
    assert [r["example"] for r in recs] == ["a", "b", "c"]
    loss, m = per_token_loss(logits, labels, mask)
    kl = per_token_kl(logits, ref)
    for b, r in enumerate(recs):
        assert r["run"] == "sft" and r["step"] == 0 and r["split"] == "refusal"
        n = len(r["loss"])
        for k in ("kl", "logprob", "token", "token_id", "segment"):
            assert len(r[k]) == n
        want = loss[b][m[b]].tolist()
        assert all(math.isclose(a, w, rel_tol=1e-5, abs_tol=1e-6) for a, w in zip(r["loss"], want))
        assert all(math.isclose(a, w, rel_tol=1e-5, abs_tol=1e-6)
                   for a, w in zip(r["kl"], kl[b][m[b]].tolist()))
        assert r["token"] == [f"w{i}" for i in r["token_id"]]
        assert r["token_id"] == labels[b, 1:][m[b]].tolist()


def test_logger_rejects_nan_and_bad_lengths_and_duplicates(tmp_path):
    with TokenLogger(tmp_path / "x.jsonl") as log:
        with pytest.raises(ValueError):
            log.log("r", 0, "e", [1.0, float("nan")])
        with pytest.raises(ValueError):
            log.log("r", 0, "e", [1.0, float("inf")])
        with pytest.raises(ValueError):
            log.log("r", 0, "e", [1.0, 2.0], arrays={"kl": [0.1]})
        with pytest.raises(ValueError):
            log.log("r", -1, "e", [1.0])
        log.log("r", 0, "e", [1.0])
        with pytest.raises(ValueError):
            log.log("r", 0, "e", [1.0])
    lines = (tmp_path / "x.jsonl").read_text().splitlines()
    assert len(lines) == 1


def test_logger_appends_and_repairs_partial_tail(tmp_path):
    path = tmp_path / "a.jsonl"
    with TokenLogger(path) as log:
        log.log("r", 0, 1, [0.5])
    with open(path, "ab") as f:
        f.write(b'{"run":"r","step":1,"exa')  # a writer killed mid-line
    with pytest.warns(UserWarning):
        log = TokenLogger(path)
    with log:
        log.log("r", 2, 1, [0.25], offset=3)
    recs = [json.loads(l) for l in path.read_text().splitlines()]
    assert [r["step"] for r in recs] == [0, 2]
    assert recs[1]["offset"] == 3


def test_logger_refuses_gzip_paths(tmp_path):
    with pytest.raises(ValueError, match="plain JSON Lines"):
        TokenLogger(tmp_path / "t.jsonl.gz")


def test_float64_logits_stay_float64():
    # A float64 model must get float64 losses and KL (no silent rounding to float32): the
    # difference from float32 is visible at 1e-12 on these values.
    torch.manual_seed(3)
    logits = torch.randn(2, 5, 7, dtype=torch.float64) * 3
    ref = torch.randn(2, 5, 7, dtype=torch.float64)
    labels = torch.randint(0, 7, (2, 5))
    loss, m = per_token_loss(logits, labels)
    assert loss.dtype == torch.float64
    want = F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:], reduction="none")
    assert torch.allclose(loss[m], want[m], rtol=0, atol=1e-13)
    assert per_token_kl(logits, ref).dtype == torch.float64


def test_kl_at_some_checkpoints_only_is_simply_absent(tmp_path):
    """The lab/README.md loop with the reference model scored at steps 0 and 100 only (case
    logger-sparse-kl): step 50's records have no kl key at all (not null, not []), METRICS.md 1.2."""
    torch.manual_seed(0)
    V, B, T = 11, 2, 6
    ids = torch.randint(0, V, (B, T))
    mask = torch.zeros(B, T, dtype=torch.bool)
    mask[:, 3:] = True
    path = tmp_path / "run.jsonl"
    with TokenLogger(path) as log:
        for step in (0, 50, 100):
            logits = torch.randn(B, T, V) * (1 + step / 100)
            ref = torch.randn(B, T, V) if step in (0, 100) else None
            log.log_batch("sft", step, ["p0", "p1"], logits, ids, mask, ref_logits=ref, split="refusal")
            log.checkpoint()
    recs = [json.loads(l) for l in path.read_text().splitlines()]
    assert [(r["step"], r["example"]) for r in recs] == [(s, e) for s in (0, 50, 100) for e in ("p0", "p1")]
    for r in recs:
        assert len(r["loss"]) == len(r["logprob"]) == len(r["token_id"]) == 3
        if r["step"] == 50:
            assert "kl" not in r
            assert list(r) == ["run", "step", "example", "split", "loss", "logprob", "token_id"]
        else:
            assert len(r["kl"]) == 3 and all(k >= 0 for k in r["kl"])


def test_records_without_loss(tmp_path):
    """A gradient file: grad_norm and labels only (loss and kl of the same keys live in the token log)."""
    logits, labels, mask = _batch()
    path = tmp_path / "g.jsonl"
    norms = [[1.5, 2.0, 0.25, 4.0], [3.0, 1.0], [0.5] * 6]
    with TokenLogger(path) as log:
        log.log_batch("r", 7, ["a", "b", "c"], logits, labels, mask, grad_norms=norms, segments=None,
                      with_loss=False, with_logprob=False, split="harmful")
        with pytest.raises(ValueError, match="at least one metric"):
            log.log("r", 8, "x", None, arrays={"token": ["a"]})
        with pytest.raises(ValueError, match="array 'token_id' has 2 entries, grad_norm has 1"):
            log.log("r", 8, "y", None, arrays={"grad_norm": [1.0], "token_id": [1, 2]})
    recs = [json.loads(l) for l in path.read_text().splitlines()]
    assert [list(r) for r in recs] == [["run", "step", "example", "split", "grad_norm", "token_id"]] * 3
    assert [r["grad_norm"] for r in recs] == norms
    assert [r["token_id"] for r in recs] == [labels[b, 1:][mask[b, 1:]].tolist() for b in range(3)]
