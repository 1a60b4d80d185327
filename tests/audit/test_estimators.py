"""Every audit estimator shares the one estimator base and declares its parameter
constraints, checked by the one hook; audit imports nothing from infer."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from softlabels.audit import (
    LabelPowersetICP,
    MahalanobisOOD,
    SplitConformalClassifier,
    TemperatureScaling,
    VectorScaling,
)
from softlabels.core.base import BaseEstimator, clone
from softlabels.core.errors import InvalidParameterError

ESTIMATORS = [TemperatureScaling, VectorScaling, SplitConformalClassifier, LabelPowersetICP,
              MahalanobisOOD]
AUDIT = Path(__file__).resolve().parents[2] / "src" / "softlabels" / "audit"


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_constraints_cover_every_parameter(cls):
    est = cls()
    assert isinstance(est, BaseEstimator)
    assert set(cls._parameter_constraints) == set(est.get_params())
    est._validate_params()  # the defaults pass
    assert repr(clone(est)) == repr(est) == f"{cls.__name__}()"


@pytest.mark.parametrize(
    ("cls", "param", "bad"),
    [
        (TemperatureScaling, "max_iter", 0),
        (VectorScaling, "tol", 0.0),
        (TemperatureScaling, "inputs", "logit"),
        (SplitConformalClassifier, "alpha", 1.0),
        (SplitConformalClassifier, "mondrian", 1),
        (SplitConformalClassifier, "lam", -1.0),
        (LabelPowersetICP, "max_region_size", 0),
        (LabelPowersetICP, "norm", "l3"),
        (MahalanobisOOD, "shrinkage", 1.5),
    ],
)
def test_the_hook_names_the_parameter_and_the_estimator(cls, param, bad):
    est = cls().set_params(**{param: bad})
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of {cls.__name__}"):
        est._validate_params()


def test_fit_runs_the_hook():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=20)
    y = rng.integers(0, 3, 20)
    with pytest.raises(InvalidParameterError, match="'max_iter' parameter of TemperatureScaling"):
        TemperatureScaling(max_iter=0).fit(np.log(p), y)
    with pytest.raises(InvalidParameterError, match="'shrinkage' parameter of MahalanobisOOD"):
        MahalanobisOOD(shrinkage=-0.1).fit(p, y)


def test_audit_imports_nothing_from_infer():
    found = []
    for path in AUDIT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found += [f"{path.name}: {n}" for n in names if n.startswith("softlabels.infer")]
    assert found == []
