"""The learning-dynamics logger (METRICS 7): G_q, P, I(p, q), the probe losses, the three logs.

Everything in float64.  The brute-force checks print their relative errors (``pytest -s``)."""
import copy
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
import warnings

import pytest
import torch

from aligndepth_lab import lab
from aligndepth_lab.influence import (
    InfluenceLogger,
    ProbeSet,
    TrainingBatch,
    clip_factor,
    influence_step,
    per_position_gradients,
    preconditioner,
    probe_losses,
)
from aligndepth_lab.lang import VOCAB
from aligndepth_lab.model import TinyGPT

LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Bigram(torch.nn.Module):
    """logits at input position t = W[token t]: the gradient of -log softmax(W[a])[b] is
    softmax(W[a]) - e_b in row a, 0 elsewhere."""

    def __init__(self, V, W=None):
        super().__init__()
        self.W = torch.nn.Parameter(torch.zeros(V, V, dtype=torch.float64) if W is None else W.clone())

    def forward(self, ids):
        return self.W[ids]


def flat(ts):
    return torch.cat([t.reshape(-1) for t in ts])


# ----------------------------------------------------------------------------------------------
# hand-computed values
# ----------------------------------------------------------------------------------------------

# V = 2, W = 0, so every softmax is (1/2, 1/2).  Training batch (response_start 1 in both rows):
#   A = [0, 1, 0], trained tokens 1 and 2: q=0: 0 -> 1, q=1: 1 -> 0
#   B = [1, 0, 1], trained token 2 only:   q=1: 0 -> 1        (q=0 of B is not trained on)
# token_mean over 3 trained tokens, w = 1/3.  d(-log softmax(W[a])[b])/dW[a] = (1/2, 1/2) - e_b:
#   G_0 = [[1/6, -1/6], [0, 0]]
#   G_1 = A q=1 in row 1 (-1/6, 1/6) + B q=1 in row 0 (1/6, -1/6) = [[1/6, -1/6], [-1/6, 1/6]]
#   g(0) = sqrt(2)/6, g(1) = 1/3, n_tokens = [1, 2];  g = G_0 + G_1 = [[1/3, -1/3], [-1/6, 1/6]]
# Probe [0, 1, 1], positions 0 (0 -> 1) and 1 (1 -> 1): grad lbar_0 = row 0 (1/2, -1/2),
#   grad lbar_1 = row 1 (1/2, -1/2); lbar_0 = lbar_1 = log 2.
# SGD (P = 1):  I = -lr [[1/6, 1/6], [0, -1/6]]
# Adam, first step: v_1 / (1 - beta2) = g^2, P = 1 / (|g| + eps): P0 = 1/(1/3 + eps) in row 0,
#   P1 = 1/(1/6 + eps) in row 1:  I = -lr [[P0/6, P0/6], [0, -P1/6]]  (about -lr [[1/2, 1/2], [0, -1]])

HAND_BATCH = TrainingBatch(torch.tensor([[0, 1, 0], [1, 0, 1]]),
                           torch.tensor([[False, True, True], [False, False, True]]), [1, 1])
HAND_PROBES = {"refusal": ProbeSet(torch.tensor([[0, 1, 1]]), torch.tensor([[False, True, True]]))}


