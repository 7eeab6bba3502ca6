"""Learning dynamics of one optimizer step: which training positions move which probe positions.

METRICS.md section 7, restated.  Step s takes the parameters theta_s to theta_(s+1) with the
batch of that step and the learning rate lr of that update.

* **Training positions** q count from the start of the training response (``response_start``),
  unscored tokens included: an augmentation's harmful prefix, not trained on, keeps its positions,
  so the refusal after it starts at q > 0.  q is 0-based.
* **Split of the loss by position**: the trained loss is L = sum over tokens of w * loss(token),
  with the weights w of the normalisation the user trains with (``"token_mean"``: 1 / number of
  trained tokens in the batch; ``"sum"``: 1; ``"sequence_mean"``: 1 / (batch size * that
  sequence's trained tokens); or a weight tensor).  L_q is the part from the tokens at position q,
  and **G_q = grad L_q** (so sum over q of G_q = grad L).  ``train_grad_norm`` g(q) = ||G_q||_2
  over all the optimizer's parameters (concatenated); ``n_tokens`` = the trained tokens at q.
* **Preconditioner** P (diagonal), read from the optimizer's state as the coming ``step()`` will
  compute it:

  - ``torch.optim.Adam`` / ``torch.optim.AdamW``: P = 1 / (sqrt(v_s / (1 - beta2^s)) + eps), where
    s = state["step"] + 1 is the step count *after* this update's increment and
    v_s = beta2 v_(s-1) + (1 - beta2) g^2 already includes this step's gradient g (for ``Adam``
    with ``weight_decay`` > 0, g includes the L2 term weight_decay * theta, as torch does).  With
    ``amsgrad``, v_s is replaced by max(v_max_(s-1), v_s), as torch does.
  - ``torch.optim.SGD``: P = identity.
  - anything else (including subclasses, and ``maximize=True``): refused.
* **Influence** of training position q on probe position p:
  I(p, q) = -lr <grad lbar_p, P c G_q>, lbar_p the mean loss (nats) at position p over a probe set,
  c the gradient-clipping factor when ``max_grad_norm`` is given (1 otherwise).  Units: nats per
  step; negative = this step lowers that probe loss.  sum over q of I(p, q) is the first-order
  change of lbar_p.
* **Probe positions** p are counted like the token logs of :class:`~aligndepth_lab.logger.TokenLogger`:
  0 is a probe's first scored token, the scored tokens numbered in order.
* **Check**: lbar_p is measured just before the update (from the same forward pass as its
  gradient) and, by :meth:`InfluenceLogger.after_step`, just after it.

**Left out** (each gradient's whole effect is credited to its own step):
momentum (Adam's first moment and its bias correction 1 / (1 - beta1^s), SGD's momentum and
Nesterov), weight decay's own share of the update (AdamW's decoupled decay, Adam's and SGD's L2
term; the L2 term still enters Adam's v_s), and gradient clipping unless ``max_grad_norm`` is
given (then its factor c, computed like ``torch.nn.utils.clip_grad_norm_``, is applied).  With
beta1 = 0 (or the first Adam step), no weight decay and no clipping left out, -lr P c G summed
over q is exactly the update torch makes.

**Cost** per logged step: one forward pass with graph of the training batch and one backward pass
per training position that has trained tokens; per probe set, one forward pass with graph and one
backward pass per probe position; after the update one forward pass (no graph) per probe set.
Memory: (number of training positions + 2) flattened copies of the parameters.

**Dropout**: every gradient here comes from one forward pass; with dropout on, it is one random
mask, not the user's.  Measure with dropout off (``model.eval()``) or accept that noise.

Writes three JSON Lines logs (one record per line), crash-safely through
:class:`~aligndepth_lab.logger.JsonlAppender` (O_APPEND, one write per line, fsync per step):

* ``influence-NAME.jsonl``: {"run", "step", "split", "position", "source_position", "influence"}
* ``train-gradient-NAME.jsonl``: {"run", "step", "source_position", "train_grad_norm", "n_tokens"}
* ``probe-change-NAME.jsonl``: {"run", "step", "split", "position", "loss_before", "loss_after"}

``step`` is the step s whose update the record describes; floats are written in full (Python's
shortest round-trip repr); a NaN or infinity is refused, never written.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from .logger import JsonlAppender, _finite, shift_for_next_token

__all__ = [
    "TrainingBatch",
    "ProbeSet",
    "InfluenceStep",
    "InfluenceLogger",
    "influence_step",
    "per_position_gradients",
    "probe_losses",
    "preconditioner",
    "clip_factor",
    "token_weights",
    "training_positions",
    "probe_positions",
    "PREFIXES",
]

PREFIXES = {"influence": "influence-", "train_gradient": "train-gradient-", "probe_change": "probe-change-"}
NORMALIZATIONS = ("token_mean", "sum", "sequence_mean")


@dataclass
class TrainingBatch:
    """The batch of the step.

    ``input_ids``: ``[batch, seq]`` token ids.  ``mask``: ``[batch, seq]`` bool on the labels in
    input coordinates (as in :func:`~aligndepth_lab.logger.per_token_loss`): true where the token
    is in the trained loss.  ``response_start``: ``[batch]`` index (input coordinates) of each
    sequence's first response token; training position q of token j is j - response_start.
    ``model_inputs``: extra keyword arguments for the model call (e.g. ``attention_mask``).
    """

    input_ids: torch.Tensor
    mask: torch.Tensor
    response_start: Union[torch.Tensor, Sequence[int]]
    model_inputs: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ProbeSet:
    """A probe set: ``input_ids`` ``[n, seq]``, ``mask`` ``[n, seq]`` bool on the labels in input
    coordinates (true = scored, normally the response), ``model_inputs`` extra model arguments.
    Probe position p = the p-th scored token of a probe (0-based), as in the token logs."""

    input_ids: torch.Tensor
    mask: torch.Tensor
    model_inputs: Dict[str, Any] = field(default_factory=dict)


@dataclass
class InfluenceStep:
    """What :func:`influence_step` measured at one step.

    ``train_grad_norm`` ``[Q]`` float64: g(q) = ||G_q||_2 (unclipped), q = 0..Q-1;
    ``n_tokens`` ``[Q]`` int64: trained tokens at q; ``influence[split]`` ``[P_split, Q]`` float64:
    I(p, q) in nats per step; ``loss_before[split]`` ``[P_split]`` float64: lbar_p before the
    update; ``probe_counts[split]`` ``[P_split]``: probes that have position p;
    ``clip_factor`` c; ``backward_passes``: backward passes this measurement took.
    """

    train_grad_norm: torch.Tensor
    n_tokens: torch.Tensor
    influence: Dict[str, torch.Tensor]
    loss_before: Dict[str, torch.Tensor]
    probe_counts: Dict[str, torch.Tensor]
    clip_factor: float
    backward_passes: int


# ----------------------------------------------------------------------------------------------
# positions, weights, losses
# ----------------------------------------------------------------------------------------------


def _logits(model: Callable, ids: torch.Tensor, model_inputs: Mapping[str, Any]) -> torch.Tensor:
    out = model(ids, **dict(model_inputs))
    logits = getattr(out, "logits", out)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3:
        raise ValueError("influence: the model must return logits [batch, seq, vocab] (or an object with .logits)")
    return logits


def _token_losses(model, ids, mask, model_inputs) -> Tuple[torch.Tensor, torch.Tensor]:
    """-log p(token), ``[batch, seq - 1]`` (index t = input token t + 1), and the shifted mask.
    Computed in the logits' dtype (half precision is raised to float32; float64 stays float64)."""
    lg, lab, m = shift_for_next_token(_logits(model, ids, model_inputs), ids, mask)
    if lg.dtype in (torch.float16, torch.bfloat16):
        lg = lg.float()
    safe = torch.where(m, lab, torch.zeros_like(lab))
    loss = -torch.log_softmax(lg, dim=-1).gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return loss.masked_fill(~m, 0.0), m


