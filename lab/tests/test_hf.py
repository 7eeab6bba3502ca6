"""aligndepth_lab.hf: transformers is imported only when a callback is made.

transformers itself cannot be installed on these machines: the callback's code runs here against a
stand-in ``TrainerCallback`` base class and a tiny torch model, never against transformers.
"""
import json
import subprocess
import sys
import types
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from conftest import LAB


def _python(code):
    return subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": LAB, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def test_importing_the_package_does_not_import_transformers():
    r = _python("import sys, pkgutil, importlib, aligndepth_lab\n"
                "for m in pkgutil.iter_modules(aligndepth_lab.__path__):\n"
                "    if m.name != '__main__': importlib.import_module('aligndepth_lab.' + m.name)\n"
                "print(sorted(m.name for m in pkgutil.iter_modules(aligndepth_lab.__path__)))\n"
                "assert 'transformers' not in sys.modules, 'transformers imported'\n")
    assert r.returncode == 0, r.stderr
    assert "'hf'" in r.stdout


def test_callback_without_transformers_is_a_clear_error():
    # sys.modules[name] = None makes `import name` fail, as when the package is not installed
    r = _python("import sys\nsys.modules['transformers'] = None\n"
                "from aligndepth_lab.hf import aligndepth_callback\n"
                "try:\n    aligndepth_callback('x.jsonl', 'sft', {}, [])\n"
                "except ImportError as e:\n    print(e)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ("aligndepth_lab.hf.aligndepth_callback needs the transformers package, which is not "
                                "installed (pip install transformers). Without it, log from your own loop with "
                                "aligndepth_lab.logger.TokenLogger (lab/README.md)")


class _LM(torch.nn.Module):
    """A stand-in causal LM: model(input_ids=..., attention_mask=...).logits."""

    def __init__(self, seed, V=9):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.emb = torch.nn.Parameter(torch.randn(V, V, generator=g))

    def forward(self, input_ids, attention_mask=None):
        return SimpleNamespace(logits=self.emb[input_ids].cumsum(1))


def test_callback_logs_the_probes_at_every_save(tmp_path, monkeypatch):
    class TrainerCallback:  # the stand-in base class
        pass

    monkeypatch.setitem(sys.modules, "transformers", types.SimpleNamespace(TrainerCallback=TrainerCallback))
    from aligndepth_lab.hf import aligndepth_callback

    ids = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 1, 0]])
    probes = {"input_ids": ids, "attention_mask": torch.tensor([[1] * 5, [1, 1, 1, 1, 0]]),
              "response_mask": torch.tensor([[0, 0, 1, 1, 1], [0, 1, 1, 1, 0]], dtype=torch.bool)}
    model, base = _LM(0), _LM(1)
    path = tmp_path / "tokens.jsonl"
    cb = aligndepth_callback(str(path), "sft", probes, ["p0", "p1"], ref_model=base, split="refusal")
    assert isinstance(cb, TrainerCallback)
    model.train()
    for step in (0, 10):
        cb.on_save(None, SimpleNamespace(global_step=step), None, model=model)
        assert model.training  # put back in train mode
        with torch.no_grad():
            model.emb.add_(0.5)
    cb.on_train_end(None, None, None)
    recs = [json.loads(l) for l in path.read_text().splitlines()]
    assert [(r["step"], r["example"], r["split"]) for r in recs] == [(0, "p0", "refusal"), (0, "p1", "refusal"),
                                                                     (10, "p0", "refusal"), (10, "p1", "refusal")]
    with torch.no_grad():
        model.emb.sub_(1.0)  # back to step 0's weights
        logits = model(ids).logits
        ref = base(ids).logits
    for b, r in enumerate(recs[:2]):
        scored = probes["response_mask"][b, 1:]
        ce = F.cross_entropy(logits[b, :-1], ids[b, 1:], reduction="none")[scored]
        p = logits[b, :-1][scored].log_softmax(-1)
        q = ref[b, :-1][scored].log_softmax(-1)
        kl = (p.exp() * (p - q)).sum(-1)
        assert r["token_id"] == ids[b, 1:][scored].tolist()
        assert r["loss"] == pytest.approx(ce.tolist(), rel=1e-5)
        assert r["kl"] == pytest.approx(kl.tolist(), rel=1e-5)
