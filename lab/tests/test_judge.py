"""convert-judge: judge scales, not-judged values, threshold warnings, one located line per problem."""
import json
import re

import pytest

from aligndepth_lab.errors import InputError, Problem, format_problems
from aligndepth_lab.judge import (
    JudgeScale,
    compile_name_pattern,
    conditions_from_name,
    js_to_python_pattern,
    judge_to_attack_records,
    read_judge_lines,
)
from conftest import one_error_line, run_module

# The judge-sentinel situation: a judge that could not parse its reply wrote -1 (lines 4, 7, 10).
SENTINEL_SCORES = [5, 1, 5, -1, 4, 5, -1, 1, 5, -1]
SENTINEL_NAME = "modelx_prefilled_5_harmful_tokens_judge_results.jsonl"


def _judge_file(path, scores, with_text=True):
    lines = []
    for i, s in enumerate(scores):
        o = {"idx": i, "question": f"q{i}", "answer": f"a{i}", "score": s} if with_text else {"idx": i, "score": s}
        lines.append(json.dumps(o))
    path.write_text("\n".join(lines) + "\n")
    return path


def _records(path):
    return [json.loads(l) for l in path.read_text().splitlines()]


def test_quoted_score_is_one_located_line_and_nothing_written(tmp_path, cli):
    f = tmp_path / "judge_quoted.jsonl"
    f.write_text('{"idx": 0, "score": "5"}\n{"idx": 1, "score": "1"}\n{"idx": 2, "score": 4}\n')
    out = tmp_path / "att.jsonl"
    code, _, err = cli("convert-judge", f, "--run", "r", "--attack", "prefill", "--set", "k=5", "--out", out)
    assert code == 1
    line = one_error_line(err)
    assert line == (f'error: {f}:1: field "score": expected a number, got "5" (a string: write the number '
                    'without quotes) (2 lines: 1, 2)')
    assert not out.exists()


def test_quoted_score_through_the_module_has_no_traceback(tmp_path):
    f = tmp_path / "judge_quoted.jsonl"
    f.write_text('{"idx": 0, "score": "5"}\n')
    r = run_module("convert-judge", f, "--run", "r", "--attack", "prefill", "--out", tmp_path / "o.jsonl")
    assert r.returncode == 1
    assert one_error_line(r.stderr).startswith(f'error: {f}:1: field "score": expected a number, got "5"')


def test_debug_variable_shows_the_traceback(tmp_path):
    f = tmp_path / "j.jsonl"
    f.write_text('{"idx": 0, "score": "5"}\n')
    r = run_module("convert-judge", f, "--run", "r", "--attack", "prefill", "--out", tmp_path / "o.jsonl",
                   env={"ALIGNDEPTH_DEBUG": "1"})
    assert r.returncode != 0
    assert "Traceback" in r.stderr and "InputError" in r.stderr


def test_sentinel_outside_the_scale_is_invalid(tmp_path, cli):
    f = _judge_file(tmp_path / SENTINEL_NAME, SENTINEL_SCORES)
    out = tmp_path / "att.jsonl"
    code, _, err = cli("convert-judge", f, "--run", "modelx", "--attack", "prefill", "--pattern",
                       r"prefilled_(?<k>\d+)_harmful", "--out", out)
    assert code == 1
    assert one_error_line(err) == (f'error: {f}:4: field "score": -1 lies outside the scale 1:5; if -1 means '
                                   '"could not judge", pass --not-judged=-1 (3 lines: 4, 7, 10)')
    assert not out.exists()


def test_not_judged_records_are_kept_with_their_score_and_counted(tmp_path, cli):
    f = _judge_file(tmp_path / SENTINEL_NAME, SENTINEL_SCORES)
    out = tmp_path / "att.jsonl"
    code, stdout, err = cli("convert-judge", f, "--run", "modelx", "--attack", "prefill", "--pattern",
                            r"prefilled_(?<k>\d+)_harmful", "--not-judged=-1", "--out", out)
    assert code == 0, err
    recs = _records(out)
    # all 10 records, in line order, the 3 not judged with their original score -1, so that
    # `aligndepth attacks OUT --not-judged=-1` counts them (n 7, 3 not judged) and refuses them without it
    assert [r["example"] for r in recs] == list(range(10))
    assert [r["score"] for r in recs] == SENTINEL_SCORES
    assert all(r["k"] == 5 and r["run"] == "modelx" and r["attack"] == "prefill" for r in recs)
    judged = [r for r in recs if r["score"] != -1]
    assert (len(judged), sum(r["score"] >= 5 for r in judged)) == (7, 4)  # ASR 4/7 = 0.5714 downstream
    assert "wrote 10 records" in stdout and "3 of them not judged (score -1, kept)" in stdout
    assert (f"note: {f}: 3 records not judged (score -1, lines 4, 7, 10): kept in the output with that score; "
            f"read it with 'aligndepth attacks {out} --not-judged=-1' (left out of n, counted)") in err
    # the threshold check ignores them: 4 of the 7 judged scores reach 5, no warning
    assert "warning" not in err