def training_positions(batch: TrainingBatch) -> Tuple[torch.Tensor, torch.Tensor]:
    """Training position of every shifted token (CPU), ``[batch, seq - 1]`` (index t = input token t + 1:
    q = t + 1 - response_start), and the shifted trained-token mask.  Raises ValueError when a
    trained token lies before its sequence's response start."""
    ids, mask = batch.input_ids.cpu(), batch.mask.cpu()
    if ids.dim() != 2 or mask.shape != ids.shape:
        raise ValueError(f"training batch: input_ids {tuple(ids.shape)} and mask {tuple(mask.shape)} "
                         "must both be [batch, seq]")
    rs = torch.as_tensor(batch.response_start, dtype=torch.long).cpu().reshape(-1)
    if rs.shape[0] != ids.shape[0]:
        raise ValueError(f"training batch: response_start has {rs.shape[0]} entries, the batch {ids.shape[0]} rows")
    m = mask.bool()[:, 1:]
    q = torch.arange(1, ids.shape[1]).unsqueeze(0) - rs.unsqueeze(1)
    bad = m & (q < 0)
    if bool(bad.any()):
        b, t = [int(x) for x in bad.nonzero()[0]]
        raise ValueError(f"training batch: row {b}, token {t + 1} is in the loss but before response_start "
                         f"{int(rs[b])} (training positions count from the response start)")
    return q.masked_fill(~m, -1), m


