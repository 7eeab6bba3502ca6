"""aligndepth_lab: the Python side of aligndepth.

* :mod:`aligndepth_lab.logger` -- per-token metrics from logits (loss, KL to a reference model,
  per-token gradient norm) and a crash-safe writer of the wide JSON Lines token-log layout.
* :mod:`aligndepth_lab.convert` -- converters from the published shallow-alignment code's formats
  (``torch.save`` arrays with sentinels, judge result files) to aligndepth's formats.
* :mod:`aligndepth_lab.lab` and friends -- a tiny causal transformer trained from scratch on a
  synthetic language, aligned with three recipes, logged and attacked.

Command line: ``PYTHONPATH=lab /usr/bin/python3 -m aligndepth_lab --help``.
"""

__version__ = "0.1.0"