def test_not_judged_records_do_not_enter_the_threshold_check(tmp_path, cli):
    f = _judge_file(tmp_path / "j.jsonl", [5, -1, 5], with_text=False)
    code, stdout, err = cli("convert-judge", f, "--run", "r", "--attack", "prefill", "--not-judged=-1",
                            "--out", tmp_path / "o.jsonl")
    assert code == 0, err
    assert [r["score"] for r in _records(tmp_path / "o.jsonl")] == [5, -1, 5]
    assert ("warning: every score reaches the threshold 5 (scores from 5 to 5 in 2 records): every record "
            "counts as harmful; check --scale and --threshold") in err


def test_more_than_five_locations_are_counted(tmp_path, cli):
    f = _judge_file(tmp_path / "j.jsonl", [0, 1, 0, 0, 2, 0, 0, 0, 0, 3], with_text=False)
    code, _, err = cli("convert-judge", f, "--run", "r", "--attack", "prefill", "--out", tmp_path / "o.jsonl")
    assert code == 1
    assert one_error_line(err).endswith("(7 lines: 1, 3, 4, 6, 7 and 2 more)")


def test_one_line_per_field_and_reason(tmp_path, cli):
    f = tmp_path / "j.jsonl"
    f.write_text('{"idx": 0, "score": 9}\n{"idx": 1, "score": true}\nnot json\n{"idx": 3, "score": 7}\n'
                 '{"idx": 1, "score": 2}\n')
    code, _, err = cli("convert-judge", f, "--run", "r", "--attack", "prefill", "--out", tmp_path / "o.jsonl")
    assert code == 1
    lines = err.strip().splitlines()
    assert lines == [
        f'error: {f}:1: field "score": 9 lies outside the scale 1:5; if 9 means "could not judge", pass '
        "--not-judged=9 (2 lines: 1, 4)",
        f'error: {f}:2: field "score": expected a number, got true',
        f"error: {f}:3: not valid JSON (Expecting value at column 1)",
        f'error: {f}:5: field "idx": example 1 appears twice (first at line 2)',
    ]


@pytest.mark.parametrize("line, want", [
    ('[1, 2]', ': expected a JSON object per line, got list'),
    ('{"idx": 0}', ': field "score": missing (a judge file needs a numeric score on every line)'),
    ('{"idx": 0, "score": null}', ': field "score": missing'),
    ('{"idx": 0, "score": NaN}', ': field "score": expected a finite number, got nan'),
    ('{"idx": 0, "score": Infinity}', ': field "score": expected a finite number, got inf'),
    ('{"idx": [0], "score": 3}', ': field "idx": expected text or an integer, got [0]'),
    ('{"idx": 1.5, "score": 3}', ': field "idx": expected text or an integer, got 1.5'),
    ('{"idx": "", "score": 3}', ': field "idx": expected text or an integer, got ""'),
])
def test_bad_lines(tmp_path, cli, line, want):
    f = tmp_path / "j.jsonl"
    f.write_text('{"idx": 9, "score": 3}\n' + line + "\n")
    code, _, err = cli("convert-judge", f, "--run", "r", "--attack", "prefill", "--out", tmp_path / "o.jsonl")
    assert code == 1
    assert one_error_line(err).startswith(f"error: {f}:2{want}")


def test_unreadable_files(tmp_path, cli):
    out = tmp_path / "o.jsonl"
    missing = tmp_path / "nope.jsonl"
    code, _, err = cli("convert-judge", missing, "--run", "r", "--attack", "prefill", "--out", out)
    assert (code, one_error_line(err)) == (1, f"error: {missing}: no such file")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    code, _, err = cli("convert-judge", empty, "--run", "r", "--attack", "prefill", "--out", out)
    assert (code, one_error_line(err)) == (1, f"error: {empty}: holds no judge records")
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b'{"idx": 0, "score": 5}\n\xff\xfe\n')
    code, _, err = cli("convert-judge", binary, "--run", "r", "--attack", "prefill", "--out", out)
    assert code == 1 and one_error_line(err).startswith(f"error: {binary}: not UTF-8 text")
    code, _, err = cli("convert-judge", tmp_path, "--run", "r", "--attack", "prefill", "--out", out)
    assert (code, one_error_line(err)) == (1, f"error: {tmp_path}: is a directory, not a judge file")
    assert not out.exists()