def probe_positions(mask: torch.Tensor) -> torch.Tensor:
    """Probe position of every shifted token (CPU), ``[n, seq - 1]``: the rank among the probe's scored
    tokens (0 = first scored token), -1 where not scored."""
    m = mask.cpu().bool()[:, 1:]
    r = m.long().cumsum(1) - 1
    return r.masked_fill(~m, -1)


def token_weights(mask: torch.Tensor, normalization: Union[str, torch.Tensor]) -> torch.Tensor:
    """Weights w of the trained loss L = sum w * loss over the shifted tokens ``[batch, seq - 1]``.

    ``mask`` is the shifted trained-token mask.  ``normalization``: ``"token_mean"`` (1 / trained
    tokens in the batch: ``loss[mask].mean()``, Hugging Face's causal-LM default), ``"sum"``,
    ``"sequence_mean"`` (mean over sequences of each sequence's token mean), or a float tensor
    ``[batch, seq]`` of weights in input coordinates (its first column is unused: nothing predicts
    token 0).  Raises ValueError for anything else.
    """
    m = mask.bool()
    if isinstance(normalization, torch.Tensor):
        w = normalization
        if w.shape != (m.shape[0], m.shape[1] + 1):
            raise ValueError(f"normalization weights {tuple(w.shape)} must be [batch, seq] like input_ids")
        return w[:, 1:].double() * m
    if normalization == "token_mean":
        n = int(m.sum())
        return m.double() / max(n, 1)
    if normalization == "sum":
        return m.double()
    if normalization == "sequence_mean":
        per = m.sum(1, keepdim=True).clamp_min(1).double()
        return m.double() / per / m.shape[0]
    raise ValueError(f"normalization {normalization!r} is not one of {', '.join(NORMALIZATIONS)} or a weight tensor")


# ----------------------------------------------------------------------------------------------
# optimizer
# ----------------------------------------------------------------------------------------------


def _check_optimizer(optimizer) -> str:
    kind = type(optimizer)
    if kind is torch.optim.Adam:
        name = "Adam"
    elif kind is torch.optim.AdamW:
        name = "AdamW"
    elif kind is torch.optim.SGD:
        name = "SGD"
    else:
        raise ValueError(f"influence: optimizer {kind.__module__}.{kind.__name__} is not supported "
                         "(only torch.optim.Adam, AdamW and SGD have a preconditioner this logger reads)")
    for g in optimizer.param_groups:
        if g.get("maximize", False):
            raise ValueError(f"influence: {name} with maximize=True is not supported")
    return name


def _params(optimizer) -> List[Tuple[torch.Tensor, dict]]:
    out = []
    for g in optimizer.param_groups:
        for p in g["params"]:
            if p.requires_grad:
                if p.is_sparse:
                    raise ValueError("influence: sparse parameters are not supported")
                out.append((p, g))
    if not out:
        raise ValueError("influence: the optimizer has no trainable parameters")
    return out