def test_hand_example_sgd():
    model = Bigram(2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    G, n, _ = per_position_gradients(model, HAND_BATCH, [model.W], "token_mean")
    assert torch.allclose(G, torch.tensor([[1 / 6, -1 / 6, 0, 0], [1 / 6, -1 / 6, -1 / 6, 1 / 6]],
                                          dtype=torch.float64), atol=1e-15)
    assert n.tolist() == [1, 2]
    r = influence_step(model, HAND_BATCH, opt, HAND_PROBES, normalization="token_mean")
    assert r.train_grad_norm.tolist() == pytest.approx([math.sqrt(2) / 6, 1 / 3], abs=1e-15)
    assert r.n_tokens.tolist() == [1, 2]
    assert r.loss_before["refusal"].tolist() == pytest.approx([math.log(2)] * 2, abs=1e-15)
    want = -0.1 * torch.tensor([[1 / 6, 1 / 6], [0, -1 / 6]], dtype=torch.float64)
    assert torch.allclose(r.influence["refusal"], want, atol=1e-15)
    assert r.backward_passes == 2 + 2
    assert r.clip_factor == 1.0


def test_hand_example_adam_first_step():
    model = Bigram(2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)  # betas (0.9, 0.999), eps 1e-8
    r = influence_step(model, HAND_BATCH, opt, HAND_PROBES, normalization="token_mean")
    P0, P1 = 1 / (1 / 3 + 1e-8), 1 / (1 / 6 + 1e-8)
    want = -0.1 * torch.tensor([[P0 / 6, P0 / 6], [0, -P1 / 6]], dtype=torch.float64)
    assert torch.allclose(r.influence["refusal"], want, rtol=1e-12, atol=0)
    P = preconditioner(opt, [torch.tensor([[1 / 3, -1 / 3], [-1 / 6, 1 / 6]], dtype=torch.float64)])
    assert torch.allclose(P[0], torch.tensor([[P0, P0], [P1, P1]], dtype=torch.float64), rtol=1e-12)
    assert opt.state == {} or all(len(s) == 0 for s in opt.state.values())  # state untouched


# ----------------------------------------------------------------------------------------------
# closed-form gradients on a random bigram model
# ----------------------------------------------------------------------------------------------


def random_batch(V, B=5, T=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, V, (B, T), generator=g)
    rs = torch.randint(2, 5, (B,), generator=g)
    mask = torch.arange(T).unsqueeze(0) >= rs.unsqueeze(1)
    mask[0, rs[0]: rs[0] + 2] = False  # an unscored prefix keeps its positions
    mask[1, -2:] = False  # a shorter response (right padding)
    return TrainingBatch(ids, mask, rs)


def closed_form_G(W, batch, weights):
    """G_q from softmax - onehot, row by row, without autograd."""
    ids, mask, rs = batch.input_ids, batch.mask, torch.as_tensor(batch.response_start)
    soft = torch.softmax(W, dim=-1)
    out = {}
    for b in range(ids.shape[0]):
        for j in range(1, ids.shape[1]):
            if not mask[b, j]:
                continue
            q = j - int(rs[b])
            G = out.setdefault(q, torch.zeros_like(W))
            a, t = int(ids[b, j - 1]), int(ids[b, j])
            G[a] += weights[b, j] * (soft[a] - torch.nn.functional.one_hot(torch.tensor(t), W.shape[0]).double())
    return out


@pytest.mark.parametrize("normalization", ["token_mean", "sum", "sequence_mean", "tensor"])
def test_per_position_gradients_closed_form(normalization):
    V = 5
    W = torch.randn(V, V, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    model = Bigram(V, W)
    batch = random_batch(V)
    m = batch.mask.clone()
    m[:, 0] = False
    mf = m.double()
    if normalization == "token_mean":
        weights, norm = mf / mf.sum(), normalization
    elif normalization == "sum":
        weights, norm = mf, normalization
    elif normalization == "sequence_mean":
        weights, norm = mf / mf.sum(1, keepdim=True) / m.shape[0], normalization
    else:
        weights = mf * torch.linspace(0.5, 2.0, m.shape[1], dtype=torch.float64)
        norm = weights
    G, n, passes = per_position_gradients(model, batch, [model.W], norm)
    want = closed_form_G(W, batch, weights)
    assert G.shape[0] == max(want) + 1
    for q in range(G.shape[0]):
        expect = want.get(q, torch.zeros_like(W)).reshape(-1)
        assert torch.allclose(G[q], expect, atol=1e-14), q
    # n_tokens per position, and sum_q G_q = the gradient of the trained loss
    qs = [j - int(batch.response_start[b]) for b in range(m.shape[0]) for j in range(m.shape[1]) if m[b, j]]
    assert n.tolist() == [qs.count(q) for q in range(G.shape[0])]
    assert passes == sum(1 for c in n.tolist() if c > 0)
    logits = model(batch.input_ids)[:, :-1]
    tok = -torch.log_softmax(logits, -1).gather(-1, batch.input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    (full,) = torch.autograd.grad((weights[:, 1:] * tok).sum(), [model.W])
    assert torch.allclose(G.sum(0), full.reshape(-1), atol=1e-14)


def test_training_position_before_response_is_refused():
    batch = TrainingBatch(torch.tensor([[0, 1, 0]]), torch.tensor([[False, True, True]]), [2])
    with pytest.raises(ValueError, match="row 0, token 1 is in the loss but before response_start 2"):
        per_position_gradients(Bigram(2), batch, [Bigram(2).W], "token_mean")


# ----------------------------------------------------------------------------------------------
# the preconditioner against what torch's optimizers actually do
# ----------------------------------------------------------------------------------------------


def single_position_batch(V, q=1):
    """Every trained token at training position q (two rows with different response starts)."""
    ids = torch.tensor([[1, 2, 3, 0, 1, 2], [3, 3, 1, 2, 0, 0]])
    rs = [2, 1]
    mask = torch.zeros_like(ids, dtype=torch.bool)
    mask[0, 2 + q] = True
    mask[1, 1 + q] = True
    return TrainingBatch(ids, mask, rs)


def warm_up(opt, model, steps=3, seed=5):
    """A few steps with unrelated gradients so that v, the step count and amsgrad's maximum are
    not trivial."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        for p in model.parameters():
            p.grad = torch.randn(p.shape, dtype=p.dtype, generator=g) * 0.3
        opt.step()
    for p in model.parameters():
        p.grad = None


def realised_change(model, opt, grad, max_norm=None):
    m2, o2 = copy.deepcopy((model, opt))
    m2.W.grad = grad.clone()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(m2.parameters(), max_norm)
    o2.step()
    return (m2.W - model.W).detach()


OPTIMIZERS = {
    "Adam-beta1=0": lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.0, 0.99)),
    "Adam-amsgrad": lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.0, 0.9), amsgrad=True),
    "AdamW-beta1=0": lambda ps: torch.optim.AdamW(ps, lr=0.05, betas=(0.0, 0.99), weight_decay=0.0),
    "SGD": lambda ps: torch.optim.SGD(ps, lr=0.05),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_preconditioner_is_torchs_step(name):
    V = 4
    model = Bigram(V, torch.randn(V, V, dtype=torch.float64, generator=torch.Generator().manual_seed(2)))
    opt = OPTIMIZERS[name](model.parameters())
    warm_up(opt, model)
    # single-position batch: the realised change is -lr P G_q
    G, n, _ = per_position_gradients(model, single_position_batch(V), [model.W], "token_mean")
    assert n.tolist() == [0, 2]
    Gq = G[1].view(V, V)
    P = preconditioner(opt, [Gq])[0]
    assert torch.allclose(realised_change(model, opt, Gq), -0.05 * P * Gq, rtol=0, atol=1e-10)
    # a batch over several positions: -lr P sum_q G_q, P from the whole batch's gradient
    G, n, _ = per_position_gradients(model, random_batch(V), [model.W], "token_mean")
    g = G.sum(0).view(V, V)
    P = preconditioner(opt, [g])[0]
    assert torch.allclose(realised_change(model, opt, g), -0.05 * P * g, rtol=0, atol=1e-10)
    # with clipping: factor c on the gradient, and P computed from the clipped gradient
    c = clip_factor(float(g.norm()), 0.05)
    assert 0 < c < 0.5
    P = preconditioner(opt, [c * g])[0]
    assert torch.allclose(realised_change(model, opt, g, max_norm=0.05), -0.05 * P * c * g, rtol=0, atol=1e-10)


def test_preconditioner_first_adam_step_with_momentum_and_l2_decay():
    V = 4
    model = Bigram(V, torch.randn(V, V, dtype=torch.float64, generator=torch.Generator().manual_seed(3)))
    G, _, _ = per_position_gradients(model, single_position_batch(V, q=0), [model.W], "token_mean")
    Gq = G[0].view(V, V)
    # first step: m_1 / (1 - beta1) = g, so momentum is trivial even with beta1 = 0.9
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    P = preconditioner(opt, [Gq])[0]
    assert torch.allclose(realised_change(model, opt, Gq), -0.01 * P * Gq, rtol=0, atol=1e-10)
    # Adam's L2 decay: v_s sees g + wd theta (the decay's own share of the step is left out of I)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.0, 0.99), weight_decay=0.1)
    warm_up(opt, model)
    P = preconditioner(opt, [Gq])[0]
    want = -0.01 * P * (Gq + 0.1 * model.W.detach())
    assert torch.allclose(realised_change(model, opt, Gq), want, rtol=0, atol=1e-10)


def test_influence_step_uses_lr_clip_and_preconditioner():
    """I(p, q) = -lr <grad lbar_p, P c G_q> from independently computed pieces, with clipping."""
    V = 5
    model = Bigram(V, torch.randn(V, V, dtype=torch.float64, generator=torch.Generator().manual_seed(4)))
    opt = torch.optim.AdamW(model.parameters(), lr=0.3, betas=(0.5, 0.9))
    warm_up(opt, model)
    batch = random_batch(V)
    probes = {"a": ProbeSet(torch.tensor([[1, 2, 3, 4], [0, 0, 1, 2]]), torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]]))}
    r = influence_step(model, batch, opt, probes, normalization="sum", lr=0.02, max_grad_norm=0.1)
    G, _, _ = per_position_gradients(model, batch, [model.W], "sum")
    c = 0.1 / (float(G.sum(0).norm()) + 1e-6)
    assert r.clip_factor == pytest.approx(c, rel=1e-14)
    P = preconditioner(opt, [c * G.sum(0).view(V, V)])[0].reshape(-1)
    # probe positions: probe 0 scores tokens 1..3 (positions 0, 1, 2), probe 1 tokens 2..3 (0, 1)
    assert r.probe_counts["a"].tolist() == [2, 2, 1]
    soft = torch.softmax(model.W.detach(), -1)
    pairs = {0: [(1, 2), (0, 1)], 1: [(2, 3), (1, 2)], 2: [(3, 4)]}  # (context, target) per position
    for p, prs in pairs.items():
        gp = torch.zeros(V, V, dtype=torch.float64)
        for a, t in prs:
            gp[a] += soft[a] - torch.nn.functional.one_hot(torch.tensor(t), V).double()
        gp = (gp / len(prs)).reshape(-1)
        want = -0.02 * (G @ (P * c * gp))
        assert torch.allclose(r.influence["a"][p], want, rtol=1e-12, atol=1e-18)
        lbar = sum(-math.log(float(soft[a, t])) for a, t in prs) / len(prs)
        assert float(r.loss_before["a"][p]) == pytest.approx(lbar, rel=1e-14)


# ----------------------------------------------------------------------------------------------
# brute force: perturb by the preconditioned step of one position and measure the probe losses
# ----------------------------------------------------------------------------------------------


def brute_force_errors(model, batch, opt, probes, normalization, h):
    """For each training position q: move the parameters by -h P G_q (the update of q alone, with
    lr = h) and compare the measured change of every lbar_p with I(p, q) at lr = h.  Returns the largest
    relative L2 error over q (across the positions of all probe sets), one-sided (the change the
    step itself makes) and central ((l(theta - d) - l(theta + d)) / 2, whose second-order terms
    cancel)."""
    params = [p for g in opt.param_groups for p in g["params"]]
    r = influence_step(model, batch, opt, probes, normalization=normalization, lr=1.0)
    G, n, _ = per_position_gradients(model, batch, params, normalization)
    sizes = [p.numel() for p in params]
    P = flat(preconditioner(opt, [t.view_as(p) for t, p in zip(torch.split(G.sum(0), sizes), params)]))
    base = probe_losses(model, probes)
    one, cen = [], []
    for q in range(G.shape[0]):
        if int(n[q]) == 0:
            continue
        d = h * P * G[q]
        moved = {}
        for sign in (1, -1):
            m2 = copy.deepcopy(model)
            with torch.no_grad():
                for p2, dd in zip(m2.parameters(), torch.split(d, sizes)):
                    p2.sub_(sign * dd.view_as(p2))
            moved[sign] = probe_losses(m2, probes)
        I = h * torch.cat([r.influence[s][:, q] for s in probes])
        d1 = torch.cat([moved[1][s] - base[s] for s in probes])
        dc = torch.cat([(moved[1][s] - moved[-1][s]) / 2 for s in probes])
        one.append(float((I - d1).norm() / d1.norm()))
        cen.append(float((I - dc).norm() / dc.norm()))
    return max(one), max(cen)


def test_brute_force_hand_sized_model():
    V = 5
    model = Bigram(V, torch.randn(V, V, dtype=torch.float64, generator=torch.Generator().manual_seed(6)))
    batch = random_batch(V, B=6, T=10, seed=7)
    g = torch.Generator().manual_seed(8)
    probes = {"a": ProbeSet(torch.randint(0, V, (4, 8), generator=g), torch.arange(8).expand(4, 8) >= 3),
              "b": ProbeSet(torch.randint(0, V, (3, 9), generator=g), torch.arange(9).expand(3, 9) >= 2)}
    for name in ("SGD", "Adam"):
        opt = (torch.optim.SGD(model.parameters(), lr=1.0) if name == "SGD"
               else torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.99)))
        warm_up(opt, model)  # moves W too; the state of Adam is then not trivial
        errs = {h: brute_force_errors(model, batch, opt, probes, "token_mean", h) for h in (1e-2, 1e-3)}
        print(f"\nhand-sized bigram, {name}: relative error (one-sided, central) at step 1e-2: "
              f"{errs[1e-2][0]:.2e}, {errs[1e-2][1]:.2e}; at 1e-3: {errs[1e-3][0]:.2e}, {errs[1e-3][1]:.2e}")
        # the influence is the exact first-order term: the central difference agrees to O(step^2) ...
        assert errs[1e-2][1] <= 1e-3 and errs[1e-3][1] <= 1e-3
        # ... and the one-sided change differs by the second-order term, O(step): 10x smaller at 1e-3
        assert errs[1e-3][0] <= 1e-3
        assert 8 < errs[1e-2][0] / errs[1e-3][0] < 12


def lab_model(seed=0):
    """The lab's model, small config (lab.smoke_config sizes), float64, after 15 AdamW steps on the
    lab's pretraining data (so that the optimizer state and the losses are not trivial)."""
    cfg = lab.smoke_config()
    torch.manual_seed(seed)
    model = TinyGPT(len(VOCAB), cfg.d, cfg.layers, cfg.heads, cfg.mlp, cfg.ctx).double()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.98), weight_decay=0.0)
    rng = random.Random(seed)
    for _ in range(15):
        exs = [lab.pretrain_example(rng, 0.08, 0.04) for _ in range(4)]
        opt.zero_grad()
        lab.lm_loss(model, exs).backward()
        opt.step()
    opt.zero_grad(set_to_none=True)
    return model, opt


def lab_batch_and_probes(seed=1, n_probe=2):
    rng = random.Random(seed)
    exs = [lab.sft_example(rng), lab.augment_example(rng), lab.augment_example(rng), lab.retention_example(rng)]
    ids, mask = lab.collate(exs)
    batch = TrainingBatch(ids, mask, [e.response_start for e in exs])
    probes = {}
    for split, pex in lab.make_probes(seed + 1, n_probe).items():
        pids, pmask = lab.collate(pex)
        probes[split] = ProbeSet(pids, pmask)
    return batch, probes


def test_brute_force_lab_model():
    """On the lab's model the one-sided change of a single position's step carries a visible
    second-order term; the central difference shows that I(p, q) is the exact first-order term
    (its error falls 100x per 10x smaller step)."""
    model, opt = lab_model()
    batch, probes = lab_batch_and_probes()
    sgd = torch.optim.SGD(model.parameters(), lr=1.0)
    e = {h: brute_force_errors(model, batch, sgd, probes, "token_mean", h) for h in (1e-2, 1e-3)}
    print(f"\nlab model (TinyGPT d=32, 1 layer, float64), SGD: relative error (one-sided, central) at lr "
          f"1e-2: {e[1e-2][0]:.2e}, {e[1e-2][1]:.2e}; at lr 1e-3: {e[1e-3][0]:.2e}, {e[1e-3][1]:.2e}")
    assert e[1e-2][1] <= 1e-3 and e[1e-3][1] <= 1e-5 and e[1e-3][0] <= 1e-2
    assert 8 < e[1e-2][0] / e[1e-3][0] < 12  # the one-sided residual is the second-order term
    # AdamW: P G_q is O(1) in every coordinate, so lr 1e-2 moves each parameter (typical size 0.06)
    # by about 1e-2, far outside the linear range (central error 0.51 there, 6.7e-3 at 1e-3).  lr 1e-4 and 1e-5 are
    # 1/3 and 1/30 of the lab's alignment lr (3e-4).
    e = {h: brute_force_errors(model, batch, opt, probes, "token_mean", h) for h in (1e-4, 1e-5)}
    print(f"lab model, AdamW: relative error (one-sided, central) at lr 1e-4: {e[1e-4][0]:.2e}, "
          f"{e[1e-4][1]:.2e}; at lr 1e-5: {e[1e-5][0]:.2e}, {e[1e-5][1]:.2e}")
    assert e[1e-4][1] <= 1e-3 and e[1e-5][1] <= 1e-5 and e[1e-5][0] <= 1e-2
    assert 8 < e[1e-4][0] / e[1e-5][0] < 12


# ----------------------------------------------------------------------------------------------
# the logger in a training loop: records, before/after, the approximation check
# ----------------------------------------------------------------------------------------------


def train_loss(model, batch):
    """The lab's loss (mean over trained tokens), in float64 (the logger's per_token_loss computes
    in float32)."""
    ids, m = batch.input_ids, batch.mask[:, 1:].bool()
    tok = -torch.log_softmax(model(ids)[:, :-1], -1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return tok[m].mean()


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_logger_in_a_training_loop(tmp_path):
    model, _ = lab_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.0, 0.98), weight_decay=0.0)
    warm_up_loss = lab.lm_loss(model, [lab.sft_example(random.Random(9)) for _ in range(4)])
    warm_up_loss.backward()
    opt.step()
    batch, probes = lab_batch_and_probes()
    with InfluenceLogger(tmp_path, "sft-0") as dyn:
        for step in (7, 8):
            opt.zero_grad(set_to_none=True)
            train_loss(model, batch).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # .grad agrees with sum_q c G_q: no warning
                res = dyn.before_step("sft-0", step, model, batch, opt, probes, normalization="token_mean",
                                      max_grad_norm=0.5)
            before = probe_losses(model, probes)
            opt.step()
            after = dyn.after_step(model)
            # measured change vs the first-order prediction sum_q I(p, q): beta1 = 0, no decay, the
            # clipping factor applied, so only the second-order term separates them
            pred = torch.cat([res.influence[s].sum(1) for s in probes])
            meas = torch.cat([after[s] - before[s] for s in probes])
            rel = float((pred - meas).norm() / meas.norm())
            print(f"\nstep {step}: clip factor {res.clip_factor:.3f}, relative L2 error of sum_q I vs the "
                  f"measured change {rel:.2e}")
            assert rel < 1e-2
            for s in probes:
                assert torch.equal(res.loss_before[s], before[s])
    paths = {k: tmp_path / f"{k}-sft-0.jsonl" for k in ("influence", "train-gradient", "probe-change")}
    recs = {k: read(p) for k, p in paths.items()}
    Q = res.n_tokens.shape[0]
    npos = {s: res.influence[s].shape[0] for s in probes}
    assert len(recs["train-gradient"]) == 2 * Q
    assert len(recs["influence"]) == 2 * Q * sum(npos.values())
    assert len(recs["probe-change"]) == 2 * sum(npos.values())
    assert all(list(r) == ["run", "step", "split", "position", "source_position", "influence"]
               for r in recs["influence"])
    assert all(list(r) == ["run", "step", "source_position", "train_grad_norm", "n_tokens"]
               for r in recs["train-gradient"])
    assert all(list(r) == ["run", "step", "split", "position", "loss_before", "loss_after"]
               for r in recs["probe-change"])
    last = [r for r in recs["influence"] if r["step"] == 8]
    for r in last:
        assert r["influence"] == float(res.influence[r["split"]][r["position"], r["source_position"]])
    g = [r for r in recs["train-gradient"] if r["step"] == 8]
    assert [r["source_position"] for r in g] == list(range(Q))
    assert [r["n_tokens"] for r in g] == res.n_tokens.tolist()
    assert [r["train_grad_norm"] for r in g] == res.train_grad_norm.tolist()
    # the augmentation's harmful prefix keeps its positions: some positions carry fewer tokens
    assert min(res.n_tokens.tolist()) < max(res.n_tokens.tolist())
    pc = [r for r in recs["probe-change"] if r["step"] == 8]
    assert [r["loss_after"] for r in pc] == torch.cat([after[s] for s in probes]).tolist()
    assert {r["run"] for k in recs for r in recs[k]} == {"sft-0"}
    # floats are written in full (repr), ints as ints
    line = open(paths["influence"]).readline()
    assert repr(recs["influence"][0]["influence"]) in line