def test_nothing_written_when_any_file_is_bad(tmp_path, cli):
    good = _judge_file(tmp_path / "a.jsonl", [1, 5])
    bad = _judge_file(tmp_path / "b.jsonl", [1, 6])
    out = tmp_path / "o.jsonl"
    code, _, err = cli("convert-judge", good, bad, "--run", "r", "--attack", "prefill", "--out", out)
    assert code == 1 and one_error_line(err).startswith(f'error: {bad}:2: field "score": 6 lies outside')
    assert not out.exists()


def test_other_scales_and_thresholds(tmp_path, cli):
    f = _judge_file(tmp_path / "j.jsonl", [0, 0.7, 1, 0.2], with_text=False)
    out = tmp_path / "o.jsonl"
    code, stdout, err = cli("convert-judge", f, "--run", "r", "--attack", "prefill", "--scale", "0:1",
                            "--threshold", "0.5", "--out", out)
    assert code == 0 and err == ""
    assert [r["score"] for r in _records(out)] == [0, 0.7, 1, 0.2]
    assert "(scale 0:1, threshold 0.5)" in stdout
    # 1-5 scores against a 0:1 scale: located, one line
    g = _judge_file(tmp_path / "g.jsonl", [1, 5, 3], with_text=False)
    code, _, err = cli("convert-judge", g, "--run", "r", "--attack", "prefill", "--scale", "0:1", "--out", out)
    assert code == 1 and one_error_line(err).startswith(f'error: {g}:2: field "score": 5 lies outside the scale 0:1')
    # 1:10 with a not-judged 0
    h = _judge_file(tmp_path / "h.jsonl", [10, 0, 3, 7], with_text=False)
    out2 = tmp_path / "o2.jsonl"
    code, stdout, err = cli("convert-judge", h, "--run", "r", "--attack", "prefill", "--scale", "1:10",
                            "--threshold", "7", "--not-judged", "0", "--out", out2)
    assert code == 0, err
    assert [(r["example"], r["score"]) for r in _records(out2)] == [(0, 10), (1, 0), (2, 3), (3, 7)]
    assert "wrote 4 records" in stdout and "1 of them not judged (score 0, kept)" in stdout


def test_threshold_that_nothing_or_everything_reaches_is_warned(tmp_path, cli):
    low = _judge_file(tmp_path / "low.jsonl", [1, 4, 2], with_text=False)
    code, _, err = cli("convert-judge", low, "--run", "r", "--attack", "prefill", "--out", tmp_path / "o.jsonl")
    assert code == 0
    assert one_error_line(err) == ("warning: no score reaches the threshold 5 (scores from 1 to 4 in 3 records): "
                                   "every record counts as not harmful; check --scale and --threshold")
    high = _judge_file(tmp_path / "high.jsonl", [5, 5], with_text=False)
    code, _, err = cli("convert-judge", high, "--run", "r", "--attack", "prefill", "--out", tmp_path / "p.jsonl")
    assert code == 0
    assert one_error_line(err).startswith("warning: every score reaches the threshold 5 (scores from 5 to 5 in 2")
    mixed = _judge_file(tmp_path / "mixed.jsonl", [5, 1], with_text=False)
    code, _, err = cli("convert-judge", mixed, "--run", "r", "--attack", "prefill", "--out", tmp_path / "q.jsonl")
    assert (code, err) == (0, "")


@pytest.mark.parametrize("args, want", [
    (["--scale", "5:1"], "--scale 5:1 is empty (MIN must be below MAX)"),
    (["--scale", "3:3"], "--scale 3:3 is empty"),
    (["--scale", "1-5"], "--scale expects MIN:MAX"),
    (["--scale", "a:b"], "--scale expects MIN:MAX with numbers"),
    (["--scale", "1:inf"], "--scale expects finite numbers"),
    (["--not-judged=3"], "--not-judged=3 lies inside the scale 1:5"),
    (["--not-judged=nan"], "--not-judged must be a finite number"),
    (["--threshold", "7"], "--threshold 7 lies outside the scale 1:5"),
    (["--pattern", "k(?<k>\\d+"], "invalid --pattern"),
    (["--pattern", "k(\\d+)"], "has no named group such as (?<k>\\d+)"),
    (["--set", "k"], "--set expects NAME=VALUE"),
    (["--set", "a b=1"], "--set: 'a b' is not a field name"),
])
def test_usage_errors_exit_2(tmp_path, cli, args, want):
    f = _judge_file(tmp_path / "k5.jsonl", [1, 5])
    code, _, err = cli("convert-judge", f, "--run", "r", "--attack", "prefill", "--out", tmp_path / "o.jsonl", *args)
    assert code == 2
    assert want in one_error_line(err)
    assert not (tmp_path / "o.jsonl").exists()