def clip_factor(grad_norm: float, max_grad_norm: Optional[float]) -> float:
    """The factor ``torch.nn.utils.clip_grad_norm_`` (L2) multiplies the gradient by:
    min(1, max_grad_norm / (grad_norm + 1e-6)); 1 when ``max_grad_norm`` is None."""
    if max_grad_norm is None:
        return 1.0
    return min(1.0, float(max_grad_norm) / (float(grad_norm) + 1e-6))


def preconditioner(optimizer, grads: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """The diagonal preconditioner P of the coming ``optimizer.step()``, one tensor per trainable
    parameter in the optimizer's order (``param_groups``, then ``params``; frozen ones skipped).

    ``grads``: the gradient each parameter will have at ``step()`` (after any clipping).  Adam and
    AdamW: 1 / (sqrt(v_s / (1 - beta2^s)) + eps) with s = state["step"] + 1 and
    v_s = beta2 v_(s-1) + (1 - beta2) g^2 (g with Adam's L2 term added; the max with the stored
    maximum under amsgrad), as torch computes it.  SGD: ones.  METRICS.md section 7.
    Raises ValueError for other optimizers.  Does not change the optimizer's state.
    """
    name = _check_optimizer(optimizer)
    params = _params(optimizer)
    if len(grads) != len(params):
        raise ValueError(f"preconditioner: {len(grads)} gradients for {len(params)} parameters")
    out = []
    for (p, g), grad in zip(params, grads):
        if name == "SGD":
            out.append(torch.ones_like(p))
            continue
        beta2 = g["betas"][1]
        eps = g["eps"]
        st = optimizer.state.get(p, {})
        prev = st.get("step", 0)
        s = float(prev.item() if isinstance(prev, torch.Tensor) else prev) + 1
        grad = grad.detach().to(p.dtype)
        if name == "Adam" and g["weight_decay"] != 0:
            grad = grad.add(p.detach(), alpha=g["weight_decay"])
        v = st.get("exp_avg_sq")
        v = torch.zeros_like(p) if v is None else v.detach().clone()
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        if g.get("amsgrad", False):
            vmax = st.get("max_exp_avg_sq")
            if vmax is not None:
                v = torch.maximum(vmax.detach(), v)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** s)
        out.append(1.0 / ((v.sqrt() / bias_correction2_sqrt).add_(eps)))
    return out


# ----------------------------------------------------------------------------------------------
# measurement
# ----------------------------------------------------------------------------------------------


def _flat_grad(out: torch.Tensor, params: Sequence[torch.Tensor], dtype) -> torch.Tensor:
    grads = torch.autograd.grad(out, list(params), retain_graph=True, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1).to(dtype)
                      for p, g in zip(params, grads)])


def _finite_or_raise(x: torch.Tensor, what: str) -> None:
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"influence: non-finite {what} (NaN or infinity); nothing was written for this step")


def _flat_dtype(params: Sequence[torch.Tensor]) -> torch.dtype:
    return torch.float64 if any(p.dtype == torch.float64 for p in params) else torch.float32


