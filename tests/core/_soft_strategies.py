"""A hypothesis strategy for soft labels that stress exact round trips: tiny and
subnormal probabilities, integer or unicode classes, text or integer item ids, with or
without support."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from softlabels import SoftLabels

TEXT = st.text(min_size=1, max_size=6)


@st.composite
def soft_labels(draw, *, mixed_ids: bool = False, provenance: bool = False) -> SoftLabels:
    """``mixed_ids``: text and integer ids in one set (else one kind per draw);
    ``provenance``: a drawn method name and parameter."""
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 5))
    if draw(st.booleans()):
        classes = draw(st.lists(st.integers(-10**6, 10**6), min_size=k, max_size=k, unique=True))
    else:
        classes = draw(st.lists(TEXT, min_size=k, max_size=k, unique=True))
    raw = np.array(draw(st.lists(
        st.floats(0, 1e6, allow_subnormal=True) | st.sampled_from([5e-324, 1e-300, 1e-17]),
        min_size=n * k, max_size=n * k)), dtype=np.float64).reshape(n, k)
    raw[raw.sum(axis=1) == 0, 0] = 1.0
    probs = raw / raw.sum(axis=1, keepdims=True)
    if mixed_ids:
        ids = np.array(draw(st.lists(TEXT | st.integers(-2**62, 2**62), min_size=n, max_size=n,
                                     unique=True)), dtype=object)
    elif draw(st.booleans()):
        ids = draw(st.lists(TEXT, min_size=n, max_size=n, unique=True))
    else:
        ids = draw(st.lists(st.integers(-2**62, 2**62), min_size=n, max_size=n, unique=True))
    support = draw(st.none() | st.lists(st.floats(0, 1e9), min_size=n, max_size=n))
    prov = ({"method": draw(TEXT), "params": {"alpha": draw(st.floats(-1, 1))}}
            if provenance else None)
    return SoftLabels(probs, classes, ids, provenance=prov, support=support)
