"""Converters from the published shallow-alignment code's output formats to aligndepth's formats.

1. ``torch.save`` files of per-token arrays (the published trainer's ``get_batch_logps``):

   * **log-probs**: per example a 1-D array over the (padded) sequence; entries that are masked
     (prompt, padding) hold the sentinel **1000**, scored entries hold log p(token) <= 0.
   * **logits**: per example a 2-D array ``[L, vocab]`` of the scored positions' logits; rows past
     the example's scored length hold the sentinel **10086** in every entry.

   The file may hold one tensor (``[N, L]`` / ``[N, L, V]``), a list of per-example arrays, or a
   list of batches (tensors with a leading batch dimension); numpy arrays and nested lists work too.
   Sentinel entries are dropped and the remaining entries of an example are numbered 0, 1, ... in
   order: position 0 is the first scored token.  Log-probs become ``loss = -logprob`` (``logprob``
   is kept).  Logits need the scored tokens' ids (``token_ids``) to give a loss; with reference
   logits they also give ``kl`` = KL(p_model || p_ref) per position.

   A third kind, the published per-token **gradient-magnitude** dump (2-D arrays ``[max_len,
   n_blocks + 1]`` per example, zero rows where no token is scored, no sentinel), is recognised
   and converted by :mod:`aligndepth_lab.gradnorm` (``kind="gradnorm"``).

   Problems name the file and the example (:class:`~aligndepth_lab.errors.InputError`).

2. Judge result files: :mod:`aligndepth_lab.judge` (its names stay importable from here).
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import torch

from .errors import InputError, UsageError
from .judge import (  # noqa: F401  (judge files: see judge.py; these names stay importable from here)
    JudgeScale,
    conditions_from_name,
    convert_judge_files,
    judge_to_attack_records,
    parse_value,
)
from .logger import TokenLogger

LOGPROB_SENTINEL = 1000.0
LOGITS_SENTINEL = 10086.0


def _to_tensor(x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    try:
        import numpy as np  # noqa: F401

        if type(x).__module__ == "numpy":
            return torch.from_numpy(x)
    except ImportError:  # pragma: no cover
        pass
    return torch.tensor(x)


def _examples(obj, kind: str) -> List[torch.Tensor]:
    """Flatten a saved object into per-example tensors (1-D for logprobs, 2-D for logits)."""
    per_ex_dim = 1 if kind == "logprobs" else 2
    if isinstance(obj, dict):
        for key in ("full_logps", "logps", "logits", "full_logits", "data"):
            if key in obj:
                return _examples(obj[key], kind)
        raise ValueError(f"dict without a known key: {sorted(obj)}")
    if isinstance(obj, (list, tuple)):
        out: List[torch.Tensor] = []
        if obj and all(isinstance(v, (int, float)) for v in obj):
            return [_to_tensor(obj).float()]
        for item in obj:
            t = _to_tensor(item) if not isinstance(item, (list, tuple)) or _is_numeric_nest(item) else None
            if t is None:
                out.extend(_examples(item, kind))
                continue
            t = t.float()
            if t.dim() == per_ex_dim:
                out.append(t)
            elif t.dim() == per_ex_dim + 1:
                out.extend(list(t))
            else:
                raise ValueError(f"{kind}: unexpected array of shape {tuple(t.shape)}")
        return out
    t = _to_tensor(obj).float()
    if t.dim() == per_ex_dim:
        return [t]
    if t.dim() == per_ex_dim + 1:
        return list(t)
    raise ValueError(f"{kind}: unexpected array of shape {tuple(t.shape)}")


def _is_numeric_nest(x) -> bool:
    while isinstance(x, (list, tuple)):
        if not x:
            return True
        x = x[0]
    return isinstance(x, (int, float))


def _leaves(o):
    """The numeric arrays inside a loaded object (dict values, list items), as tensors."""
    if isinstance(o, dict):
        for v in o.values():
            yield from _leaves(v)
    elif isinstance(o, (list, tuple)) and not _is_numeric_nest(o):
        for v in o:
            yield from _leaves(v)
    else:
        yield _to_tensor(o)


def describe(obj) -> str:
    """A short account of a loaded object's arrays, for messages: '2 arrays of shape [12, 4]'."""
    try:
        shapes = [list(t.shape) for t in _leaves(obj)]
    except (TypeError, ValueError, RuntimeError):
        return f"a {type(obj).__name__} that holds no numeric arrays"
    if not shapes:
        return "no arrays"
    distinct = []
    for s in shapes:
        if s not in distinct:
            distinct.append(s)
    kinds = ", ".join(str(s) for s in distinct[:3]) + (", ..." if len(distinct) > 3 else "")
    return f"{len(shapes)} array{'s' if len(shapes) > 1 else ''} of shape {kinds}"


