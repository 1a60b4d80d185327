"""The source reader behind torch-free loss listing: what it accepts and how it says no."""

from __future__ import annotations

import textwrap

import pytest

from softlabels.train import list_losses, loss_info, loss_summary
from softlabels.train._loss_index import LossInfo, loss_index, parse_loss_file


def _write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_reads_the_decorator_arguments(tmp_path):
    path = _write(tmp_path, "mine.py", '''
        from x import register_loss, losses as L
        @register_loss("my-loss", function=F.my_loss, call="distill", summary="mine", order=3)
        class MyLoss(LossModule):
            pass
        @L.register_loss("other", function=other_loss, summary="other one")
        class Other(LossModule):
            pass
        class NotALoss:
            pass
    ''')
    assert parse_loss_file(path, "pkg.mine") == [
        LossInfo("my-loss", "mine", "distill", 3, "pkg.mine", "MyLoss", "my_loss"),
        LossInfo("other", "other one", "target", None, "pkg.mine", "Other", "other_loss"),
    ]


@pytest.mark.parametrize("decorator, match", [
    ('@register_loss(NAME, function=f, summary="s")', r"bad\.py:2 \(X\): name= must be"),
    ('@register_loss("x", function=f, summary=S)', "summary= must be written as a literal"),
    ('@register_loss("x", function=f, summary="s", call="probs")', "call must be one of"),
    ('@register_loss("x", function=f, summary="")', "summary must be a non-empty"),
    ('@register_loss("X y", function=f, summary="s")', "kebab-case"),
    ('@register_loss("x", summary="s")', "needs function= and summary="),
    ('@register_loss("x", function=f, summary="s", oder=1)', r"unknown register_loss argument"),
    ('@register_loss("x", function=f, summary="s", order=1.5)', "order must be an integer"),
    ('@register_loss("x", function=lambda z: z, summary="s")', "function= must name"),
])
def test_errors_name_the_file_line_and_problem(tmp_path, decorator, match):
    path = _write(tmp_path, "bad.py", f"\n{decorator}\nclass X:\n    pass\n")
    with pytest.raises(ValueError, match=match):
        parse_loss_file(path, "pkg.bad")


def test_duplicate_names_and_listing_order(tmp_path):
    body = '@register_loss("{name}", function=f, summary="s"{order})\nclass {cls}:\n    pass\n'
    _write(tmp_path, "b.py", body.format(name="zeta", order="", cls="B"))
    _write(tmp_path, "c.py", body.format(name="beta", order=", order=2", cls="C"))
    _write(tmp_path, "d.py", body.format(name="alpha", order="", cls="D"))
    _write(tmp_path, "_private.py", body.format(name="hidden", order="", cls="H"))
    uncached = loss_index.__wrapped__
    assert list(uncached(tmp_path, "pkg")) == ["beta", "alpha", "zeta"]
    _write(tmp_path, "e.py", body.format(name="zeta", order="", cls="E"))
    with pytest.raises(ValueError, match=r"'zeta' is registered twice: in b\.py and e\.py"):
        uncached(tmp_path, "pkg")


def test_public_helpers_read_the_index():
    info = loss_info("dkd")
    assert (info.call, info.class_name, info.function, info.order) == \
        ("distill", "DKDLoss", "dkd_loss", 3)
    assert info.path == "softlabels.train.nn.losses.dkd:DKDLoss"
    assert loss_summary("dllp") == "label proportions: CE between bag proportions and mean predictions"
    assert list_losses()[:3] == ["soft-cross-entropy", "kd", "dkd"]
    with pytest.raises(KeyError, match="Did you mean 'dkd'"):
        loss_info("dkdd")