def per_position_gradients(
    model: Callable, batch: TrainingBatch, params: Sequence[torch.Tensor], normalization: Union[str, torch.Tensor]
) -> Tuple[torch.Tensor, torch.Tensor, int]:
    """G_q = grad L_q for every training position q (METRICS 7), flattened.

    Returns ``(G, n_tokens, backward_passes)``: ``G`` ``[Q, sum of params' sizes]`` (float64 if a
    parameter is float64, else float32; parameters concatenated in the order given, each
    flattened row-major), row q = G_q; ``n_tokens`` ``[Q]`` int64, the trained tokens at q; Q = the
    last trained position + 1.  Rows of positions without trained tokens are 0 and cost nothing;
    every other row costs one backward pass (one forward pass with graph in all).
    """
    dtype = _flat_dtype(params)
    qpos, m = training_positions(batch)
    loss, _ = _token_losses(model, batch.input_ids, batch.mask, batch.model_inputs)
    wl = token_weights(m, normalization).to(device=loss.device, dtype=loss.dtype) * loss
    qd = qpos.to(loss.device)
    Q = int(qpos.max()) + 1 if bool(m.any()) else 0
    if Q == 0:
        raise ValueError("training batch: no token is in the loss")
    n_tokens = torch.zeros(Q, dtype=torch.long).index_add_(0, qpos[m], torch.ones_like(qpos[m]))
    G = torch.zeros(Q, sum(p.numel() for p in params), dtype=dtype, device=params[0].device)
    backward = 0
    for q in range(Q):
        if int(n_tokens[q]) == 0:
            continue
        G[q] = _flat_grad(wl[qd == q].sum(), params, dtype)
        backward += 1
    return G, n_tokens, backward


def probe_losses(model: Callable, probes: Mapping[str, ProbeSet]) -> Dict[str, torch.Tensor]:
    """lbar_p per probe set: ``{split: [P_split]}`` float64, the mean loss (nats) at probe position p
    over the probes that have it.  One forward pass per set, no graph."""
    out = {}
    with torch.no_grad():
        for split, ps in probes.items():
            loss, _ = _token_losses(model, ps.input_ids, ps.mask, ps.model_inputs)
            loss = loss.double().cpu()
            r = probe_positions(ps.mask)
            m = r >= 0
            n = int(r.max()) + 1 if bool(m.any()) else 0
            sums = torch.zeros(n, dtype=torch.float64).index_add_(0, r[m], loss[m])
            cnt = torch.zeros(n, dtype=torch.float64).index_add_(0, r[m], torch.ones_like(loss[m]))
            out[split] = sums / cnt
    return out


def influence_step(
    model: Callable,
    batch: TrainingBatch,
    optimizer,
    probes: Mapping[str, ProbeSet],
    *,
    normalization: Union[str, torch.Tensor],
    lr: Optional[float] = None,
    max_grad_norm: Optional[float] = None,
    check_grad: bool = True,
) -> InfluenceStep:
    """G_q, g(q), n_tokens(q), P, I(p, q) and lbar_p before the update, for one step (METRICS 7).

    Call it before ``optimizer.step()`` (before or after ``loss.backward()``: it uses
    ``torch.autograd.grad`` and leaves ``.grad`` and the optimizer's state alone).

    ``model(input_ids, **model_inputs)`` returns logits ``[batch, seq, vocab]`` (or an object with
    ``.logits``); ``batch``: :class:`TrainingBatch`; ``optimizer``: ``torch.optim.Adam``, ``AdamW``
    or ``SGD`` holding the trained parameters (G_q is taken with respect to its trainable
    parameters); ``probes``: ``{split: ProbeSet}``; ``normalization``: the trained loss's
    normalisation (see :func:`token_weights`); ``lr``: the learning rate of this update (default:
    each parameter group's current ``lr``); ``max_grad_norm``: the L2 clipping threshold the loop
    applies (``clip_grad_norm_``, the norm taken over the optimizer's parameters), so that its
    factor is applied; ``check_grad``: when every
    parameter's ``.grad`` is set and not all zero (called after backward and clipping), warn if it
    differs from c * sum_q G_q (a wrong ``normalization``, ``max_grad_norm`` or dropout).

    Raises ValueError (one line) for an unsupported optimizer, a malformed batch, an unknown
    normalisation or a non-finite result.
    """
    _check_optimizer(optimizer)
    pg = _params(optimizer)
    params = [p for p, _ in pg]
    dtype = _flat_dtype(params)
    sizes = [p.numel() for p in params]

    G, n_tokens, backward = per_position_gradients(model, batch, params, normalization)
    Q = G.shape[0]
    train_grad_norm = G.double().norm(dim=1).cpu()
    _finite_or_raise(train_grad_norm, "training gradient")

    grad = G.sum(0)
    c = clip_factor(float(grad.double().norm()), max_grad_norm)
    grad.mul_(c)
    grads = list(torch.split(grad, sizes))
    grads = [g_.view_as(p) for g_, p in zip(grads, params)]
    if check_grad:
        _check_against_dot_grad(params, grads)

    # lr * c * P, flattened: the factor each G_q is multiplied by in I(p, q) = -<grad lbar_p, lr P c G_q>
    P = preconditioner(optimizer, grads)
    scale = torch.cat([(Pi * (group["lr"] if lr is None else lr)).reshape(-1).to(dtype)
                       for Pi, (_, group) in zip(P, pg)]) * c
    G.mul_(scale)  # G now holds lr c P G_q
    _finite_or_raise(G, "preconditioned training gradient")

    # --- probe side: one backward pass per probe position
    influence, before, counts = {}, {}, {}
    for split, ps in probes.items():
        if ps.input_ids.dim() != 2 or ps.mask.shape != ps.input_ids.shape:
            raise ValueError(f"probe set {split!r}: input_ids {tuple(ps.input_ids.shape)} and mask "
                             f"{tuple(ps.mask.shape)} must both be [n, seq]")
        ploss, _ = _token_losses(model, ps.input_ids, ps.mask, ps.model_inputs)
        r = probe_positions(ps.mask)
        rd = r.to(ploss.device)
        n = int(r.max()) + 1 if bool((r >= 0).any()) else 0
        if n == 0:
            raise ValueError(f"probe set {split!r}: no scored token")
        I = torch.zeros(n, Q, dtype=torch.float64)
        lb = torch.zeros(n, dtype=torch.float64)
        cnt = torch.zeros(n, dtype=torch.long).index_add_(0, r[r >= 0], torch.ones_like(r[r >= 0]))
        for p in range(n):
            lbar = ploss[rd == p].sum() / int(cnt[p])
            lb[p] = float(lbar.detach())
            gp = _flat_grad(lbar, params, dtype)
            backward += 1
            I[p] = -(G @ gp).double().cpu()
        del ploss
        _finite_or_raise(I, f"influence of probe set {split!r}")
        _finite_or_raise(lb, f"loss of probe set {split!r}")
        influence[split], before[split], counts[split] = I, lb, cnt
    return InfluenceStep(train_grad_norm, n_tokens, influence, before, counts, c, backward)


