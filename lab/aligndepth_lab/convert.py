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

2. Judge result files (JSON Lines, one object per answer: ``{"question", "answer", "score"}`` or
   ``{"idx", "score"}``) become attack-result records
   ``{"run", "attack", "example", <condition fields>, "score"}`` (METRICS.md section 2); the
   example id is ``idx`` when present, else the 0-based line number.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import torch

from .logger import JsonlAppender, TokenLogger

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


def detect_kind(obj) -> str:
    """'logprobs' or 'logits', from the sentinel values and the shapes."""
    def walk(o):
        if isinstance(o, dict):
            for v in o.values():
                yield from walk(v)
        elif isinstance(o, (list, tuple)) and not _is_numeric_nest(o):
            for v in o:
                yield from walk(v)
        else:
            yield _to_tensor(o)

    dims = set()
    for t in walk(obj):
        t = t.float()
        if (t == LOGITS_SENTINEL).any():
            return "logits"
        if (t == LOGPROB_SENTINEL).any():
            return "logprobs"
        dims.add(t.dim())
    if dims == {1}:
        return "logprobs"
    if dims == {3}:
        return "logits"
    raise ValueError("cannot tell log-probs from logits: pass kind='logprobs' or kind='logits'")


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


def convert_torch_file(
    path: str,
    out: str,
    run: str,
    step: int,
    *,
    kind: Optional[str] = None,
    ref_path: Optional[str] = None,
    token_ids_path: Optional[str] = None,
    example_prefix: str = "",
    scalars: Optional[Dict[str, Any]] = None,
) -> int:
    """Convert one ``torch.save`` file and append the records to ``out``; returns the count."""
    data = torch.load(path, map_location="cpu")
    ref = torch.load(ref_path, map_location="cpu") if ref_path else None
    tids = torch.load(token_ids_path, map_location="cpu") if token_ids_path else None
    recs = torch_to_token_records(
        data, run, step, kind=kind, ref=ref, token_ids=tids, example_prefix=example_prefix, scalars=scalars
    )
    with TokenLogger(out) as log:
        for r in recs:
            arrays = {k: v for k, v in r.items() if isinstance(v, list) and k != "loss"}
            sc = {k: v for k, v in r.items() if not isinstance(v, list) and k not in ("run", "step", "example")}
            log.log(r["run"], r["step"], r["example"], r["loss"], arrays=arrays, **sc)
    return len(recs)


# ----------------------------------------------------------------------------------------------
# judge files
# ----------------------------------------------------------------------------------------------


def parse_value(s: str) -> Any:
    """'5' -> 5, '0.5' -> 0.5, 'true' -> True, anything else stays a string."""
    if re.fullmatch(r"[+-]?\d+", s):
        return int(s)
    try:
        f = float(s)
        if math.isfinite(f):
            return f
    except ValueError:
        pass
    if s.lower() in ("true", "false"):
        return s.lower() == "true"
    return s


def judge_to_attack_records(
    lines: Iterable[str],
    run: str,
    attack: str,
    conditions: Optional[Dict[str, Any]] = None,
    *,
    keep_text: bool = False,
) -> List[Dict[str, Any]]:
    """Attack-result records from the lines of a judge file (see module docstring)."""
    out = []
    seen = set()
    n = 0
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        obj = json.loads(line)
        if "score" not in obj:
            raise ValueError(f"line {lineno}: no 'score' field")
        score = obj["score"]
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise ValueError(f"line {lineno}: score {score!r} is not a finite number")
        ex = obj["idx"] if "idx" in obj else n
        if ex in seen:
            raise ValueError(f"line {lineno}: example {ex!r} appears twice")
        seen.add(ex)
        rec = {"run": run, "attack": attack, "example": ex}
        for k, v in (conditions or {}).items():
            rec[k] = v
        rec["score"] = score
        if keep_text:
            for k in ("question", "answer"):
                if k in obj:
                    rec[k] = obj[k]
        out.append(rec)
        n += 1
    return out


def conditions_from_name(path: str, pattern: Optional[str]) -> Dict[str, Any]:
    """Named groups of ``pattern`` searched in the file's base name, e.g. ``prefill_(?P<k>\\d+)``."""
    if not pattern:
        return {}
    m = re.search(pattern, os.path.basename(path))
    if not m:
        raise ValueError(f"pattern {pattern!r} does not match {os.path.basename(path)!r}")
    return {k: parse_value(v) for k, v in m.groupdict().items() if v is not None}


def convert_judge_file(
    path: str,
    out: str,
    run: str,
    attack: str,
    conditions: Optional[Dict[str, Any]] = None,
    *,
    pattern: Optional[str] = None,
    keep_text: bool = False,
) -> int:
    cond = conditions_from_name(path, pattern)
    cond.update(conditions or {})
    with open(path, encoding="utf-8") as f:
        recs = judge_to_attack_records(f, run, attack, cond, keep_text=keep_text)
    with JsonlAppender(out) as w:
        for r in recs:
            w.write(r)
    return len(recs)
