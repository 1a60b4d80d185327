"""Shared test data for the report tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Names that would run code or break the markup if they were not escaped. Each one,
#: if it executed, sets window.__pwned or writes to the console.
HOSTILE = [
    "<script>window.__pwned=1;console.error('pwned')</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "</svg><script>window.__pwned=3</script>",
    "' onmouseover='window.__pwned=4' x='",
    "</title></text><svg onload=window.__pwned=5>",
    "&lt;b&gt; & \"quotes\" 'single'",
]


def model_inputs(answers: pd.DataFrame, seed: int = 0) -> tuple[pd.Series, np.ndarray]:
    """Labels (the majority answer, 10% flipped) and predicted probabilities for the
    items of ``answers``, in their order of first appearance."""
    from softlabels.core.annotations import Annotations

    rng = np.random.default_rng(seed)
    classes = Annotations.from_frame(answers).classes
    k = len(classes)
    ids = pd.unique(answers["item"])
    major = answers.groupby("item")["label"].agg(lambda s: s.value_counts().index[0]).loc[ids]
    codes = pd.Index(classes).get_indexer(major.to_numpy())
    z = 2.5 * np.eye(k)[codes] + rng.normal(0.0, 1.0, (len(ids), k))
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    noisy = codes.copy()
    flip = rng.random(len(ids)) < 0.1
    noisy[flip] = rng.integers(0, k, int(flip.sum()))
    return pd.Series(np.asarray(classes, dtype=object)[noisy], index=ids), p
