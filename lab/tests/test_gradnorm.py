"""convert-torch on the published per-token gradient-magnitude dump, and its located errors.

The fixtures are made here with torch, the way the published trainer makes them: a log-prob dump
(``full_logps``: sentinel 1000 on unscored rows, padded to max_len) and, per example, an array
``[max_len, n_blocks + 1]`` of per-block gradient norms of each scored token's loss (zero rows where
no token is scored), the last column the norm over the last block and the output head.
"""
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aligndepth_lab.gradnorm import gradnorm_records
from aligndepth_lab.logger import per_token_grad_norms
from conftest import one_error_line, run_module

MAX_LEN = 10


class Tiny(torch.nn.Module):
    """Two residual blocks and an output head: n_blocks = 3 (blocks, then the head), as in the dump."""

    def __init__(self, V=7, d=5):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.emb = torch.nn.Parameter(torch.randn(V, d, generator=g))
        self.blocks = torch.nn.ModuleList([torch.nn.Linear(d, d) for _ in range(2)])
        self.head = torch.nn.Linear(d, V)
        with torch.no_grad():
            for p in list(self.blocks.parameters()) + list(self.head.parameters()):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)

    def forward(self, ids):
        h = self.emb[ids].cumsum(1)  # causal: position t sees tokens <= t
        for b in self.blocks:
            h = h + torch.tanh(b(h))
        return self.head(h)


def _published_dumps(model, ids, labels):
    """(full_logps [B, MAX_LEN] with sentinel 1000, list of [MAX_LEN, 4] gradient arrays), as published."""
    logits = model(ids)
    lab = labels[:, 1:].clone()
    mask = lab != -100
    lab[~mask] = 0
    lp = torch.gather(logits[:, :-1].log_softmax(-1), 2, lab.unsqueeze(2)).squeeze(2)
    full = lp * mask + (~mask) * 1000
    full = F.pad(full, (0, MAX_LEN - full.shape[1]), value=1000)
    blocks = [list(model.blocks[0].parameters()), list(model.blocks[1].parameters()), list(model.head.parameters())]
    last = list(model.blocks[-1].parameters()) + list(model.head.parameters())
    grads = []
    for i in range(full.shape[0]):
        g = torch.zeros(MAX_LEN, len(blocks) + 1)
        for j in range(MAX_LEN):
            if full[i, j] <= 0:
                model.zero_grad()
                (-full[i, j]).backward(retain_graph=True)
                for k, ps in enumerate(blocks + [last]):
                    g[j, k] = torch.nn.utils.clip_grad_norm_(ps, max_norm=float("inf"))
        grads.append(g.numpy())
    model.zero_grad()
    return full.detach(), grads


def _fixture():
    model = Tiny()
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 7, (3, 9), generator=g)
    labels = ids.clone()
    labels[0, :4] = -100  # prompt of 4 tokens: scored rows 3..7 (row j scores token j + 1)
    labels[1, :6] = -100
    labels[2, :2] = -100
    labels[2, 7:] = -100  # right padding
    return model, ids, labels


@pytest.fixture(scope="module")
def dumps():
    model, ids, labels = _fixture()
    full, grads = _published_dumps(model, ids, labels)
    return model, ids, labels, full, grads


def _expected_last_column(model, ids, labels, i):
    """Independent route: autograd.grad of each scored token's loss w.r.t. the last block + head."""
    logits = model(ids[i:i + 1])
    loss = F.cross_entropy(logits[0, :-1], ids[i, 1:], reduction="none")
    scored = labels[i, 1:] != -100
    wrt = list(model.blocks[-1].parameters()) + list(model.head.parameters())
    return per_token_grad_norms(loss, wrt, scored)[scored].tolist()


def _save(path, obj):
    torch.save(obj, path)
    return path


def _records(path):
    return [json.loads(l) for l in path.read_text().splitlines()]


def test_aligned_dump_with_logps_gives_the_last_blocks_and_head_norm(tmp_path, cli, dumps):
    model, ids, labels, full, grads = dumps
    gp = _save(tmp_path / "gradnorm.pt", grads)
    lp = _save(tmp_path / "step0_logps.pt", [row.numpy() for row in full])
    out = tmp_path / "g.jsonl"
    code, stdout, err = cli("convert-torch", gp, "--logps", lp, "--run", "llama", "--step", 0, "--out", out,
                            "--set", "split=harmful")
    assert code == 0, err
    assert "wrote 3 records" in stdout
    assert "recognised a per-token gradient-magnitude dump, 3 examples of [10, 4]" in err
    assert "grad_norm = column 3 of 4 (the last)" in err and "(same rows)" in err
    recs = _records(out)
    assert [r["example"] for r in recs] == [0, 1, 2]
    for i, r in enumerate(recs):
        assert set(r) == {"run", "step", "example", "split", "grad_norm"}
        want = _expected_last_column(model, ids, labels, i)
        assert len(r["grad_norm"]) == len(want) == int((labels[i, 1:] != -100).sum())
        for a, b in zip(r["grad_norm"], want):
            assert math.isclose(a, b, rel_tol=1e-5)