def detect_kind(obj) -> str:
    """'logprobs', 'logits' or 'gradnorm', from the sentinel values and the shapes.

    A sentinel 10086 means logits, 1000 log-probs; without a sentinel, 1-D arrays are log-probs,
    2-D (or batched 3-D) arrays that are finite and >= 0 everywhere a gradient-magnitude dump
    (:mod:`aligndepth_lab.gradnorm`), other 3-D ones a batch of logits.  Raises ValueError
    describing what it met otherwise.
    """
    try:
        tensors = [t.float() for t in _leaves(obj)]
    except (TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"holds no numeric arrays ({type(obj).__name__}: {e})") from None
    if not tensors:
        raise ValueError("holds no arrays")
    for t in tensors:
        if (t == LOGITS_SENTINEL).any():
            return "logits"
        if (t == LOGPROB_SENTINEL).any():
            return "logprobs"
    dims = {t.dim() for t in tensors}
    if dims == {1}:
        return "logprobs"
    from .gradnorm import looks_like_gradnorm

    per_example = [x for t in tensors for x in (list(t) if t.dim() == 3 else [t])]
    if dims <= {2, 3} and looks_like_gradnorm(per_example):
        return "gradnorm"  # logits are never all >= 0
    if dims == {3}:
        return "logits"
    raise ValueError(f"{describe(obj)}, without the sentinel 1000 (log-probs) or 10086 (logits) and not a "
                     "gradient-magnitude dump (2-D arrays >= 0): cannot tell the format; pass --kind")


def logprob_arrays(obj) -> List[List[float]]:
    """Per example, the scored log-probs (sentinel 1000 dropped), position 0 first."""
    out = []
    for i, t in enumerate(_examples(obj, "logprobs")):
        keep = t != LOGPROB_SENTINEL
        vals = t[keep]
        if vals.numel() and not torch.isfinite(vals).all():
            raise ValueError(f"example {i}: non-finite log-prob")
        if vals.numel() and (vals > 1e-4).any():
            raise ValueError(f"example {i}: positive log-prob {float(vals.max())} that is not the sentinel 1000")
        out.append([min(0.0, float(v)) for v in vals])
    return out


def logit_arrays(obj) -> List[torch.Tensor]:
    """Per example, the logits rows ``[L_i, vocab]`` that are not sentinel rows."""
    out = []
    for t in _examples(obj, "logits"):
        sentinel_row = (t == LOGITS_SENTINEL).all(dim=-1)
        out.append(t[~sentinel_row])
    return out


def torch_to_token_records(
    data,
    run: str,
    step: int,
    *,
    kind: Optional[str] = None,
    ref=None,
    token_ids=None,
    example_prefix: str = "",
    first_example: int = 0,
    scalars: Optional[Dict[str, Any]] = None,
) -> List[Dict[str, Any]]:
    """Records of the wide layout from a loaded ``torch.save`` object (see module docstring).

    ``kind``: 'logprobs' or 'logits' (auto-detected when None).  ``ref``: the reference model's
    array in the same format (log-probs -> ``ref_logprob``; logits -> ``kl``).  ``token_ids``: per
    example the scored tokens' ids (sentinel-free, or -100/sentinel padded), needed for logits.
    """
    kind = kind or detect_kind(data)
    recs: List[Dict[str, Any]] = []
    if kind == "logprobs":
        lps = logprob_arrays(data)
        ref_lps = logprob_arrays(ref) if ref is not None else None
        if ref_lps is not None and len(ref_lps) != len(lps):
            raise ValueError(f"{len(lps)} examples but {len(ref_lps)} in the reference")
        for i, lp in enumerate(lps):
            rec = {"loss": [-x if x != 0 else 0.0 for x in lp], "logprob": lp}
            if ref_lps is not None:
                if len(ref_lps[i]) != len(lp):
                    raise ValueError(f"example {i}: {len(lp)} scored tokens, {len(ref_lps[i])} in the reference")
                rec["ref_logprob"] = ref_lps[i]
            recs.append(rec)
    elif kind == "logits":
        if token_ids is None:
            raise ValueError("logits alone give no loss: pass the scored token ids (token_ids / --token-ids)")
        rows = logit_arrays(data)
        ids = _token_id_arrays(token_ids)
        if len(ids) != len(rows):
            raise ValueError(f"{len(rows)} examples of logits but {len(ids)} of token ids")
        ref_rows = logit_arrays(ref) if ref is not None else None
        for i, lg in enumerate(rows):
            tid = ids[i][: lg.shape[0]]
            if len(tid) < lg.shape[0]:
                lg = lg[: len(tid)]
            lsm = torch.log_softmax(lg.double(), -1)
            lp = lsm.gather(-1, torch.tensor(tid, dtype=torch.long).unsqueeze(-1)).squeeze(-1)
            rec = {"loss": [float(-x) for x in lp], "logprob": [float(x) for x in lp], "token_id": tid}
            if ref_rows is not None:
                rl = ref_rows[i][: lg.shape[0]]
                if rl.shape != lg.shape:
                    raise ValueError(f"example {i}: logits {tuple(lg.shape)} vs reference {tuple(rl.shape)}")
                lq = torch.log_softmax(rl.double(), -1)
                kl = (lsm.exp() * (lsm - lq)).sum(-1).clamp_min(0.0)
                rec["kl"] = [float(x) for x in kl]
            recs.append(rec)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    out = []
    for i, rec in enumerate(recs):
        ex: Union[str, int] = f"{example_prefix}{first_example + i}" if example_prefix else first_example + i
        full = {"run": run, "step": int(step), "example": ex}
        full.update(scalars or {})
        full.update(rec)
        out.append(full)
    return out


