"""Executes one notebook headless with nbconvert's ExecutePreprocessor (what `jupyter nbconvert
--to notebook --execute` runs), and never allows errors: a failing cell fails the run.

    python3 scripts/execute_notebook.py NOTEBOOK OUTPUT [--kernel tslab] [--timeout 900]

The kernel starts in the notebook's directory. On success, writes OUTPUT. On failure, prints the
failing cell with its error and stderr outputs (tslab reports errors on stderr, so nbconvert's own
message is empty), writes what ran to OUTPUT with `.failed.ipynb` in place of `.ipynb`, and exits 1.
"""
import argparse
import os
import sys

import nbformat
from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("output")
    ap.add_argument("--kernel", default="tslab")
    ap.add_argument("--timeout", type=int, default=900)
    args = ap.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    ep = ExecutePreprocessor(kernel_name=args.kernel, timeout=args.timeout)
    cwd = os.path.dirname(os.path.abspath(args.notebook))
    try:
        ep.preprocess(nb, {"metadata": {"path": cwd}})
    except CellExecutionError:
        failed = args.output[: -len(".ipynb")] + ".failed.ipynb" if args.output.endswith(".ipynb") else args.output + ".failed"
        nbformat.write(nb, failed)
        report_failure(nb, args.notebook, failed)
        return 1
    nbformat.write(nb, args.output)
    return 0


def report_failure(nb, notebook: str, failed: str) -> None:
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for index, cell in enumerate(nb.cells):
        problems = [o for o in cell.get("outputs", []) if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]
        if not problems:
            continue
        print(f"\n=== {notebook}: cell {index} failed ===", file=sys.stderr)
        print(cell.source, file=sys.stderr)
        print("--- error ---", file=sys.stderr)
        for o in problems:
            if o.output_type == "stream":
                print(o.text.rstrip(), file=sys.stderr)
            else:
                print(f"{o.ename}: {o.evalue}", file=sys.stderr)
                print("\n".join(o.get("traceback", [])), file=sys.stderr)
        break
    else:
        print(f"\n=== {notebook} failed (no error output; see the message above) ===", file=sys.stderr)
    print(f"(partial run of {len(code_cells)} code cells saved to {failed})", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