def test_positions_line_up_with_the_converted_log_probs(tmp_path, cli, dumps):
    _, _, labels, full, grads = dumps
    gp = _save(tmp_path / "gradnorm.pt", grads)
    lp = _save(tmp_path / "logps.pt", full)
    out = tmp_path / "t.jsonl"
    assert cli("convert-torch", lp, "--run", "m", "--step", 0, "--out", out, "--example-prefix", "ex")[0] == 0
    assert cli("convert-torch", gp, "--logps", lp, "--run", "m", "--step", 0, "--out", out,
               "--example-prefix", "ex")[0] == 0
    recs = _records(out)
    loss = {r["example"]: r["loss"] for r in recs if "loss" in r}
    grad = {r["example"]: r["grad_norm"] for r in recs if "grad_norm" in r}
    assert sorted(loss) == sorted(grad) == ["ex0", "ex1", "ex2"]
    assert [len(grad[e]) for e in sorted(grad)] == [len(loss[e]) for e in sorted(loss)] == [5, 3, 5]


def test_nonzero_rows_and_compacted_layout_give_the_same_records(tmp_path, cli, dumps):
    _, _, _, full, grads = dumps
    out_a, out_b, out_c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    gp = _save(tmp_path / "g.pt", grads)
    lp = _save(tmp_path / "l.pt", full)
    assert cli("convert-torch", gp, "--logps", lp, "--run", "m", "--step", 3, "--out", out_a)[0] == 0
    code, _, err = cli("convert-torch", gp, "--nonzero-rows", "--run", "m", "--step", 3, "--out", out_b)
    assert code == 0 and "positions from its non-zero rows" in err
    # scored rows moved to the top (the layout of the published logits dump)
    compact = []
    for g in grads:
        rows = g[(g != 0).any(axis=1)]
        c = np.zeros_like(g)
        c[: len(rows)] = rows
        compact.append(c)
    cp = _save(tmp_path / "compact.pt", compact)
    code, _, err = cli("convert-torch", cp, "--logps", lp, "--run", "m", "--step", 3, "--out", out_c)
    assert code == 0 and "(scored tokens first)" in err
    assert _records(out_a) == _records(out_b) == _records(out_c)


def test_zero_rows_inside_and_after_the_measured_tokens():
    # 2 examples, scored rows 1-4 and 2-5; example 0 has an exact 0 inside, example 1 stops after 2 tokens
    g0 = np.zeros((6, 2), np.float32)
    g0[1] = [1, 2]
    g0[3] = [3, 4]
    g0[4] = [5, 6]
    g1 = np.zeros((6, 2), np.float32)
    g1[2] = [0.5, 0.25]
    g1[3] = [0.5, 0.75]
    lp = torch.full((2, 6), 1000.0)
    lp[0, 1:5] = -1.0
    lp[1, 2:6] = -0.5
    conv = gradnorm_records([g0, g1], "r", 7, scored="logps", logps=lp)
    assert conv.layout == "aligned"
    assert [r["grad_norm"] for r in conv.records] == [[2.0, 0.0, 4.0, 6.0], [0.25, 0.75]]
    assert conv.unmeasured_rows == 2
    assert any("2 scored tokens after an example's last non-zero gradient row" in n for n in conv.notes)
    conv0 = gradnorm_records([g0, g1], "r", 7, scored="logps", logps=lp, column=0)
    assert [r["grad_norm"] for r in conv0.records] == [[1.0, 0.0, 3.0, 5.0], [0.5, 0.5]]


def test_nonzero_rows_need_one_span():
    g = np.zeros((6, 2))
    g[1] = [1, 1]
    g[3] = [2, 2]
    with pytest.raises(ValueError, match=r"example 0: non-zero rows 1, 3 with zero rows between them"):
        gradnorm_records([g], "r", 0, scored="nonzero", grad_name="g.pt")
    h = np.zeros((6, 2))
    h[2:4] = 1.5
    conv = gradnorm_records([h, np.zeros((6, 2))], "r", 0, scored="nonzero", example_prefix="p")
    assert [(r["example"], r["grad_norm"]) for r in conv.records] == [("p0", [1.5, 1.5])]
    assert conv.empty_examples == 1
    assert "1 example has no non-zero gradient row: no record written for them" in conv.notes