def test_logger_float_digits_rounds_influence_not_probe_losses(tmp_path):
    """float_digits (the lab uses 6) rounds influence and train_grad_norm to significant digits;
    the probe losses keep full precision, since their one-step difference is the measured change."""
    model, _ = lab_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.0, 0.98), weight_decay=0.0)
    batch, probes = lab_batch_and_probes()
    with pytest.raises(ValueError, match="float_digits"):
        InfluenceLogger(tmp_path, "bad", float_digits=0)
    with InfluenceLogger(tmp_path, "r6", float_digits=6) as dyn:
        opt.zero_grad(set_to_none=True)
        train_loss(model, batch).backward()
        res = dyn.before_step("r6", 0, model, batch, opt, probes, normalization="token_mean")
        opt.step()
        after = dyn.after_step(model)
    inf = read(tmp_path / "influence-r6.jsonl")
    exact = [float(res.influence[r["split"]][r["position"], r["source_position"]]) for r in inf]
    assert [r["influence"] for r in inf] == [float(f"{x:.6g}") if x != 0 else 0.0 for x in exact]
    assert any(r["influence"] != x for r, x in zip(inf, exact))  # something was rounded
    assert all(abs(r["influence"] - x) <= 5e-6 * abs(x) for r, x in zip(inf, exact))
    g = read(tmp_path / "train-gradient-r6.jsonl")
    assert [r["train_grad_norm"] for r in g] == [float(f"{x:.6g}") for x in res.train_grad_norm.tolist()]
    pc = read(tmp_path / "probe-change-r6.jsonl")
    assert [r["loss_after"] for r in pc] == torch.cat([after[s] for s in probes]).tolist()
    assert [r["loss_before"] for r in pc] == torch.cat([res.loss_before[s] for s in probes]).tolist()


