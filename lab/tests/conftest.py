import os
import subprocess
import sys

import pytest

LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if LAB not in sys.path:
    sys.path.insert(0, LAB)


@pytest.fixture
def cli(capsys):
    """Runs ``aligndepth_lab.__main__.main(args)`` in this process; returns (exit code, stdout, stderr).

    argparse's own usage errors end in SystemExit: its code is returned like main's.
    """
    from aligndepth_lab.__main__ import main

    def run(*args):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def run_module(*args, env=None, cwd=None):
    """``python -m aligndepth_lab ARGS`` in a child process, as a user runs it."""
    e = dict(os.environ, PYTHONPATH=LAB)
    e.pop("ALIGNDEPTH_DEBUG", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "aligndepth_lab", *[str(a) for a in args]], env=e, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def one_error_line(err: str) -> str:
    """The single line of stderr; fails when there are more, or a traceback."""
    assert "Traceback" not in err, err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    return lines[0]