def test_more_log_prob_examples_than_gradients_are_matched_by_order(tmp_path, cli, dumps):
    _, _, _, full, grads = dumps
    gp = _save(tmp_path / "g.pt", grads[:2])
    lp = _save(tmp_path / "l.pt", full)
    out = tmp_path / "o.jsonl"
    code, _, err = cli("convert-torch", gp, "--logps", lp, "--run", "m", "--step", 0, "--out", out)
    assert code == 0
    assert len(_records(out)) == 2
    assert f"note: {lp} holds 1 more example than {gp}: the first 2 were matched by order" in err


def test_batched_dump_and_list_of_batches(tmp_path, cli, dumps):
    _, _, _, full, grads = dumps
    lp = _save(tmp_path / "l.pt", full)
    stacked = torch.tensor(np.stack(grads))
    outs = []
    for name, obj in (("list.pt", grads), ("one.pt", stacked), ("batches.pt", [stacked[:2], stacked[2:]])):
        out = tmp_path / f"{name}.jsonl"
        assert cli("convert-torch", _save(tmp_path / name, obj), "--logps", lp, "--run", "m", "--step", 0,
                   "--out", out)[0] == 0
        outs.append(_records(out))
    assert outs[0] == outs[1] == outs[2]


# ---------------------------------------------------------------------------------------------
# bad input: one located line; usage: exit 2
# ---------------------------------------------------------------------------------------------


def test_gradient_dump_without_a_row_source_names_the_format(tmp_path, cli, dumps):
    gp = _save(tmp_path / "gradnorm.pt", dumps[4])
    out = tmp_path / "o.jsonl"
    code, _, err = cli("convert-torch", gp, "--run", "m", "--step", 0, "--out", out)
    assert code == 2
    assert one_error_line(err) == (
        f"aligndepth-lab: error: {gp}: recognised a per-token gradient-magnitude dump (3 arrays of shape [10, 4], "
        "values >= 0, zero rows where no token is scored): say which rows are scored, with --logps FILE (the "
        "matching log-prob dump, sentinel 1000) or --nonzero-rows")
    for kind in ("logits", "logprobs"):
        code, _, err = cli("convert-torch", gp, "--kind", kind, "--run", "m", "--step", 0, "--out", out)
        assert code == 2
        assert f"--kind {kind}, but the file looks like a per-token gradient-magnitude dump" in one_error_line(err)
    assert not out.exists()


def test_gradient_dump_through_the_module_has_no_traceback(tmp_path, dumps):
    gp = _save(tmp_path / "gradnorm.pt", dumps[4])
    r = run_module("convert-torch", gp, "--kind", "logits", "--run", "m", "--step", 0, "--out", tmp_path / "o.jsonl")
    assert r.returncode == 2
    assert "gradient-magnitude dump" in one_error_line(r.stderr)


def test_files_that_do_not_match(tmp_path, cli, dumps):
    _, _, _, full, grads = dumps
    gp = _save(tmp_path / "g.pt", grads)
    out = tmp_path / "o.jsonl"
    # fewer log-prob examples than gradient examples
    lp2 = _save(tmp_path / "l2.pt", full[:2])
    code, _, err = cli("convert-torch", gp, "--logps", lp2, "--run", "m", "--step", 0, "--out", out)
    assert code == 1
    assert one_error_line(err) == f"error: {gp}: 3 examples, but {lp2} holds only 2: not the matching dumps"
    # rows that neither line up with the scored rows nor fit in the first rows
    shifted = [np.roll(g, 2, axis=0) for g in grads]
    sp = _save(tmp_path / "shifted.pt", shifted)
    lp = _save(tmp_path / "l.pt", full)
    code, _, err = cli("convert-torch", sp, "--logps", lp, "--run", "m", "--step", 0, "--out", out)
    assert code == 1
    assert one_error_line(err) == (f"error: {sp}: example 0: non-zero rows 5-9, but {lp} scores rows 3-7 "
                                   "(5 tokens): neither the same rows nor the first 5 rows; the two files do not match")
    assert not out.exists()