def test_logger_refuses_misuse(tmp_path):
    model = Bigram(2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with InfluenceLogger(tmp_path, "x") as dyn:
        with pytest.raises(ValueError, match="after_step without a before_step"):
            dyn.after_step(model)
        dyn.before_step("x", 0, model, HAND_BATCH, opt, HAND_PROBES, normalization="token_mean")
        with pytest.raises(ValueError, match="after_step was not called"):
            dyn.before_step("x", 1, model, HAND_BATCH, opt, HAND_PROBES, normalization="token_mean")
        dyn.after_step(model)
        with pytest.raises(ValueError, match=r"already logged for \(run, step\) = \('x', 0\)"):
            dyn.before_step("x", 0, model, HAND_BATCH, opt, HAND_PROBES, normalization="token_mean")
        with pytest.raises(ValueError, match="normalization 'mean' is not one of"):
            dyn.before_step("x", 2, model, HAND_BATCH, opt, HAND_PROBES, normalization="mean")


def test_wrong_normalization_warns():
    model = Bigram(2, torch.tensor([[0.3, -0.2], [0.1, 0.4]], dtype=torch.float64))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    (train_loss(model, HAND_BATCH) * 3).backward()  # the loop trains with "sum" (3 trained tokens)
    with pytest.warns(UserWarning, match="differs from the sum of the per-position gradients"):
        influence_step(model, HAND_BATCH, opt, HAND_PROBES, normalization="token_mean")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        influence_step(model, HAND_BATCH, opt, HAND_PROBES, normalization="sum")


# ----------------------------------------------------------------------------------------------
# refusals
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda ps: torch.optim.RMSprop(ps, lr=0.1),
                                  lambda ps: torch.optim.Adagrad(ps, lr=0.1)])
