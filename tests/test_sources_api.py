"""The registry from Python and the command line: `softlabels sources`, fit_method,
aggregate's callback and its gold check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import softlabels
from softlabels.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["sources", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sources_lists_every_source_with_its_evidence(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(capsys)
    assert code == 0
    cells = [[c.strip() for c in line.split("│")[1:3]]
             for line in out.splitlines() if line.startswith("│")]
    rows = {name: evidence for name, evidence in cells if name}  # not a wrapped summary
    assert rows == {n: softlabels.source_evidence(n) for n in softlabels.list_sources()}
    assert rows["rules-label-model"] == "label-matrix"
    assert "EM with a full confusion matrix" in out


def test_sources_filters_by_evidence(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(capsys, "--evidence", "candidate-sets")
    assert code == 0
    names = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert names == ["candidate-sets"]


def test_sources_refuses_an_unknown_evidence_in_one_line(capsys):
    code, out, err = run(capsys, "--evidence", "votes")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "label-matrix" in err


@pytest.fixture
def answers() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 30)
    rows = [(i, w, int(truth[i] if rng.random() < 0.8 else 1 - truth[i]))
            for i in range(30) for w in range(5)]
    return pd.DataFrame(rows, columns=["item", "worker", "label"])


def test_aggregate_reports_every_iteration_to_the_callback(answers):
    seen = []
    soft = softlabels.aggregate(answers, "dawid-skene", n_iter=4, tol=0.0,
                                callback=lambda it, obj: seen.append((it, obj)))
    assert [it for it, _ in seen] == [1, 2, 3, 4]
    assert all(np.isfinite(obj) for _, obj in seen)
    again = softlabels.aggregate(answers, "dawid-skene", n_iter=4, tol=0.0)
    np.testing.assert_array_equal(soft.probs, again.probs)


def test_fit_method_returns_the_fitted_model(answers):
    model = softlabels.fit_method(answers, "one-coin-dawid-skene", gold={0: 1})
    assert model.soft_labels_.probs[0].tolist() == [0.0, 1.0]
    frame = model.reliability_frame()
    assert frame["worker"].tolist() == [0, 1, 2, 3, 4]
    assert frame["n_answers"].tolist() == [30] * 5


def test_gold_that_matches_no_item_is_refused(answers):
    with pytest.raises(softlabels.InputError, match="none of its items appear"):
        softlabels.aggregate(answers, "majority-vote", gold={"x": 1})
    with pytest.raises(softlabels.InputError, match="gold label"):
        softlabels.aggregate(answers, "majority-vote", gold={0: 7})


def test_create_source_for_every_kind():
    from softlabels.infer.partial import CandidateSets
    from softlabels.infer.rules import LabelModel

    assert isinstance(softlabels.create_source("rules-label-model", alpha=2.0), LabelModel)
    assert type(softlabels.create_source("candidate-sets")) is CandidateSets
    with pytest.raises(KeyError, match="rules-label-model"):
        softlabels.create_method("rules-label-model")  # not a crowd-answer method
