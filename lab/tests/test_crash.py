"""A writer killed with SIGKILL mid-way loses no record that was completely written."""
import json
import os
import signal
import subprocess
import sys
import time

LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import sys, time
from aligndepth_lab.logger import TokenLogger
path = sys.argv[1]
log = TokenLogger(path)
i = 0
while True:
    # a record of a few kB so that a kill can land inside a write
    log.log("crash", i, f"ex-{i}", [0.001 * j for j in range(300)],
            arrays={"token": ["tok%d" % j for j in range(300)]}, split="refusal")
    if i % 5 == 4:
        log.checkpoint()
    print(i, flush=True)  # acknowledged: write() returned for record i
    i += 1
    time.sleep(0.002)
"""


def test_sigkill_keeps_every_completed_record(tmp_path):
    path = tmp_path / "crash.jsonl"
    env = dict(os.environ, PYTHONPATH=LAB + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, env=env, text=True)
    acked = -1
    deadline = time.time() + 60
    while acked < 200 and time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acked = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert acked >= 200, "child did not get going"
    data = path.read_bytes()
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]  # tail: b"" or a cut line
    recs = [json.loads(l) for l in complete]  # every complete line parses
    steps = [r["step"] for r in recs]
    assert steps == list(range(len(recs)))  # in order, none lost, none duplicated
    assert len(recs) >= acked + 1  # everything acknowledged before the kill is there
    for r in recs:
        assert len(r["loss"]) == len(r["token"]) == 300
    if tail:
        try:
            json.loads(tail)
            assert False, "an unterminated last line should not be a complete record"
        except ValueError:
            pass