def test_unsupported_optimizer_is_refused(make, tmp_path):
    model = Bigram(2)
    opt = make(model.parameters())
    with InfluenceLogger(tmp_path, "x") as dyn:
        with pytest.raises(ValueError) as e:
            dyn.before_step("x", 0, model, HAND_BATCH, opt, HAND_PROBES, normalization="token_mean")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"influence: optimizer torch.optim.{type(opt).__name__.lower()}.{type(opt).__name__} "
                          "is not supported")
    assert all(os.path.getsize(tmp_path / f) == 0 for f in os.listdir(tmp_path))


def test_maximize_and_subclass_are_refused():
    model = Bigram(2)

    class MyAdam(torch.optim.Adam):
        pass

    with pytest.raises(ValueError, match=r"optimizer .*MyAdam is not supported"):
        preconditioner(MyAdam(model.parameters()), [torch.zeros(2, 2)])
    with pytest.raises(ValueError, match="maximize=True is not supported"):
        preconditioner(torch.optim.Adam(model.parameters(), maximize=True), [torch.zeros(2, 2)])


def test_non_finite_is_refused_and_nothing_written(tmp_path):
    model = Bigram(2, torch.tensor([[float("nan"), 0.0], [0.0, 0.0]], dtype=torch.float64))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with InfluenceLogger(tmp_path, "x") as dyn:
        with pytest.raises(ValueError, match="non-finite training gradient"):
            dyn.before_step("x", 0, model, HAND_BATCH, opt, HAND_PROBES, normalization="token_mean")
    assert all(os.path.getsize(tmp_path / f) == 0 for f in os.listdir(tmp_path))


