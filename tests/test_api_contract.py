"""The top-level functions: arguments of the wrong kind are named errors."""

from __future__ import annotations

import pandas as pd
import pytest

import softlabels
from softlabels import InvalidParameterError


@pytest.fixture
def answers():
    return pd.DataFrame({"item": [1, 1, 2, 2], "worker": list("abab"),
                         "label": ["x", "x", "y", "x"]})


@pytest.mark.parametrize("method", [None, 5, ["dawid-skene"]])
def test_a_method_that_is_not_a_name_is_an_invalid_parameter(answers, method):
    with pytest.raises(InvalidParameterError, match=r"^a method is given by its name, such "
                                                    r"as 'dawid-skene' \(see .*\); got "):
        softlabels.aggregate(answers, method)
    with pytest.raises(InvalidParameterError, match=r"^a source is given by its name"):
        softlabels.create_source(method)


def test_an_estimator_given_as_method_is_pointed_to_its_fit(answers):
    from softlabels.infer.crowd import DawidSkene

    with pytest.raises(InvalidParameterError, match=r"got a DawidSkene; call its fit\(\)"):
        softlabels.aggregate(answers, DawidSkene())
