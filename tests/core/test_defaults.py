"""One default crowd model and one definition of weak consensus, used by every entry point."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import softlabels
from softlabels import SoftLabels
from softlabels.infer.registry import parse_spec
from softlabels.core.defaults import DEFAULT_CROWD_METHOD, WEAK_CONSENSUS_BELOW, weak_consensus
from softlabels.core.errors import InputError


def test_weak_consensus_hand_computed():
    probs = [[0.5, 0.5], [0.59, 0.41], [0.6, 0.4], [0.1, 0.9], [0.4, 0.3, 0.3]]
    mask = [weak_consensus([p]).item() for p in probs]
    assert mask == [True, True, False, False, True]
    assert WEAK_CONSENSUS_BELOW == 0.6


def test_weak_consensus_takes_soft_labels_and_rejects_vectors():
    soft = SoftLabels([[0.55, 0.45], [0.9, 0.1]], classes=["a", "b"])
    assert weak_consensus(soft).tolist() == [True, False]
    assert weak_consensus(np.zeros((0, 3))).shape == (0,)
    with pytest.raises(InputError, match="shape"):
        weak_consensus([0.5, 0.5])


def test_every_entry_point_defaults_to_the_one_constant():
    from softlabels.cli import audit, crowd
    from softlabels.report import build_report

    assert softlabels.DEFAULT_CROWD_METHOD == DEFAULT_CROWD_METHOD
    name, params = parse_spec(DEFAULT_CROWD_METHOD)
    assert name in softlabels.list_sources(evidence="answers")
    model = softlabels.create_source(DEFAULT_CROWD_METHOD)
    assert all(model.get_params()[key] == value for key, value in params.items())
    for fn in (softlabels.aggregate, softlabels.fit_method, build_report):
        assert inspect.signature(fn).parameters["method"].default == DEFAULT_CROWD_METHOD, fn
    commands = [crowd.aggregate, crowd.quickstart] + [
        f for f in vars(audit).values()
        if inspect.isfunction(f) and "method" in inspect.signature(f).parameters
        and hasattr(inspect.signature(f).parameters["method"].default, "default")
    ]
    assert len(commands) >= 3
    for command in commands:
        option = inspect.signature(command).parameters["method"].default
        # aggregate's default depends on --engine: None there, shown as the constant
        shown = option.default if option.default is not None else option.show_default
        assert shown == DEFAULT_CROWD_METHOD, command.__name__


def test_cli_summary_and_report_share_the_weak_consensus(tmp_path, capsys):
    from softlabels.cli import main
    from softlabels.report import build_report

    # soft-vote: item 1 at 0.5 (weak), item 2 at 2/3, item 3 at exactly 0.6 (not weak)
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "item,worker,label\n1,a,x\n1,b,y\n2,a,x\n2,b,x\n2,c,y\n"
        "3,a,x\n3,b,y\n3,c,y\n3,d,x\n3,e,y\n"
    )
    assert main(["aggregate", str(answers), "-m", "soft-vote", "-o", str(tmp_path / "o.csv")]) == 0
    stdout = capsys.readouterr().out
    assert "33.3% of items below 60% (weak consensus)" in " ".join(stdout.split())
    soft = softlabels.aggregate(str(answers), "soft-vote")
    html = build_report(soft_labels=soft)
    assert "Weak consensus (&lt; 60%)" in html or "Weak consensus (< 60%)" in html
    assert "below 0.8" not in stdout
