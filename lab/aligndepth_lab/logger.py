"""Per-token metrics from a causal language model's logits, and a crash-safe token-log writer.

Framework-agnostic: everything here takes plain PyTorch tensors (any model that gives logits works;
no transformers / accelerate dependency).

Positions
---------
Inputs follow the usual causal-LM convention: ``logits[b, t]`` is the model's prediction for the
token ``labels[b, t + 1]`` (next-token prediction), where ``labels`` are the input ids themselves
(same shape as the inputs, ``[batch, seq]``).  The functions here do the shift themselves, so their
outputs have ``seq - 1`` positions: output index ``t`` holds the metric of input token ``t + 1``,
computed from ``logits[:, t]``.

``mask`` is given on the *labels* (input coordinates, ``[batch, seq]``): ``mask[b, j]`` is true when
token ``j`` is scored (normally the response tokens).  Token ``0`` can never be scored (nothing
predicts it).  In a written record, **position 0 is the first scored token** -- normally the first
response token, i.e. the token right after the prompt -- and the positions count the scored tokens
of that example in order (1, 2, ... are the second, third, ... scored token).  If the mask has gaps,
the scored tokens are renumbered consecutively.  An optional scalar ``offset`` can be written to say
where position 0 sits (METRICS.md: position = array index + offset).

Metrics (all in nats)
---------------------
* ``loss``     -log p_model(token | prefix), i.e. ``F.cross_entropy`` per token.
* ``logprob``  log p_model(token | prefix) = -loss.
* ``kl``       KL(p_model || p_ref) of the *next-token distribution at the position that predicts
  the token*, summed over the full vocabulary:
  sum_v p_model(v) * (log p_model(v) - log p_ref(v)).  Direction: model first, reference second.
* ``grad_norm`` the L2 norm of the gradient of that single token's loss with respect to a chosen
  set of tensors -- by default all trainable parameters of the model (concatenated), see
  :func:`per_token_grad_norms`.  One backward pass per scored token: use it at a few checkpoints.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

__all__ = [
    "shift_for_next_token",
    "per_token_logprobs",
    "per_token_loss",
    "per_token_kl",
    "per_token_grad_norms",
    "scored_values",
    "TokenLogger",
    "JsonlAppender",
]

Number = Union[int, float]


# ----------------------------------------------------------------------------------------------
# tensor metrics
# ----------------------------------------------------------------------------------------------


def _default_mask(labels: torch.Tensor, mask: Optional[torch.Tensor], ignore_index: int) -> torch.Tensor:
    if mask is None:
        mask = labels != ignore_index
    if mask.shape != labels.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} != labels shape {tuple(labels.shape)}")
    return mask.bool()


def shift_for_next_token(
    logits: torch.Tensor, labels: torch.Tensor, mask: Optional[torch.Tensor] = None, ignore_index: int = -100
):
    """Align logits with the tokens they predict.

    Returns ``(logits[:, :-1], labels[:, 1:], mask[:, 1:])``: after the shift, index ``t`` holds the
    prediction made at input position ``t`` and the token at input position ``t + 1``.
    """
    if logits.dim() != 3:
        raise ValueError("logits must be [batch, seq, vocab]")
    if logits.shape[:2] != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and labels {tuple(labels.shape)} disagree")
    mask = _default_mask(labels, mask, ignore_index)
    return logits[:, :-1], labels[:, 1:], mask[:, 1:]


def _upcast(t: torch.Tensor) -> torch.Tensor:
    """Half precision raised to float32 for the softmax; float32 and float64 kept as they are."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def per_token_logprobs(
    logits: torch.Tensor, labels: torch.Tensor, mask: Optional[torch.Tensor] = None, ignore_index: int = -100
):
    """log p(token) of every input token after the first: ``[batch, seq - 1]``, and the shifted mask.

    Unscored entries (mask false) are set to 0.0 and must be ignored through the returned mask.
    """
    lg, lab, m = shift_for_next_token(logits, labels, mask, ignore_index)
    safe = torch.where(m, lab, torch.zeros_like(lab))
    lp = torch.log_softmax(_upcast(lg), dim=-1).gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return lp.masked_fill(~m, 0.0), m