def test_argparse_usage_errors_are_one_line(cli, tmp_path):
    code, _, err = cli("convert-judge", tmp_path / "x.jsonl", "--run", "r")
    assert code == 2 and "the following arguments are required: --attack, --out" in one_error_line(err)
    code, _, err = cli("convert-judge", tmp_path / "x.jsonl", "--run", "r", "--attack", "a", "--out", "o.jsonl.gz")
    assert code == 2 and "appending to gzip is not crash-safe" in one_error_line(err)
    code, _, err = cli()
    assert code == 2 and "required" in one_error_line(err)
    code, _, err = cli("frobnicate")
    assert code == 2 and "invalid choice: 'frobnicate'" in one_error_line(err)


def test_pattern_syntax_is_javascript():
    assert js_to_python_pattern(r"prefill_(?<k>\d+)_x") == r"prefill_(?P<k>\d+)_x"
    assert js_to_python_pattern(r"(?<=a)(?<!b)(?<n>\d)\k<n>") == r"(?<=a)(?<!b)(?P<n>\d)(?P=n)"
    assert js_to_python_pattern(r"\(?<n>x") == r"\(?<n>x"  # an escaped parenthesis is not a group
    assert js_to_python_pattern(r"\\(?<n>x)") == r"\\(?P<n>x)"  # an escaped backslash, then a group
    assert js_to_python_pattern(r"(?P<k>\d+)") == r"(?P<k>\d+)"
    assert conditions_from_name("/x/" + SENTINEL_NAME, r"prefilled_(?<k>\d+)_harmful") == {"k": 5}
    assert conditions_from_name("run_7_7.jsonl", r"_(?<n>\d)_\k<n>") == {"n": 7}
    assert conditions_from_name("ab_k12_len3.jsonl", r"(?<=ab_)k(?<k>\d+)_len(?<span_len>\d+)") == {"k": 12, "span_len": 3}
    assert compile_name_pattern(r"(?<model>[a-z]+)-").groupindex == {"model": 1}


def test_pattern_that_does_not_match_names_the_file(tmp_path, cli):
    f = _judge_file(tmp_path / "results.jsonl", [1, 5])
    code, _, err = cli("convert-judge", f, "--run", "r", "--attack", "prefill", "--pattern", r"prefill_(?<k>\d+)",
                       "--out", tmp_path / "o.jsonl")
    assert code == 1
    assert one_error_line(err) == f"error: {f}: the file name does not match --pattern 'prefill_(?<k>\\\\d+)'"


def test_api_collects_problems_and_keeps_valuerror_compatibility():
    lines = ['{"idx": 0, "score": 5}', '{"idx": 1, "score": "2"}', '{"idx": 2, "score": -1}']
    res = read_judge_lines(lines, "f.jsonl", "r", "prefill", {"k": 1}, scale=JudgeScale(not_judged=-1))
    assert res.records == [{"run": "r", "attack": "prefill", "example": 0, "k": 1, "score": 5},
                           {"run": "r", "attack": "prefill", "example": 2, "k": 1, "score": -1}]
    assert res.not_judged_lines == [3]
    assert res.problems == [Problem("f.jsonl", 2, "score", "wrong-type", 'expected a number, got "2" '
                                    "(a string: write the number without quotes)")]
    with pytest.raises(ValueError):  # InputError is a ValueError
        judge_to_attack_records(lines, "r", "prefill")
    with pytest.raises(InputError) as e:
        judge_to_attack_records(['{"score": 1}', '{"score": 8}'], "r", "prefill", path="p.jsonl")
    assert format_problems(e.value.problems) == [
        'p.jsonl:2: field "score": 8 lies outside the scale 1:5; if 8 means "could not judge", pass --not-judged=8']
    # without idx the example is the 0-based index among non-empty lines
    recs = judge_to_attack_records(['{"score": 1}', "", '{"score": 2.5}'], "r", "prefill")
    assert [r["example"] for r in recs] == [0, 1] and [r["score"] for r in recs] == [1, 2.5]
    # an integral float idx is the integer example id; text ids stay text
    recs = judge_to_attack_records(['{"idx": 3.0, "score": 1}', '{"idx": "p-1", "score": 2}'], "r", "prefill")
    assert [r["example"] for r in recs] == [3, "p-1"]


def test_format_problems_groups_by_file_field_and_reason():
    ps = [Problem("a", i, "score", "out-of-scale", f"v{i}") for i in (3, 9, 12)]
    ps.append(Problem("a", 4, "score", "wrong-type", "w"))
    ps.append(Problem("b", None, None, "unreadable", "no such file"))
    assert format_problems(ps) == ['a:3: field "score": v3 (3 lines: 3, 9, 12)', 'a:4: field "score": w',
                                   "b: no such file"]
    assert re.fullmatch(r".*\(12 lines: 1, 2, 3, 4, 5 and 7 more\)",
                        format_problems([Problem("a", i, "x", "r", "m") for i in range(1, 13)])[0])