def _token_id_arrays(obj) -> List[List[int]]:
    out = []
    for t in _examples(obj, "logprobs"):
        keep = (t != -100) & (t != LOGPROB_SENTINEL) & (t != LOGITS_SENTINEL)
        out.append([int(v) for v in t[keep]])
    return out


def load_torch(path: str, role: str = "input"):
    """``torch.load`` on the CPU; a missing or unreadable file is an :class:`InputError` naming it."""
    try:
        return torch.load(path, map_location="cpu")
    except FileNotFoundError:
        raise InputError.at(path, f"no such file ({role})", reason="unreadable") from None
    except IsADirectoryError:
        raise InputError.at(path, f"is a directory, not a torch.save file ({role})", reason="unreadable") from None
    except PermissionError:
        raise InputError.at(path, f"cannot read it: permission denied ({role})", reason="unreadable") from None
    except Exception as e:  # torch raises UnpicklingError, RuntimeError, EOFError, ... on a foreign file
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError.at(path, f"not a file written by torch.save ({role}): {first}", reason="unreadable") from None


def _located(path: str, fn, *args, **kw):
    """Calls ``fn``; a plain ValueError (a problem of this file's content) becomes an InputError naming ``path``."""
    try:
        return fn(*args, **kw)
    except (InputError, UsageError):
        raise
    except (ValueError, TypeError, IndexError, RuntimeError) as e:
        raise InputError.at(path, str(e) or type(e).__name__, reason="invalid-content") from None


def resolve_kind(data, path: str, kind: Optional[str] = None) -> str:
    """The kind of a loaded file: ``kind`` when given (checked against what the file looks like), else detected."""
    if kind is None:
        return _located(path, detect_kind, data)
    if kind not in ("logprobs", "logits", "gradnorm"):
        raise UsageError(f"--kind must be logprobs, logits or gradnorm, got {kind!r}")
    try:
        seen = detect_kind(data)
    except ValueError:
        seen = None
    if seen == "gradnorm" and kind != "gradnorm":
        raise UsageError(f"{path}: --kind {kind}, but the file looks like a per-token gradient-magnitude dump "
                         f"({describe(data)}, values >= 0, no sentinel): use --kind gradnorm (or leave --kind out)")
    if kind == "gradnorm" and seen in ("logprobs", "logits"):
        raise UsageError(f"{path}: --kind gradnorm, but the file holds {describe(data)} with the "
                         f"{'log-prob sentinel 1000' if seen == 'logprobs' else 'logits sentinel 10086'}: "
                         f"use --kind {seen} (or leave --kind out)")
    return kind