def per_token_loss(
    logits: torch.Tensor, labels: torch.Tensor, mask: Optional[torch.Tensor] = None, ignore_index: int = -100
):
    """Per-token cross-entropy ``-log p(token)`` in nats: ``[batch, seq - 1]`` and the shifted mask.

    Equal to ``F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:], reduction="none")``
    on the scored entries; 0.0 elsewhere.  Differentiable (use it for :func:`per_token_grad_norms`).
    """
    lp, m = per_token_logprobs(logits, labels, mask, ignore_index)
    return -lp, m


def per_token_kl(logits: torch.Tensor, ref_logits: torch.Tensor) -> torch.Tensor:
    """KL(p_model || p_ref) of the next-token distributions, per position, in nats.

    ``logits`` and ``ref_logits`` are ``[batch, seq, vocab]`` over the same inputs.  The result is
    shifted like :func:`per_token_loss` -- ``[batch, seq - 1]``, index ``t`` is the distribution at
    input position ``t``, i.e. the one that predicts token ``t + 1`` -- so it lines up with the loss
    and the same mask applies.  Sum over the full vocabulary; clamped at 0 against rounding.
    """
    if logits.shape != ref_logits.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and ref_logits {tuple(ref_logits.shape)} disagree")
    lp = torch.log_softmax(_upcast(logits[:, :-1]), dim=-1)
    lq = torch.log_softmax(_upcast(ref_logits[:, :-1]), dim=-1)
    kl = (lp.exp() * (lp - lq)).sum(-1)
    return kl.clamp_min(0.0)


def per_token_grad_norms(
    token_losses: torch.Tensor, wrt: Iterable[torch.Tensor], mask: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """L2 norm of d(loss_i)/d(wrt) for every element ``loss_i`` of ``token_losses``.

    ``token_losses`` is a differentiable tensor of per-token losses (e.g. one row of
    :func:`per_token_loss` for a single example -- batch size 1 keeps each backward pass cheap and
    keeps other examples out of the gradient).  ``wrt`` is the list of tensors the gradient is taken
    with respect to: normally ``[p for p in model.parameters() if p.requires_grad]`` (then the norm
    is the norm of the full parameter gradient, all tensors concatenated), or any intermediate
    tensor that is part of the graph (e.g. the input embeddings).  Entries where ``mask`` is false
    get 0.0 without a backward pass.  Cost: one backward pass per scored token.
    """
    wrt = [w for w in wrt]
    flat = token_losses.reshape(-1)
    keep = torch.ones_like(flat, dtype=torch.bool) if mask is None else mask.reshape(-1).bool()
    out = torch.zeros(flat.shape[0], dtype=torch.float64)
    idx = [i for i in range(flat.shape[0]) if bool(keep[i])]
    for n, i in enumerate(idx):
        grads = torch.autograd.grad(flat[i], wrt, retain_graph=True, allow_unused=True)
        sq = 0.0
        for g in grads:
            if g is not None:
                sq += float(g.double().pow(2).sum())
        out[i] = math.sqrt(sq)
    return out.reshape(token_losses.shape)


def scored_values(values: torch.Tensor, mask: torch.Tensor) -> List[List[float]]:
    """Per example, the values at the scored positions, in order (position 0 first)."""
    values = values.detach().cpu()
    mask = mask.detach().cpu().bool()
    return [values[b][mask[b]].tolist() for b in range(values.shape[0])]


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------


def _finite(x: float, where: str) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"non-finite value {x!r} in {where}")
    return x