def _check_against_dot_grad(params, grads) -> None:
    have = [p.grad for p in params]
    if any(h is None for h in have) or all(float(h.abs().max()) == 0.0 for h in have):
        return
    num = math.sqrt(sum(float((h.double() - g.double()).pow(2).sum()) for h, g in zip(have, grads)))
    den = math.sqrt(sum(float(h.double().pow(2).sum()) for h in have))
    tol = 1e-9 if all(p.dtype == torch.float64 for p in params) else 1e-4
    if den > 0 and num / den > tol:
        warnings.warn(f"influence: .grad differs from the sum of the per-position gradients (relative "
                      f"{num / den:.2e}): check normalization, max_grad_norm and dropout", stacklevel=3)


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------


class InfluenceLogger:
    """Writes the influence, training-gradient and probe-change logs of METRICS 7 for one run.

    Files in ``directory``: ``influence-NAME.jsonl``, ``train-gradient-NAME.jsonl``,
    ``probe-change-NAME.jsonl`` (appended to; each line one record; written through
    :class:`~aligndepth_lab.logger.JsonlAppender`, fsync'ed at the end of every logged step).

    At a logged step of the training loop::

        with InfluenceLogger("runs/", "sft") as dyn:
            for s, batch in enumerate(batches):
                loss = ...; opt.zero_grad(); loss.backward()
                if s in log_steps:
                    dyn.before_step("sft", s, model, tb, opt, probes, normalization="token_mean")
                opt.step()
                if s in log_steps:
                    dyn.after_step(model)

    :meth:`before_step` computes :func:`influence_step` and writes the influence and
    training-gradient records; :meth:`after_step`, called right after ``optimizer.step()``,
    measures lbar_p again and writes the probe-change records.  A (run, step) is logged once.
    """

    def __init__(self, directory: Union[str, os.PathLike], name: str, float_digits: Optional[int] = None):
        """``float_digits``: significant digits kept of ``influence`` and ``train_grad_norm`` (default
        None: full precision).  The probe losses of the probe-change log always keep full precision:
        their difference over one step is the measured change, often 1e-4 of the loss or less."""
        if float_digits is not None and (isinstance(float_digits, bool) or not isinstance(float_digits, int)
                                         or float_digits < 1):
            raise ValueError(f"InfluenceLogger: float_digits must be None or an integer >= 1, got {float_digits!r}")
        self.float_digits = float_digits
        if not isinstance(name, str) or not name or "/" in name or os.sep in name:
            raise ValueError(f"InfluenceLogger: name must be a non-empty file-name part, got {name!r}")
        d = os.fspath(directory)
        self.paths = {k: os.path.join(d, f"{v}{name}.jsonl") for k, v in PREFIXES.items()}
        self._files = {k: JsonlAppender(p) for k, p in self.paths.items()}
        self._pending: Optional[Tuple[str, int, Mapping[str, ProbeSet], Dict[str, torch.Tensor]]] = None
        self._seen = set()

    def before_step(self, run: str, step: int, model, batch: TrainingBatch, optimizer,
                    probes: Mapping[str, ProbeSet], **options: Any) -> InfluenceStep:
        """Measure step ``step`` of ``run`` (before ``optimizer.step()``) and write its influence and
        training-gradient records.  ``options``: those of :func:`influence_step` (``normalization``
        is required).  Returns the :class:`InfluenceStep`."""
        if not isinstance(run, str) or not run:
            raise ValueError("run must be a non-empty string")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step must be an integer >= 0, got {step!r}")
        for split in probes:
            if not isinstance(split, str) or not split:
                raise ValueError(f"probe set names must be non-empty strings, got {split!r}")
        if (run, step) in self._seen:
            raise ValueError(f"influence already logged for (run, step) = ({run!r}, {step})")
        if self._pending is not None:
            raise ValueError(f"after_step was not called for step {self._pending[1]} of {self._pending[0]!r}")
        res = influence_step(model, batch, optimizer, probes, **options)
        recs_i = [{"run": run, "step": step, "split": split, "position": p, "source_position": q,
                   "influence": self._round(_finite(I[p, q], "the influence field"))}
                  for split, I in res.influence.items() for p in range(I.shape[0]) for q in range(I.shape[1])]
        recs_g = [{"run": run, "step": step, "source_position": q,
                   "train_grad_norm": self._round(_finite(res.train_grad_norm[q], "the train_grad_norm field")),
                   "n_tokens": int(res.n_tokens[q])} for q in range(res.n_tokens.shape[0])]
        for r in recs_g:
            self._files["train_gradient"].write(r)
        for r in recs_i:
            self._files["influence"].write(r)
        self._files["train_gradient"].checkpoint()
        self._files["influence"].checkpoint()
        self._seen.add((run, step))
        self._pending = (run, step, probes, res.loss_before)
        return res

    def _round(self, x: float) -> float:
        if self.float_digits is None or x == 0.0:
            return x
        return float(f"{x:.{self.float_digits}g}")

    def after_step(self, model) -> Dict[str, torch.Tensor]:
        """Measure lbar_p right after ``optimizer.step()`` (one forward pass per probe set) and write
        the probe-change records of the pending step.  Returns ``{split: loss_after [P_split]}``."""
        if self._pending is None:
            raise ValueError("after_step without a before_step")
        run, step, probes, before = self._pending
        after = probe_losses(model, probes)
        recs = []
        for split, lb in before.items():
            la = after[split]
            for p in range(lb.shape[0]):
                recs.append({"run": run, "step": step, "split": split, "position": p,
                             "loss_before": _finite(lb[p], "the loss_before field"), "loss_after": _finite(la[p], "the loss_after field")})
        for r in recs:
            self._files["probe_change"].write(r)
        self._files["probe_change"].checkpoint()
        self._pending = None
        return after

    def close(self) -> None:
        for f in self._files.values():
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