def test_bad_values_and_options(tmp_path, cli, dumps):
    _, _, _, full, grads = dumps
    lp = _save(tmp_path / "l.pt", full)
    out = tmp_path / "o.jsonl"
    neg = [g.copy() for g in grads]
    neg[1][6, 2] = -0.5
    # a negative value is not a gradient dump any more: recognised as nothing, one line
    np_ = _save(tmp_path / "neg.pt", neg)
    code, _, err = cli("convert-torch", np_, "--run", "m", "--step", 0, "--out", out)
    assert code == 1 and one_error_line(err).startswith(f"error: {np_}: 3 arrays of shape [10, 4], without the sentinel")
    code, _, err = cli("convert-torch", np_, "--kind", "gradnorm", "--nonzero-rows", "--run", "m", "--step", 0,
                       "--out", out)
    assert (code, one_error_line(err)) == (1, f"error: {np_}: example 1, row 6: a negative value (-0.5), which a "
                                              "gradient norm cannot be")
    gp = _save(tmp_path / "g.pt", grads)
    code, _, err = cli("convert-torch", gp, "--nonzero-rows", "--grad-column", 4, "--run", "m", "--step", 0, "--out", out)
    assert code == 2 and f"{gp} has 4 columns: --grad-column 4 does not exist" in one_error_line(err)
    code, _, err = cli("convert-torch", gp, "--nonzero-rows", "--logps", lp, "--run", "m", "--step", 0, "--out", out)
    assert code == 2 and "not allowed with argument" in one_error_line(err)
    missing = tmp_path / "nope.pt"
    code, _, err = cli("convert-torch", gp, "--logps", missing, "--run", "m", "--step", 0, "--out", out)
    assert (code, one_error_line(err)) == (1, f"error: {missing}: no such file (the log-prob dump)")
    code, _, err = cli("convert-torch", gp, "--logps", gp, "--run", "m", "--step", 0, "--out", out)
    assert code == 1 and one_error_line(err).startswith(
        f"error: {gp}: --logps expects the log-prob dump (sentinel 1000), but this looks like gradnorm")
    code, _, err = cli("convert-torch", lp, "--nonzero-rows", "--run", "m", "--step", 0, "--out", out)
    assert code == 2 and "--logps and --nonzero-rows are for a gradient-magnitude dump, not logprobs" in one_error_line(err)
    assert not out.exists()


def test_other_convert_torch_input_errors(tmp_path, cli):
    out = tmp_path / "o.jsonl"
    missing = tmp_path / "missing.pt"
    code, _, err = cli("convert-torch", missing, "--run", "m", "--step", 0, "--out", out)
    assert (code, one_error_line(err)) == (1, f"error: {missing}: no such file (input)")
    text = tmp_path / "notes.pt"
    text.write_text("hello\n")
    code, _, err = cli("convert-torch", text, "--run", "m", "--step", 0, "--out", out)
    assert code == 1 and one_error_line(err).startswith(f"error: {text}: not a file written by torch.save (input): ")
    weird = _save(tmp_path / "weird.pt", {"foo": "bar"})
    code, _, err = cli("convert-torch", weird, "--run", "m", "--step", 0, "--out", out)
    assert code == 1 and one_error_line(err).startswith(f"error: {weird}: holds no numeric arrays")
    pos = _save(tmp_path / "pos.pt", [torch.tensor([1000.0, -0.5, 0.7])])
    code, _, err = cli("convert-torch", pos, "--run", "m", "--step", 0, "--out", out)
    assert (code, one_error_line(err)) == (1, f"error: {pos}: example 0: positive log-prob 0.699999988079071 that "
                                              "is not the sentinel 1000")
    nan = _save(tmp_path / "nan.pt", [torch.tensor([1000.0, float("nan")])])
    code, _, err = cli("convert-torch", nan, "--run", "m", "--step", 0, "--out", out)
    assert (code, one_error_line(err)) == (1, f"error: {nan}: example 0: non-finite log-prob")
    good = _save(tmp_path / "good.pt", [torch.tensor([1000.0, -0.5]), torch.tensor([-1.0, 1000.0])])
    ref = _save(tmp_path / "ref.pt", [torch.tensor([1000.0, -0.5])])
    code, _, err = cli("convert-torch", good, "--ref", ref, "--run", "m", "--step", 0, "--out", out)
    assert (code, one_error_line(err)) == (1, f"error: {good}: 2 examples but 1 in the reference")
    logits = _save(tmp_path / "logits.pt", torch.full((2, 3, 5), 10086.0))
    code, _, err = cli("convert-torch", logits, "--run", "m", "--step", 0, "--out", out)
    assert code == 2 and "logits alone give no loss: pass the scored token ids with --token-ids FILE" in one_error_line(err)
    code, _, err = cli("convert-torch", good, "--run", "m", "--step", -1, "--out", out)
    assert code == 2 and "--step must be an integer >= 0, got -1" in one_error_line(err)
    code, _, err = cli("convert-torch", good, "--run", "m", "--step", "x", "--out", out)
    assert code == 2 and "invalid int value: 'x'" in one_error_line(err)
    code, _, err = cli("convert-torch", good, "--run", "m", "--step", 0, "--out", tmp_path)
    assert code == 2 and "is a directory" in one_error_line(err)
    assert not out.exists()