def convert_torch_file(
    path: str,
    out: str,
    run: str,
    step: int,
    *,
    kind: Optional[str] = None,
    ref_path: Optional[str] = None,
    token_ids_path: Optional[str] = None,
    logps_path: Optional[str] = None,
    scored_rows: Optional[str] = None,
    grad_column: int = -1,
    example_prefix: str = "",
    scalars: Optional[Dict[str, Any]] = None,
    notes: Optional[List[str]] = None,
) -> int:
    """Convert one ``torch.save`` file and append the records to ``out``; returns the count.

    ``kind``: 'logprobs', 'logits' or 'gradnorm' (default: recognised from the file).  For
    log-probs and logits see :func:`torch_to_token_records` (``ref_path``, ``token_ids_path``).  For
    a gradient-magnitude dump, ``scored_rows`` says where the scored rows come from: ``"logps"``
    (the matching log-prob dump ``logps_path``) or ``"nonzero"`` (see :mod:`aligndepth_lab.gradnorm`);
    ``grad_column`` picks the column (default the last).  What was recognised, matched and left out
    is appended to ``notes``.  Problems raise :class:`InputError` naming the file (nothing is
    written then); options that do not fit the file raise :class:`UsageError`.
    """
    data = load_torch(path)
    kind = resolve_kind(data, path, kind)
    if kind == "gradnorm":
        from .gradnorm import gradnorm_records

        if scored_rows is None and logps_path is not None:
            scored_rows = "logps"
        if scored_rows is None:
            raise UsageError(f"{path}: recognised a per-token gradient-magnitude dump ({describe(data)}, values >= 0, "
                             "zero rows where no token is scored): say which rows are scored, with --logps FILE "
                             "(the matching log-prob dump, sentinel 1000) or --nonzero-rows")
        if scored_rows == "logps" and logps_path is None:
            raise UsageError("--scored-rows logps needs --logps FILE")
        if scored_rows == "nonzero" and logps_path is not None:
            raise UsageError("--nonzero-rows and --logps exclude each other: choose one source of the scored rows")
        if ref_path or token_ids_path:
            raise UsageError(f"{path}: --ref and --token-ids are for log-probs and logits, not a gradient dump")
        logps = load_torch(logps_path, "the log-prob dump") if scored_rows == "logps" else None
        if logps is not None:
            lk = _located(logps_path, detect_kind, logps)
            if lk != "logprobs":
                raise InputError.at(logps_path, f"--logps expects the log-prob dump (sentinel 1000), but this "
                                    f"looks like {lk} ({describe(logps)})", reason="wrong-kind")
            _located(logps_path, logprob_arrays, logps)
        try:
            conv = gradnorm_records(data, run, step, scored=scored_rows, logps=logps, column=grad_column,
                                    example_prefix=example_prefix, scalars=scalars, grad_name=path,
                                    logps_name=logps_path or "the log-prob file")
        except ValueError as e:
            if isinstance(e, (InputError, UsageError)):
                raise
            msg = str(e)
            if "--grad-column" in msg:
                raise UsageError(msg) from None
            # about the gradient dump (the log-prob dump was checked on its own above)
            body = msg[len(path) + 2:] if msg.startswith(path + ": ") else msg
            raise InputError.at(path, body, reason="invalid-content") from None
        recs = conv.records
        if notes is not None:
            notes.extend(conv.notes)
    else:
        if logps_path or scored_rows:
            raise UsageError(f"{path}: --logps and --nonzero-rows are for a gradient-magnitude dump, not {kind}")
        ref = load_torch(ref_path, "--ref") if ref_path else None
        tids = load_torch(token_ids_path, "--token-ids") if token_ids_path else None
        if kind == "logits" and tids is None:
            raise UsageError(f"{path}: logits alone give no loss: pass the scored token ids with --token-ids FILE")
        # check each file on its own first, so that a problem names the file it is in
        _located(path, logprob_arrays if kind == "logprobs" else logit_arrays, data)
        if ref is not None:
            _located(ref_path, logprob_arrays if kind == "logprobs" else logit_arrays, ref)
        if tids is not None:
            _located(token_ids_path, _token_id_arrays, tids)
        recs = _located(path, torch_to_token_records, data, run, step, kind=kind, ref=ref, token_ids=tids,
                        example_prefix=example_prefix, scalars=scalars)
        if notes is not None:
            notes.append(f"{path}: {kind}, {len(recs)} examples")
    with TokenLogger(out) as log:
        for r in recs:
            metric = "loss" if "loss" in r else None
            arrays = {k: v for k, v in r.items() if isinstance(v, list) and k != metric}
            sc = {k: v for k, v in r.items() if not isinstance(v, list) and k not in ("run", "step", "example")}
            log.log(r["run"], r["step"], r["example"], r[metric] if metric else None, arrays=arrays, **sc)
    return len(recs)
