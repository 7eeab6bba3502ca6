"""The published shallow-alignment code's per-token gradient-magnitude dump -> token logs with ``grad_norm``.

The dump (``torch.save`` of a list, one float array per example) has shape ``[max_len, n_blocks + 1]``
per example: row ``j`` is a token of the padded sequence, column ``c < n_blocks`` the L2 norm of the
gradient of that token's loss with respect to one block of parameters (in the published code the
transformer layers, then the output head), and the **last column** the norm with respect to the last
blocks and the output head together (the curve the paper plots).  Rows of tokens that were not
scored (prompt, padding) are all zeros; there is no sentinel.  The published loop also stops after
the first 50 scored tokens of an example, leaving the later scored rows at zero.

Which rows are scored, and so which row is position 0, comes from one of two sources (the user
chooses; METRICS.md 1.4):

* ``scored="logps"``: the matching log-prob dump (``get_batch_logps``' ``full_logps``: sentinel 1000
  on unscored rows), example by example in the same order.  Two layouts are recognised, for the
  whole file:

  - **aligned** (what the published ``compute_reference_log_probs`` writes): gradient row ``j`` is
    log-prob row ``j``; every non-zero gradient row must be a scored row.  Position ``p`` is the
    ``p``-th scored row.
  - **compacted** (scored tokens first): the non-zero gradient rows all lie in the first ``L`` rows,
    ``L`` the example's number of scored log-probs.  Position ``p`` is row ``p``.

  A zero row before the example's last non-zero row is a measured 0; zero rows after it are not
  measured (the 50-token stop): left out and counted.  The log-prob file may hold more examples
  than the gradient dump (the first ones are matched, the rest counted); fewer is an error.
* ``scored="nonzero"``: the non-zero rows, in order; position 0 is the first non-zero row.  They
  must be contiguous (one scored span); an exact zero gradient inside the span cannot be told
  from an unscored row, so a gap is an error (use the log-prob file instead).

Each example gives one record ``{"run", "step", "example", <scalars>, "grad_norm": [...]}``: only
the gradient norm (the log-probs of the same examples go in their own token log, converted from the
log-prob dump; METRICS.md 1.3 joins the two by key).  Examples without any non-zero row give no
record and are counted.  ``grad_norm`` is the chosen column (default: the last), in the dump's units
(an L2 norm of a gradient of a loss in nats).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import torch

LOGPROB_SENTINEL = 1000.0
LOGITS_SENTINEL = 10086.0


def _to_tensor(x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    if type(x).__module__ == "numpy":
        return torch.from_numpy(x)
    return torch.tensor(x)


def gradnorm_arrays(obj) -> List[torch.Tensor]:
    """Per example, the ``[max_len, n_blocks + 1]`` array of a gradient-magnitude dump.

    Accepts a list of per-example 2-D arrays (the published format), a list of batches
    (``[batch, max_len, C]``), or one 3-D tensor.  Raises ValueError naming the shape it met.
    """
    items = obj if isinstance(obj, (list, tuple)) else [obj]
    out: List[torch.Tensor] = []
    for i, item in enumerate(items):
        try:
            t = _to_tensor(item).double()
        except (TypeError, ValueError, RuntimeError) as e:
            raise ValueError(f"item {i}: not a numeric array ({type(item).__name__}: {e})") from None
        if t.dim() == 2:
            out.append(t)
        elif t.dim() == 3:
            out.extend(list(t))
        else:
            raise ValueError(f"item {i}: an array of shape {list(t.shape)}, expected [max_len, n_blocks + 1] "
                             "per example (or a batch [batch, max_len, n_blocks + 1])")
    if not out:
        raise ValueError("holds no examples")
    cols = {t.shape[1] for t in out}
    if len(cols) != 1:
        raise ValueError(f"examples with different numbers of columns {sorted(cols)}")
    return out


def looks_like_gradnorm(tensors: Sequence[torch.Tensor]) -> bool:
    """2-D per-example arrays, finite, all >= 0, no sentinel: the shape of a gradient-magnitude dump."""
    if not tensors or any(t.dim() != 2 for t in tensors):
        return False
    for t in tensors:
        t = t.double()
        if not torch.isfinite(t).all() or (t < 0).any():
            return False
        if (t == LOGITS_SENTINEL).any() or (t == LOGPROB_SENTINEL).any():
            return False
    return True


@dataclass
class GradnormConversion:
    """Records of a gradient-magnitude dump, with what was matched and left out."""

    records: List[Dict[str, Any]]
    examples: int
    shape: List[int]
    column: int
    #: 'aligned', 'compacted' or 'nonzero'
    layout: str
    #: examples without any non-zero row (no record)
    empty_examples: int = 0
    #: scored rows after an example's last non-zero row (not measured), over all examples
    unmeasured_rows: int = 0
    #: examples of the log-prob file beyond the gradient dump's
    extra_logp_examples: int = 0
    notes: List[str] = field(default_factory=list)


def _nonzero_rows(t: torch.Tensor) -> List[int]:
    return [int(i) for i in torch.nonzero((t != 0).any(dim=1)).flatten()]


def _spans(rows: Sequence[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    out, start = [], None
    for i, r in enumerate(rows):
        if start is None:
            start = r
        if i + 1 == len(rows) or rows[i + 1] != r + 1:
            out.append(str(start) if start == r else f"{start}-{r}")
            start = None
    return ", ".join(out) if out else "none"


def gradnorm_records(
    grad,
    run: str,
    step: int,
    *,
    scored: str,
    logps=None,
    column: int = -1,
    example_prefix: str = "",
    scalars: Optional[Dict[str, Any]] = None,
    grad_name: str = "the gradient dump",
    logps_name: str = "the log-prob file",
) -> GradnormConversion:
    """Token-log records with ``grad_norm`` from a loaded gradient-magnitude dump (module doc).

    ``scored``: ``"logps"`` (then ``logps`` is the loaded log-prob dump) or ``"nonzero"``.
    ``column``: which column becomes ``grad_norm`` (negative counts from the end; default the last).
    ``grad_name`` / ``logps_name`` name the inputs in error messages.  Raises ValueError (with the
    example and row) when the files do not fit together or hold an invalid value.
    """
    if scored not in ("logps", "nonzero"):
        raise ValueError(f"scored must be 'logps' or 'nonzero', got {scored!r}")
    if scored == "logps" and logps is None:
        raise ValueError("scored='logps' needs the matching log-prob dump (logps=...)")
    arrays = gradnorm_arrays(grad)
    ncol = arrays[0].shape[1]
    if not -ncol <= column < ncol:
        raise ValueError(f"{grad_name} has {ncol} columns: --grad-column {column} does not exist")
    col = column % ncol
    shape = [len(arrays)] + list(arrays[0].shape) if len({t.shape[0] for t in arrays}) == 1 else [len(arrays), -1, ncol]
    for i, t in enumerate(arrays):
        if not torch.isfinite(t).all():
            j = int(torch.nonzero(~torch.isfinite(t).all(dim=1))[0])
            raise ValueError(f"{grad_name}: example {i}, row {j}: a value that is not finite")
        if (t < 0).any():
            j = int(torch.nonzero((t < 0).any(dim=1))[0])
            raise ValueError(f"{grad_name}: example {i}, row {j}: a negative value ({float(t[j].min())}), "
                             "which a gradient norm cannot be")
    nonzero = [_nonzero_rows(t) for t in arrays]
    conv = GradnormConversion([], len(arrays), shape, col, scored if scored == "nonzero" else "")
    rows_of: List[List[int]] = []
    if scored == "nonzero":
        for i, nz in enumerate(nonzero):
            if nz and nz != list(range(nz[0], nz[-1] + 1)):
                raise ValueError(f"{grad_name}: example {i}: non-zero rows {_spans(nz)} with zero rows between "
                                 "them: not one scored span (a zero inside the span cannot be told from an "
                                 "unscored row; take the scored rows from the log-prob file instead)")
            rows_of.append(nz)
    else:
        from .convert import _examples  # the log-prob dump's per-example 1-D arrays

        lp = _examples(logps, "logprobs")
        if len(lp) < len(arrays):
            raise ValueError(f"{grad_name}: {len(arrays)} examples, but {logps_name} holds only {len(lp)}: "
                             "not the matching dumps")
        conv.extra_logp_examples = len(lp) - len(arrays)
        scored_rows = [[int(j) for j in torch.nonzero(t != LOGPROB_SENTINEL).flatten()] for t in lp[: len(arrays)]]
        aligned_bad = compact_bad = None
        for i, (t, nz, sr) in enumerate(zip(arrays, nonzero, scored_rows)):
            if aligned_bad is None:
                srs = set(sr)
                outside = [j for j in nz if j not in srs] if lp[i].shape[0] == t.shape[0] else nz
                if outside:
                    aligned_bad = (i, outside, sr)
            if compact_bad is None and nz and nz[-1] >= len(sr):
                compact_bad = (i, nz, sr)
        if aligned_bad is None:
            conv.layout = "aligned"
            rows_of = scored_rows
        elif compact_bad is None:
            conv.layout = "compacted"
            rows_of = [list(range(len(sr))) for sr in scored_rows]
        else:
            i, outside, sr = aligned_bad
            raise ValueError(
                f"{grad_name}: example {i}: non-zero rows {_spans(nonzero[i])}, but {logps_name} scores rows "
                f"{_spans(sr)} ({len(sr)} tokens): neither the same rows nor the first {len(sr)} rows; "
                "the two files do not match")
        for i, (t, nz) in enumerate(zip(arrays, nonzero)):
            rows = rows_of[i]
            if rows and rows[-1] >= t.shape[0]:
                raise ValueError(f"{grad_name}: example {i}: {logps_name} scores {len(rows)} tokens but the "
                                 f"gradient array has only {t.shape[0]} rows")
    for i, (t, rows) in enumerate(zip(arrays, rows_of)):
        nzset = set(nonzero[i])
        last = max((p for p, j in enumerate(rows) if j in nzset), default=-1)
        if last < 0:
            conv.empty_examples += 1
            continue
        conv.unmeasured_rows += len(rows) - (last + 1)
        values = [float(t[j, col]) for j in rows[: last + 1]]
        ex: Union[str, int] = f"{example_prefix}{i}" if example_prefix else i
        rec: Dict[str, Any] = {"run": run, "step": int(step), "example": ex}
        rec.update(scalars or {})
        rec["grad_norm"] = values
        conv.records.append(rec)
    how = {"aligned": f"the scored rows of {logps_name} (same rows)",
           "compacted": f"the first rows, as many as {logps_name} scores (scored tokens first)",
           "nonzero": "its non-zero rows"}[conv.layout]
    conv.notes.append(f"{grad_name}: recognised a per-token gradient-magnitude dump, {len(arrays)} examples of "
                      f"[{shape[1] if shape[1] >= 0 else 'max_len'}, {ncol}] (no sentinel, zero rows unscored); "
                      f"grad_norm = column {col} of {ncol}{' (the last)' if col == ncol - 1 else ''}; "
                      f"positions from {how}")
    if conv.empty_examples:
        conv.notes.append(f"{conv.empty_examples} example{'s have' if conv.empty_examples > 1 else ' has'} no non-zero "
                          "gradient row: no record written for them")
    if conv.unmeasured_rows:
        conv.notes.append(f"{conv.unmeasured_rows} scored tokens after an example's last non-zero gradient row "
                          "were not measured (the published loop stops after 50 per example): left out")
    if conv.extra_logp_examples:
        conv.notes.append(f"{logps_name} holds {conv.extra_logp_examples} more example"
                          f"{'s' if conv.extra_logp_examples > 1 else ''} than {grad_name}: the "
                          f"first {len(arrays)} were matched by order; the others have no gradient norms")
    return conv
