"""`pip install ./lab` into a fresh virtual environment, offline, gives the console command."""
import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from conftest import LAB, one_error_line

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ensurepip") is None,
    reason="python3-venv is not installed (no ensurepip): cannot make a virtual environment with pip "
           "(Debian: apt-get install python3-venv; scripts/setup.sh --tests installs it)")


def test_pip_install_into_a_fresh_venv_gives_the_console_command(tmp_path):
    # a copy, so that the in-tree build (build/, *.egg-info) does not touch the checkout
    src = tmp_path / "lab"
    shutil.copytree(LAB, src, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only the installed copy
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-build-isolation", "--no-index",
                        "--no-cache-dir", "--disable-pip-version-check", str(src)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    exe = venv / "bin" / "aligndepth-lab"
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: aligndepth-lab") and "convert-judge" in r.stdout
    # the installed copy is the one that runs (not the checkout), and it answers bad input in one line
    r = subprocess.run([str(venv / "bin" / "python"), "-c", "import aligndepth_lab; print(aligndepth_lab.__file__)"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.stdout.startswith(str(venv)), r.stdout
    bad = tmp_path / "j.jsonl"
    bad.write_text('{"idx": 0, "score": "5"}\n')
    r = subprocess.run([str(exe), "convert-judge", str(bad), "--run", "r", "--attack", "prefill", "--out",
                        str(tmp_path / "o.jsonl")], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 1
    assert one_error_line(r.stderr).startswith(f'error: {bad}:1: field "score": expected a number, got "5"')
