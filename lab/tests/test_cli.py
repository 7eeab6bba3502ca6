"""`report` and `run` answer bad input with one line (exit 1) and bad options with exit 2."""
import json

from conftest import one_error_line, run_module


def test_report_bad_inputs(tmp_path, cli):
    missing = tmp_path / "summary.json"
    code, _, err = cli("report", missing)
    assert (code, one_error_line(err)) == (1, f"error: {missing}: No such file or directory")
    bad = tmp_path / "bad.json"
    bad.write_text('{"analysis": {\n  "depth": oops}\n')
    code, _, err = cli("report", bad)
    assert (code, one_error_line(err)) == (1, f"error: {bad}:2: not valid JSON (Expecting value at column 12)")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"runs": []}))
    code, _, err = cli("report", other)
    assert (code, one_error_line(err)) == (1, f"error: {other}: not a lab summary.json (field 'analysis' missing); "
                                              "it is written by 'aligndepth-lab run'")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"analysis": {"depth": {"sft": {"refusal": {"E": "x"}}}}}))
    code, _, err = cli("report", wrong)
    assert code == 1 and one_error_line(err).startswith(f"error: {wrong}: not a lab summary.json (")


def test_report_of_a_minimal_summary(tmp_path, cli):
    seeds = lambda m, lo, hi: {"mean": m, "sd": 0.1, "runs": 3, "null": 0, "ci": [lo, hi]}  # noqa: E731
    s = {"analysis": {"by_group": {"sft": {"refusal": {"N5": seeds(0.5, 0.25, 0.75), "E5": seeds(0.4, 0.3, 0.5)}}},
                      "asr": {"sft|attack=prefill,decoding=greedy,k=5": seeds(0.9, 0.8, 1.0),
                              "sft|attack=prefill,decoding=greedy,k=6": seeds(1.0, 1.0, 1.0)}}}
    f = tmp_path / "summary.json"
    f.write_text(json.dumps(s))
    code, out, err = cli("report", f)
    assert code == 0, err
    assert "| sft | refusal | 0.500 [0.250, 0.750] | 0.400 [0.300, 0.500] | 3 |" in out
    assert "| sft|attack=prefill,decoding=greedy,k=5 | 0.900 [0.800, 1.000] | 3 |" in out
    assert "k=6" not in out  # the report shows a subset of conditions


def test_run_bad_options(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    r = run_module("run", "--smoke", "--out", afile)
    assert r.returncode == 2 and f"--out {afile} is a file; give a directory" in one_error_line(r.stderr)
    r = run_module("run", "--smoke", "--out", afile / "sub")
    assert r.returncode == 1 and one_error_line(r.stderr) == f"error: {afile}/sub: Not a directory"
    r = run_module("run", "--smoke", "--threads", "3", "--out", tmp_path)
    assert r.returncode == 2 and "invalid choice: 3" in one_error_line(r.stderr)


def test_help_of_every_command(cli):
    for cmd in ("run", "convert-torch", "convert-judge", "report"):
        code, out, _ = cli(cmd, "--help")
        assert code == 0 and out.startswith("usage: aligndepth-lab " + cmd)
    code, out, _ = cli("--help")
    assert code == 0 and "convert-torch" in out and "ALIGNDEPTH_DEBUG" in out


def test_a_partial_last_line_is_repaired_with_a_one_line_warning(tmp_path, cli):
    out = tmp_path / "att.jsonl"
    out.write_text('{"run": "r", "attack": "prefill", "example": 0, "score": 5}\n{"run": "r", "att')
    f = tmp_path / "j.jsonl"
    f.write_text('{"idx": 1, "score": 1}\n{"idx": 2, "score": 5}\n')
    code, _, err = cli("convert-judge", f, "--run", "r", "--attack", "prefill", "--out", out)
    assert code == 0
    assert one_error_line(err) == f"warning: {out}: dropping a partial last line (17 bytes)"
    assert [json.loads(l)["example"] for l in out.read_text().splitlines()] == [0, 1, 2]
