"""The shared checks of softlabels.core.validation."""

from __future__ import annotations

import numpy as np
import pytest

from softlabels.core.validation import check_random_state
from softlabels.core.errors import InvalidParameterError


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