class JsonlAppender:
    """Append-only JSON Lines file; every record goes out in one ``os.write`` of a complete line.

    * opened with ``O_APPEND``: a line is never interleaved with another writer's line;
    * no user-space buffering: once :meth:`write` returns, the line is in the operating system and
      survives the death of this process (SIGKILL included);
    * :meth:`checkpoint` additionally ``os.fsync``\\ s the file (survives a machine crash);
    * if the file ends with a partial line (an earlier writer was killed mid-write), that partial
      line is cut off when the file is opened, so the next record starts on a fresh line.
    """

    def __init__(self, path: Union[str, os.PathLike], fsync_every: int = 0):
        self.path = os.fspath(path)
        if self.path.endswith(".gz"):
            raise ValueError("JsonlAppender writes plain JSON Lines (appending to gzip is not crash-safe); "
                             "write .jsonl and compress it when the run is over")
        d = os.path.dirname(self.path)
        if d:
            os.makedirs(d, exist_ok=True)
        self._repair_tail()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.fsync_every = int(fsync_every)
        self.records = 0
        self._since_sync = 0

    def _repair_tail(self) -> None:
        if not os.path.exists(self.path):
            return
        size = os.path.getsize(self.path)
        if size == 0:
            return
        with open(self.path, "rb+") as f:
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            # find the last newline and cut the partial line after it
            pos = size
            chunk = 65536
            cut = 0
            while pos > 0:
                start = max(0, pos - chunk)
                f.seek(start)
                buf = f.read(pos - start)
                i = buf.rfind(b"\n")
                if i >= 0:
                    cut = start + i + 1
                    break
                pos = start
            warnings.warn(f"{self.path}: dropping a partial last line ({size - cut} bytes)")
            f.truncate(cut)
            f.flush()
            os.fsync(f.fileno())

    def write(self, obj: Dict[str, Any]) -> None:
        if self._fd is None:
            raise ValueError("write to a closed JsonlAppender")
        line = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
        data = line.encode("utf-8")
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self.records += 1
        self._since_sync += 1
        if self.fsync_every and self._since_sync >= self.fsync_every:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Force everything written so far to disk (``os.fsync``)."""
        if self._fd is not None:
            os.fsync(self._fd)
            self._since_sync = 0

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None

    @property
    def closed(self) -> bool:
        return self._fd is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


_ARRAY_FIELDS_FLOAT = ("loss", "kl", "grad_norm", "logprob", "ref_logprob")
_ARRAY_FIELDS_LABEL = ("token", "token_id", "segment")


class TokenLogger(JsonlAppender):
    """Writes token logs in the wide JSON Lines layout of METRICS.md.

    One record per (run, step, example)::

        {"run": "sft", "step": 40, "example": "refusal-007", "split": "refusal",
         "loss": [...], "kl": [...], "logprob": [...], "token": [...], "token_id": [...],
         "segment": [...]}

    Every per-token field is an array of the same length; array index i is position i (plus the
    optional scalar ``offset``).  Floats must be finite (a NaN or infinity raises instead of being
    written).  Extra scalar fields (``split``, ``tag``, ...) are passed as keyword arguments.

    Use as a context manager; call :meth:`checkpoint` (fsync) at every training checkpoint::

        with TokenLogger("tokens.jsonl") as log:
            for step in ...:
                log.log_batch("sft", step, ids, logits, input_ids, mask, ref_logits=ref)
                log.checkpoint()
    """

    def __init__(self, path, fsync_every: int = 0, float_digits: Optional[int] = 6):
        super().__init__(path, fsync_every=fsync_every)
        self.float_digits = float_digits
        self._seen = set()

    def _round(self, x: float) -> float:
        if self.float_digits is None:
            return x
        if x == 0.0:
            return 0.0
        return float(f"{x:.{self.float_digits}g}")

    def log(
        self,
        run: str,
        step: int,
        example: Union[str, int],
        loss: Optional[Sequence[Number]] = None,
        *,
        offset: Optional[int] = None,
        arrays: Optional[Dict[str, Sequence[Any]]] = None,
        **scalars: Any,
    ) -> Dict[str, Any]:
        """Write one record; returns it.  ``arrays`` holds other per-token fields by name.

        ``loss`` may be None for a file of other metrics (e.g. only ``grad_norm``: METRICS.md 1.3
        joins it with the losses by key); the record then needs at least one metric in ``arrays``.
        A metric that was not measured for this record is simply left out (METRICS.md 1.2): pass
        None or omit it, never an empty or padded array.  Raises ValueError on a non-finite value,
        arrays of different lengths or a repeated (run, step, example).
        """
        if not isinstance(run, str) or not run:
            raise ValueError("run must be a non-empty string")
        if isinstance(step, bool) or int(step) != step or step < 0:
            raise ValueError(f"step must be an integer >= 0, got {step!r}")
        if not isinstance(example, (str, int)) or isinstance(example, bool):
            raise ValueError("example must be a string or an integer")
        key = (run, int(step), example)
        if key in self._seen:
            raise ValueError(f"duplicate record for (run, step, example) = {key}")
        rec: Dict[str, Any] = {"run": run, "step": int(step), "example": example}
        if offset is not None:
            rec["offset"] = int(offset)
        for k, v in scalars.items():
            if v is None:
                continue
            if isinstance(v, float):
                v = _finite(v, k)
            rec[k] = v
        n = None
        first = None
        if loss is not None:
            n, first = len(loss), "loss"
            rec["loss"] = [self._round(_finite(x, "loss")) for x in loss]
        has_metric = loss is not None
        for name, values in (arrays or {}).items():
            if values is None:
                continue
            values = list(values)
            if n is None:
                n, first = len(values), name
            elif len(values) != n:
                raise ValueError(f"array {name!r} has {len(values)} entries, {first} has {n}")
            if name in _ARRAY_FIELDS_LABEL:
                if name == "token_id":
                    values = [int(v) for v in values]
                else:
                    values = [str(v) for v in values]
            else:
                has_metric = True
                values = [self._round(_finite(x, name)) for x in values]
            rec[name] = values
        if not has_metric:
            raise ValueError("a record needs at least one metric (loss, or another per-token number in arrays)")
        self.write(rec)
        self._seen.add(key)
        return rec

    def log_batch(
        self,
        run: str,
        step: int,
        examples: Sequence[Union[str, int]],
        logits: torch.Tensor,
        labels: torch.Tensor,
        mask: Optional[torch.Tensor] = None,
        *,
        ref_logits: Optional[torch.Tensor] = None,
        grad_norms: Optional[Sequence[Sequence[float]]] = None,
        vocab: Optional[Sequence[str]] = None,
        segments: Optional[Sequence[Sequence[str]]] = None,
        with_loss: bool = True,
        with_logprob: bool = True,
        with_token_id: bool = True,
        scalars: Optional[Sequence[Dict[str, Any]]] = None,
        **common: Any,
    ) -> List[Dict[str, Any]]:
        """Compute and write the records of a batch.

        ``logits``/``labels``/``mask`` as in :func:`per_token_loss` (``mask`` on the labels in input
        coordinates).  ``ref_logits`` adds ``kl``; ``grad_norms`` (per example, per scored token,
        e.g. from :func:`per_token_grad_norms`) adds ``grad_norm``; ``vocab`` (id -> text) adds
        ``token``; ``segments`` (per example, per scored token) adds ``segment``.  ``scalars`` gives
        per-example scalar fields, ``common`` scalar fields shared by the batch.  ``with_loss``,
        ``with_logprob`` and ``with_token_id`` (default True) keep those fields; a file of gradient
        norms alone (``with_loss=False, with_logprob=False`` and ``grad_norms``) is joined with the
        losses by key (METRICS.md 1.3).  ``ref_logits`` None leaves ``kl`` out of the records (not
        measured at this checkpoint, METRICS.md 1.2).
        """
        with torch.no_grad():
            lp, m = per_token_logprobs(logits.detach(), labels, mask)
            kl = per_token_kl(logits.detach(), ref_logits.detach()) if ref_logits is not None else None
        lps = scored_values(lp, m)
        kls = scored_values(kl, m) if kl is not None else None
        ids = scored_values(labels[:, 1:], m)
        out = []
        for b, ex in enumerate(examples):
            arrays: Dict[str, Any] = {}
            if kls is not None:
                arrays["kl"] = kls[b]
            if grad_norms is not None:
                arrays["grad_norm"] = list(grad_norms[b])
            if with_logprob:
                arrays["logprob"] = lps[b]
            if vocab is not None:
                arrays["token"] = [vocab[int(i)] for i in ids[b]]
            if with_token_id:
                arrays["token_id"] = [int(i) for i in ids[b]]
            if segments is not None:
                arrays["segment"] = list(segments[b])
            sc = dict(common)
            if scalars is not None:
                sc.update(scalars[b])
            loss = [-x for x in lps[b]] if with_loss else None
            out.append(self.log(run, step, ex, loss, arrays=arrays, **sc))
        return out
