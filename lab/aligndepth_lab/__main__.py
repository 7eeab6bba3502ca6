"""Command line of aligndepth_lab (``aligndepth-lab`` once installed, or ``python -m aligndepth_lab``).

    aligndepth-lab run --out data/                      # the full lab
    aligndepth-lab run --smoke --out /tmp/x             # < 1 minute
    aligndepth-lab convert-torch IN.pt --run NAME --step N --out OUT.jsonl
    aligndepth-lab convert-torch gradnorm.pt --logps step0_logps.pt --run NAME --step 0 --out G.jsonl
    aligndepth-lab convert-judge IN.jsonl --run NAME --attack prefill --set k=5 --out OUT.jsonl
    aligndepth-lab report data/lab/summary.json

From a checkout without installing: ``PYTHONPATH=lab /usr/bin/python3 -m aligndepth_lab ...``.

Bad input prints one line per problem, naming the file, the line (or example) and the field, and
exits 1; options that do not fit exit 2. Set ALIGNDEPTH_DEBUG=1 to see a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from typing import List, Optional

from .errors import InputError, UsageError, format_problems

PROG = "aligndepth-lab"


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line (exit 2) instead of the usage block."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parse_sets(items) -> dict:
    from .judge import parse_value

    out = {}
    for it in items or []:
        if "=" not in it:
            raise UsageError(f"--set expects NAME=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        k = k.strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            raise UsageError(f"--set: {k!r} is not a field name (letters, digits, _)")
        out[k] = parse_value(v.strip())
    return out


def _check_out(path: str) -> None:
    if path.endswith(".gz"):
        raise UsageError(f"--out {path}: the writers append plain JSON Lines (appending to gzip is not crash-safe); "
                         "write .jsonl and compress it afterwards")
    if os.path.isdir(path):
        raise UsageError(f"--out {path} is a directory; give a file name")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="train, log and attack the toy models; write the data files")
    r.add_argument("--out", required=True, help="output directory (files go to OUT/lab/)")
    r.add_argument("--smoke", action="store_true", help="tiny configuration, well under a minute")
    r.add_argument("--seed", type=int, default=None, help="override the master seed")
    r.add_argument("--threads", type=int, default=1, choices=(1, 2), help="torch threads (default 1: on a shared "
                   "2-core machine a second thread made training up to 9x slower; at most 2)")
    r.add_argument("--save-models", default=None, metavar="DIR", help="also save the models' state dicts here")
    r.add_argument("--no-gzip", action="store_true", help="write plain .jsonl instead of .jsonl.gz")
    r.add_argument("--jobs", type=int, default=1, help="worker processes (default 1; 2 on a free 2-core machine: "
                   "each job seeds itself, so the files are the same for any number of jobs)")
    r.add_argument("--probe-objects", choices=["heldout", "align"], default="heldout",
                   help="objects of the probe and attack prompts: held-out objects (default) or the alignment "
                        "objects; verbs and templates are held out either way")
    r.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="alignment seeds per recipe on the main base (default 3; smoke 2)")

    c = sub.add_parser(
        "convert-torch",
        help="torch.save log-probs / logits / gradient-magnitude dump -> token log",
        description="Converts a torch.save file of the published shallow-alignment code to a token log "
                    "(wide JSON Lines, appended to --out). Recognised: log-probs (sentinel 1000 on unscored "
                    "entries) -> loss, logprob; logits (rows of 10086 past the scored length) -> loss, kl; "
                    "the per-token gradient-magnitude dump (per example [max_len, n_blocks + 1], zero rows "
                    "unscored, no sentinel) -> grad_norm, with the scored rows from --logps FILE or "
                    "--nonzero-rows.")
    c.add_argument("input")
    c.add_argument("--run", required=True)
    c.add_argument("--step", type=int, required=True)
    c.add_argument("--out", required=True, help="JSON Lines file to append to")
    c.add_argument("--kind", choices=["logprobs", "logits", "gradnorm"], default=None,
                   help="default: recognised from the sentinels and shapes")
    c.add_argument("--ref", default=None, help="the reference model's file in the same format "
                   "(log-probs -> ref_logprob, logits -> kl)")
    c.add_argument("--token-ids", default=None, help="torch.save file with the scored token ids (for logits)")
    rows = c.add_mutually_exclusive_group()
    rows.add_argument("--logps", default=None, metavar="FILE",
                      help="gradient dump: the matching log-prob dump (sentinel 1000) gives the scored rows")
    rows.add_argument("--nonzero-rows", action="store_true",
                      help="gradient dump: the scored rows are the non-zero rows (one contiguous span)")
    c.add_argument("--grad-column", type=int, default=-1, metavar="N",
                   help="gradient dump: the column that becomes grad_norm (default -1, the last: the norm over "
                        "the last blocks and the output head)")
    c.add_argument("--example-prefix", default="", help="example ids become PREFIX0, PREFIX1, ... (default 0, 1, ...)")
    c.add_argument("--set", action="append", metavar="NAME=VALUE", help="extra scalar field, e.g. split=harmful")

    j = sub.add_parser(
        "convert-judge",
        help="judge results {question,answer,score}/{idx,score} -> attack results",
        description="Converts judge files to attack results (METRICS.md 2), appended to --out. Every file "
                    "is checked before anything is written. A score outside --scale is invalid input, "
                    "unless it is the --not-judged value: those records are counted and kept with that "
                    "score, so that 'aligndepth attacks OUT --not-judged=VALUE' leaves them out of n and "
                    "counts them (without that option it refuses them).")
    j.add_argument("input", nargs="+")
    j.add_argument("--run", required=True)
    j.add_argument("--attack", required=True)
    j.add_argument("--out", required=True, help="JSON Lines file to append to")
    j.add_argument("--set", action="append", metavar="NAME=VALUE", help="condition field, e.g. k=5")
    j.add_argument("--pattern", "--name-pattern", dest="pattern", default=None,
                   help=r"regular expression with named groups (JavaScript syntax, as in the TypeScript CLI: "
                        r"'prefill_(?<k>\d+)'), searched in each file's base name; the groups become fields")
    j.add_argument("--scale", default="1:5", metavar="MIN:MAX",
                   help="the judge's score scale (default 1:5, the published experiments'; e.g. 0:1, 1:10)")
    j.add_argument("--not-judged", type=float, default=None, metavar="VALUE",
                   help="the score a judge writes when it could not judge (e.g. --not-judged=-1): such "
                        "records are counted and kept with that score (read the output with "
                        "'aligndepth attacks --not-judged=-1')")
    j.add_argument("--threshold", type=float, default=None,
                   help="harmful when score >= threshold (default: the top of the scale); only checked here "
                        "(warned about when no score or every score reaches it), applied by the loader")
    j.add_argument("--keep-text", action="store_true", help="also copy question/answer")

    rp = sub.add_parser("report", help="markdown tables of the lab's own analysis from summary.json")
    rp.add_argument("summary", help="e.g. data/lab/summary.json")
    return p


def _note(msg: str) -> None:
    print(f"note: {msg}", file=sys.stderr)


def _run(a) -> int:
    if a.cmd == "convert-torch":
        from .convert import convert_torch_file

        _check_out(a.out)
        if a.step < 0:
            raise UsageError(f"--step must be an integer >= 0, got {a.step}")
        if not a.run:
            raise UsageError("--run must not be empty")
        notes: List[str] = []
        n = convert_torch_file(a.input, a.out, a.run, a.step, kind=a.kind, ref_path=a.ref,
                               token_ids_path=a.token_ids, logps_path=a.logps,
                               scored_rows="nonzero" if a.nonzero_rows else None, grad_column=a.grad_column,
                               example_prefix=a.example_prefix, scalars=_parse_sets(a.set), notes=notes)
        for m in notes:
            _note(m)
        print(f"wrote {n} records to {a.out}")
    elif a.cmd == "convert-judge":
        from .judge import JudgeScale, convert_judge_files, parse_scale

        _check_out(a.out)
        if not a.run or not a.attack:
            raise UsageError("--run and --attack must not be empty")
        low, high = parse_scale(a.scale)
        scale = JudgeScale(low, high, not_judged=a.not_judged, threshold=a.threshold)
        res = convert_judge_files(a.input, a.out, a.run, a.attack, _parse_sets(a.set), pattern=a.pattern,
                                  scale=scale, keep_text=a.keep_text)
        for f in res.files:
            if f.not_judged_lines:
                shown = ", ".join(str(n) for n in f.not_judged_lines[:5])
                more = f" and {len(f.not_judged_lines) - 5} more" if len(f.not_judged_lines) > 5 else ""
                _note(f"{f.path}: {len(f.not_judged_lines)} records not judged (score {a.not_judged:g}, lines "
                      f"{shown}{more}): kept in the output with that score; read it with "
                      f"'aligndepth attacks {a.out} --not-judged={a.not_judged:g}' (left out of n, counted)")
        for w in res.warnings:
            print(f"warning: {w}", file=sys.stderr)
        nj = (f", {res.not_judged} of them not judged (score {a.not_judged:g}, kept)"
              if a.not_judged is not None else "")
        print(f"wrote {res.written} records to {a.out}{nj} (scale {scale.text}, threshold {scale.threshold:g})")
    elif a.cmd == "report":
        from .analysis import markdown_report

        try:
            with open(a.summary, encoding="utf-8") as f:
                summary = json.load(f)
        except json.JSONDecodeError as e:
            raise InputError.at(a.summary, f"not valid JSON ({e.msg} at column {e.colno})", line=e.lineno,
                                reason="invalid-json") from None
        try:
            text = markdown_report(summary)
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as e:
            what = f"field {e.args[0]!r} missing" if isinstance(e, KeyError) else str(e)
            raise InputError.at(a.summary, f"not a lab summary.json ({what}); it is written by "
                                f"'{PROG} run'", reason="not-a-summary") from None
        print(text, end="")
    elif a.cmd == "run":
        from .lab import run_lab

        if os.path.exists(a.out) and not os.path.isdir(a.out):
            raise UsageError(f"--out {a.out} is a file; give a directory")
        if a.jobs < 1 or (a.seeds is not None and a.seeds < 1):
            raise UsageError("--jobs and --seeds must be at least 1")
        run_lab(a.out, smoke=a.smoke, seed=a.seed, threads=a.threads, gzip_out=not a.no_gzip,
                save_models=a.save_models, jobs=a.jobs, n_seeds=a.seeds,
                heldout_objects=a.probe_objects == "heldout")
    return 0


def _os_error(e: OSError) -> str:
    where = f"{e.filename}: " if getattr(e, "filename", None) else ""
    return f"{where}{e.strerror or e}"


def main(argv: Optional[List[str]] = None) -> int:
    """Runs one command; returns the exit code (0 ok, 1 invalid input, 2 usage, 3 internal error)."""
    a = build_parser().parse_args(argv)
    debug = bool(os.environ.get("ALIGNDEPTH_DEBUG"))
    with warnings.catch_warnings():
        if not debug:  # a warning is one line too (not Python's two, with the source line)
            warnings.showwarning = lambda message, *rest, **kw: print(f"warning: {message}", file=sys.stderr)
        return _main(a, debug)


def _main(a, debug: bool) -> int:
    try:
        return _run(a)
    except InputError as e:
        if debug:
            raise
        for line in format_problems(e.problems):
            print(f"error: {line}", file=sys.stderr)
        return 1
    except UsageError as e:
        if debug:
            raise
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if debug:
            raise
        print(f"error: {_os_error(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not the user's input: still one line unless debugging
        if debug:
            raise
        print(f"internal error: {type(e).__name__}: {e} (set ALIGNDEPTH_DEBUG=1 for the traceback; please "
              "report this)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
