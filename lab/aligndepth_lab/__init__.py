"""aligndepth_lab: the Python side of aligndepth.

* :mod:`aligndepth_lab.logger` -- per-token metrics from logits (loss, KL to a reference model,
  per-token gradient norm) and a crash-safe writer of the wide JSON Lines token-log layout.
* :mod:`aligndepth_lab.hf` -- a Hugging Face ``TrainerCallback`` around the logger (transformers is
  imported only when the callback is made; not exercised against transformers by the tests here).
* :mod:`aligndepth_lab.convert` -- ``torch.save`` log-probs and logits of the published
  shallow-alignment code (sentinels 1000 / 10086) to token logs.
* :mod:`aligndepth_lab.gradnorm` -- the published per-token gradient-magnitude dump to token logs
  with ``grad_norm``.
* :mod:`aligndepth_lab.judge` -- judge result files to attack results, with the judge's scale.
* :mod:`aligndepth_lab.errors` -- the one-line problem reports of the command line.
* :mod:`aligndepth_lab.lab` and friends -- a tiny causal transformer trained from scratch on a
  synthetic language, aligned with three recipes, logged and attacked.

Command line: ``aligndepth-lab --help`` once installed (``pip install ./lab``), or
``PYTHONPATH=lab /usr/bin/python3 -m aligndepth_lab --help`` from a checkout.
"""

__version__ = "0.1.0"
