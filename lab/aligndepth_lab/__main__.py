"""Command line of aligndepth_lab.

Run from the repository root with Debian's Python (it has torch)::

    PYTHONPATH=lab /usr/bin/python3 -m aligndepth_lab run --out data/          # the full lab
    PYTHONPATH=lab /usr/bin/python3 -m aligndepth_lab run --smoke --out /tmp/x  # < 1 minute
    PYTHONPATH=lab /usr/bin/python3 -m aligndepth_lab convert-torch IN.pt --run NAME --step N --out OUT.jsonl
    PYTHONPATH=lab /usr/bin/python3 -m aligndepth_lab convert-judge IN.jsonl --run NAME --attack prefill \
        --set k=5 --out OUT.jsonl
"""

from __future__ import annotations

import argparse
import sys


def _parse_sets(items):
    from .convert import parse_value

    out = {}
    for it in items or []:
        if "=" not in it:
            raise SystemExit(f"--set expects NAME=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = parse_value(v.strip())
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m aligndepth_lab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="train, log and attack the toy models; write the data files")
    r.add_argument("--out", required=True, help="output directory (files go to OUT/lab/)")
    r.add_argument("--smoke", action="store_true", help="tiny configuration, well under a minute")
    r.add_argument("--seed", type=int, default=None, help="override the master seed")
    r.add_argument("--threads", type=int, default=1, help="torch threads (default 1: on a shared 2-core machine a "
                   "second thread made training up to 9x slower; at most 2)")
    r.add_argument("--save-models", default=None, metavar="DIR", help="also save the models' state dicts here")
    r.add_argument("--no-gzip", action="store_true", help="write plain .jsonl instead of .jsonl.gz")
    r.add_argument("--jobs", type=int, default=1, help="worker processes (default 1; 2 on a free 2-core machine: "
                   "each job seeds itself, so the files are the same for any number of jobs)")
    r.add_argument("--probe-objects", choices=["heldout", "align"], default="heldout",
                   help="objects of the probe and attack prompts: held-out objects (default) or the alignment "
                        "objects; verbs and templates are held out either way")
    r.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="alignment seeds per recipe on the main base (default 3; smoke 2)")

    c = sub.add_parser("convert-torch", help="torch.save log-probs/logits (sentinels 1000/10086) -> token log")
    c.add_argument("input")
    c.add_argument("--run", required=True)
    c.add_argument("--step", type=int, required=True)
    c.add_argument("--out", required=True, help="JSON Lines file to append to")
    c.add_argument("--kind", choices=["logprobs", "logits"], default=None, help="default: auto-detect")
    c.add_argument("--ref", default=None, help="the reference model's file in the same format "
                   "(log-probs -> ref_logprob, logits -> kl)")
    c.add_argument("--token-ids", default=None, help="torch.save file with the scored token ids (for logits)")
    c.add_argument("--example-prefix", default="", help="example ids become PREFIX0, PREFIX1, ... (default 0, 1, ...)")
    c.add_argument("--set", action="append", metavar="NAME=VALUE", help="extra scalar field, e.g. split=harmful")

    j = sub.add_parser("convert-judge", help="judge results {question,answer,score}/{idx,score} -> attack results")
    j.add_argument("input", nargs="+")
    j.add_argument("--run", required=True)
    j.add_argument("--attack", required=True)
    j.add_argument("--out", required=True, help="JSON Lines file to append to")
    j.add_argument("--set", action="append", metavar="NAME=VALUE", help="condition field, e.g. k=5")
    j.add_argument("--pattern", default=None,
                   help=r"regex with named groups over each file's base name, e.g. 'prefill_(?P<k>\d+)'")
    j.add_argument("--keep-text", action="store_true", help="also copy question/answer")

    rp = sub.add_parser("report", help="markdown tables of the lab's own analysis from summary.json")
    rp.add_argument("summary", help="e.g. data/lab/summary.json")

    a = p.parse_args(argv)
    if a.cmd == "convert-torch":
        from .convert import convert_torch_file

        n = convert_torch_file(a.input, a.out, a.run, a.step, kind=a.kind, ref_path=a.ref,
                               token_ids_path=a.token_ids, example_prefix=a.example_prefix,
                               scalars=_parse_sets(a.set))
        print(f"wrote {n} records to {a.out}")
    elif a.cmd == "convert-judge":
        from .convert import convert_judge_file

        total = 0
        for path in a.input:
            total += convert_judge_file(path, a.out, a.run, a.attack, _parse_sets(a.set),
                                        pattern=a.pattern, keep_text=a.keep_text)
        print(f"wrote {total} records to {a.out}")
    elif a.cmd == "report":
        import json

        from .analysis import markdown_report

        with open(a.summary) as f:
            print(markdown_report(json.load(f)), end="")
    elif a.cmd == "run":
        from .lab import run_lab

        if a.jobs < 1 or (a.seeds is not None and a.seeds < 1):
            p.error("--jobs and --seeds must be at least 1")
        run_lab(a.out, smoke=a.smoke, seed=a.seed, threads=a.threads, gzip_out=not a.no_gzip,
                save_models=a.save_models, jobs=a.jobs, n_seeds=a.seeds,
                heldout_objects=a.probe_objects == "heldout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
