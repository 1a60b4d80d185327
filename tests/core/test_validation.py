"""The shared checks of softlabels.core.validation."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from softlabels.core.validation import check_random_state
from softlabels.core.errors import InputError, InvalidParameterError


def test_random_state_accepts_none_ints_and_generators():
    assert check_random_state(3).random() == np.random.default_rng(3).random()
    assert check_random_state(np.int64(3)).random() == np.random.default_rng(3).random()
    rng = np.random.default_rng(5)
    assert check_random_state(rng) is rng
    assert isinstance(check_random_state(None), np.random.Generator)


@pytest.mark.parametrize("seed, match", [(-1, "must be >= 0; got -1"), (True, "got bool"),
                                         ("7", "got str"), (1.5, "got float")])
def test_random_state_rejects_negative_and_non_integer_seeds(seed, match):
    with pytest.raises(InvalidParameterError, match=match):
        check_random_state(seed)


@pytest.mark.parametrize("labels, shown", [([0, 1e20], "1e+20"), ([0, -1e20], "-1e+20"),
                                           ([0, 2**63 - 1], str(2**63 - 1)),
                                           (np.array([0, 2**64 - 1], dtype=np.uint64),
                                            str(2**64 - 1))])
def test_check_labels_names_a_huge_label_as_given(labels, shown):
    """Not as the int64 it wraps around to."""
    from softlabels.core.validation import check_labels

    with pytest.raises(InputError, match=rf"^labels: 1 values outside 0\.\.1 \(first at row 1: "
                                         rf"{re.escape(shown)}\)\.$"):
        check_labels(labels, 2)


@pytest.mark.parametrize("labels", [np.array([0, 1, 1], dtype=object),
                                    pd.Series([0, 1, 1], dtype=object),
                                    np.array([np.int64(0), 1, np.uint8(1)], dtype=object)])
def test_check_labels_takes_integers_held_as_objects(labels):
    """pandas gives object columns of Python ints (after a filter of mixed rows)."""
    from softlabels.core.validation import check_labels

    out = check_labels(labels, 2)
    assert out.dtype == np.int64 and out.tolist() == [0, 1, 1]


@pytest.mark.parametrize("labels, shown", [(np.array([0, 2**70], dtype=object), str(2**70)),
                                           (np.array([0, -1], dtype=object), "-1")])
def test_check_labels_names_an_object_integer_out_of_range(labels, shown):
    from softlabels.core.validation import check_labels

    with pytest.raises(InputError, match=rf"^labels: 1 values outside 0\.\.1 \(first at row 1: "
                                         rf"{shown}\)\.$"):
        check_labels(labels, 2)


@pytest.mark.parametrize("labels", [np.array([0, True], dtype=object),
                                    np.array([0, "1"], dtype=object),
                                    np.array([0, None], dtype=object)])
def test_check_labels_refuses_objects_that_are_not_all_integers(labels):
    from softlabels.core.validation import check_labels

    with pytest.raises(InputError, match=r"^labels must be integer class indices 0\.\.1; got "
                                         r"dtype object\.$"):
        check_labels(labels, 2)


def test_check_probs_names_a_row_of_another_length():
    from softlabels.core.validation import check_probs

    with pytest.raises(InputError, match=r"^probs: row 2 has 1 values but row 0 has 2; every "
                                         r"row has one per class\.$"):
        check_probs([[0.5, 0.5], [0.25, 0.75], [1.0]])
    with pytest.raises(InputError, match=r"^probs must be numeric; could not convert"):
        check_probs([[0.5, "x"]])