# ----------------------------------------------------------------------------------------------
# crash safety: SIGKILL mid-way loses no completely written record
# ----------------------------------------------------------------------------------------------

CHILD = r"""
import sys, torch
from aligndepth_lab.influence import InfluenceLogger, ProbeSet, TrainingBatch
V = 12
torch.manual_seed(0)
W = torch.nn.Parameter(torch.randn(V, V, dtype=torch.float64))
model = lambda ids: W[ids]
opt = torch.optim.Adam([W], lr=1e-3)
ids = torch.randint(0, V, (4, 40))
batch = TrainingBatch(ids, torch.arange(40).expand(4, 40) >= 2, [2, 2, 2, 2])
probes = {"refusal": ProbeSet(ids[:2], torch.arange(40).expand(2, 40) >= 3)}
dyn = InfluenceLogger(sys.argv[1], "crash")
s = 0
while True:
    dyn.before_step("crash", s, model, batch, opt, probes, normalization="token_mean")
    dyn.after_step(model)
    print(s, flush=True)  # acknowledged: every record of step s was written
    s += 1
"""


def test_sigkill_keeps_every_completed_record(tmp_path):
    env = dict(os.environ, PYTHONPATH=LAB + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, env=env, text=True)
    acked = -1
    deadline = time.time() + 60
    while acked < 8 and time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acked = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert acked >= 8, "child did not get going"
    per_step = {"influence": 38 * 37, "train-gradient": 38, "probe-change": 37}
    for kind, n in per_step.items():
        data = (tmp_path / f"{kind}-crash.jsonl").read_bytes()
        lines = data.split(b"\n")
        complete, tail = lines[:-1], lines[-1]
        recs = [json.loads(l) for l in complete]  # every complete line parses
        steps = [r["step"] for r in recs]
        assert steps == sorted(steps)
        for s in range(acked + 1):  # every acknowledged step is there, whole, once
            assert steps.count(s) == n, (kind, s)
        if tail:
            with pytest.raises(ValueError):
                json.loads(tail)
    # a new writer cuts a partial last line and appends on a fresh line
    with InfluenceLogger(tmp_path, "crash"):
        pass
    for kind in per_step:
        data = (tmp_path / f"{kind}-crash.jsonl").read_bytes()
        assert data == b"" or data.endswith(b"\n")
