"""Token logs from a Hugging Face ``transformers.Trainer``: a callback that scores fixed probes.

**Not exercised against transformers by the tests here**: transformers cannot be installed on the
machines this project is tested on (no access to the Python package index).  The tests run the
callback's code against a stand-in ``TrainerCallback`` base class and a tiny PyTorch model, and
check that importing this module does not import transformers.  The plain training loop of
``lab/README.md`` (:class:`aligndepth_lab.logger.TokenLogger`) is the tested path.

transformers is imported only when a callback is made (:func:`aligndepth_callback`), so this module
imports without it.

Usage::

    from aligndepth_lab.hf import aligndepth_callback

    cb = aligndepth_callback("runs/sft-tokens.jsonl", "sft", probes, probe_ids, ref_model=base,
                             split="refusal")
    trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[cb])
    cb.on_save(args, trainer.state, trainer.control, model=model)   # step 0: the baseline
    trainer.train()

``probes`` are the tokenized probe sequences, made once: a dict of ``[batch, seq]`` tensors with
``input_ids``, optionally ``attention_mask``, and ``response_mask`` (true on the tokens to score,
normally the response; see :mod:`aligndepth_lab.logger` for the positions).  ``probe_ids`` names
them (one example id per row).  At every save (``on_save``) the callback scores the probes with the
model in eval mode and no gradient, and writes one record per probe: ``loss``, ``logprob``,
``token_id``, and ``kl`` (to ``ref_model``) when a reference model is given.  Score the probes in a
batch small enough for your memory.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Union

import torch

from .logger import TokenLogger

__all__ = ["log_probes", "aligndepth_callback"]


def log_probes(
    log: TokenLogger,
    run: str,
    step: int,
    model,
    probes: Dict[str, torch.Tensor],
    probe_ids: Sequence[Union[str, int]],
    ref_model=None,
    split: Optional[str] = None,
) -> None:
    """Scores ``probes`` with ``model`` (and ``ref_model`` for ``kl``) and writes one record per probe.

    ``model(**inputs)`` must return an object with ``.logits`` ``[batch, seq, vocab]`` (any Hugging
    Face causal LM does); ``inputs`` are the entries of ``probes`` other than ``response_mask``,
    moved to the model's device.  The model is put in eval mode and back in train mode if it was
    training.  Ends with :meth:`TokenLogger.checkpoint` (fsync).
    """
    if "input_ids" not in probes or "response_mask" not in probes:
        raise ValueError("probes needs 'input_ids' and 'response_mask' ([batch, seq] tensors)")
    if len(probe_ids) != probes["input_ids"].shape[0]:
        raise ValueError(f"{len(probe_ids)} probe ids for {probes['input_ids'].shape[0]} probes")
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            batch = {k: v.to(device) for k, v in probes.items() if k != "response_mask"}
            logits = model(**batch).logits
            ref = ref_model(**batch).logits if ref_model is not None else None
        extra: Dict[str, Any] = {"split": split} if split else {}
        log.log_batch(run, int(step), list(probe_ids), logits, batch["input_ids"],
                      probes["response_mask"].to(device), ref_logits=ref, **extra)
        log.checkpoint()
    finally:
        if was_training:
            model.train()


def aligndepth_callback(
    path: str,
    run: str,
    probes: Dict[str, torch.Tensor],
    probe_ids: Sequence[Union[str, int]],
    ref_model=None,
    split: Optional[str] = None,
):
    """A ``transformers.TrainerCallback`` that writes token logs of ``probes`` to ``path`` at every save.

    The step is ``state.global_step``.  ``on_train_end`` closes the file.  Raises ImportError with
    a plain message when transformers is not installed.  See the module doc (and its caveat: not
    exercised against transformers here).
    """
    try:
        from transformers import TrainerCallback
    except ImportError as e:
        raise ImportError(
            "aligndepth_lab.hf.aligndepth_callback needs the transformers package, which is not installed "
            "(pip install transformers). Without it, log from your own loop with "
            "aligndepth_lab.logger.TokenLogger (lab/README.md)") from e

    class AligndepthCallback(TrainerCallback):
        """Scores the probes at every save; see :func:`aligndepth_lab.hf.aligndepth_callback`."""

        def __init__(self):
            self.log = TokenLogger(path)

        def on_save(self, args, state, control, model=None, **kw):
            if model is None:
                raise ValueError("on_save was called without the model")
            log_probes(self.log, run, state.global_step, model, probes, probe_ids, ref_model=ref_model,
                       split=split)

        def on_train_end(self, args, state, control, **kw):
            self.log.close()

    return AligndepthCallback()
