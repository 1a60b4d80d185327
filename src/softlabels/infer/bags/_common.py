"""Helpers shared by the bag methods (private to :mod:`softlabels.infer.bags`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse

from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels
from softlabels.core.validation import check_features

if TYPE_CHECKING:
    from softlabels.infer.bags.evidence import BagProportions, BagScores


def show(bag: Any) -> str:
    return repr(bag.item() if isinstance(bag, np.generic) else bag)


def indicator(codes: np.ndarray, n_bags: int) -> sparse.csr_matrix:
    """The (n_bags, n_items) 0/1 membership matrix.

    Parameters
    ----------
    codes : numpy.ndarray of int, shape (n_items,)
        Bag code of each item.
    n_bags : int
        Number of bags.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_bags, n_items)
    """
    n = codes.shape[0]
    return sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(n_bags, n))


def canonical_order(X: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """A row order that depends only on the rows' contents (bag, then features), so that
    fitted results do not depend on how the input rows were ordered.

    Parameters
    ----------
    X : numpy.ndarray, shape (n_items, n_features)
        The features.
    codes : numpy.ndarray of int, shape (n_items,)
        Bag code of each item.

    Returns
    -------
    numpy.ndarray of int, shape (n_items,)
        The row order.
    """
    keys = [X[:, j] for j in range(X.shape[1] - 1, -1, -1)] + [codes]
    return np.lexsort(keys)


def check_item_ids(item_ids: Any, n: int) -> np.ndarray | None:
    if item_ids is None:
        return None
    ids = np.asarray(item_ids)
    if ids.shape != (n,):
        raise InputError(f"item_ids must have shape ({n},); got {ids.shape}.")
    return ids


def provenance(method: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"method": method, "params": params, **extra}


def check_n_classes(probs: np.ndarray, bags: BagProportions, name: str) -> None:
    if probs.shape[1] != bags.n_classes:
        raise InputError(
            f"{name} has {probs.shape[1]} class columns but the bag proportions have "
            f"{bags.n_classes} classes."
        )


def own_classes(pred_probs: Any, proportions: Any, counts: Any) -> Any:
    """The classes of a SoftLabels ``pred_probs`` when the table of proportions (or
    counts) does not name its own (it is not a DataFrame), else None.

    Parameters
    ----------
    pred_probs : Any
        Model probabilities.
    proportions : Any
        The table of bag proportions.
    counts : Any
        The table of bag counts; used instead of ``proportions`` when not None.

    Returns
    -------
    numpy.ndarray or None
    """
    table = proportions if counts is None else counts
    if isinstance(pred_probs, SoftLabels) and not isinstance(table, pd.DataFrame):
        return pred_probs.classes
    return None


def match_classes(pred_probs: Any, bags: BagProportions, name: str) -> Any:
    """A SoftLabels ``pred_probs`` that names the bags' classes in another order, with its
    columns put in the bags' order; one whose classes share no name with the bags' is
    taken by position (as an array), and one that shares only some is an error.

    Parameters
    ----------
    pred_probs : SoftLabels or array-like
        Model probabilities; anything but a SoftLabels is returned as it is.
    bags : BagProportions
        The bag supervision, whose classes set the order.
    name : str
        Name of the argument, used in the error message.

    Returns
    -------
    SoftLabels or numpy.ndarray
        ``pred_probs`` unchanged, or its probabilities with the columns in the bags' order.

    Raises
    ------
    InputError
        When the classes overlap only in part.
    """
    if not isinstance(pred_probs, SoftLabels):
        return pred_probs
    names = pd.Index(pred_probs.classes)
    cols = names.get_indexer(bags.classes)
    if (cols < 0).all():
        return pred_probs
    if (cols < 0).any() or names.size != cols.size:
        raise InputError(
            f"{name} has classes {names.tolist()} but the bag proportions have "
            f"{bags.classes.tolist()}; give the same classes, in any order."
        )
    return pred_probs.probs[:, cols]


def check_width(X: np.ndarray, width: int) -> None:
    if X.shape[1] != width:
        raise InputError(f"X has {X.shape[1]} features but the model was fitted on {width}.")


def check_binary(bags: BagProportions, owner: str) -> BagProportions:
    if bags.n_classes != 2:
        raise InputError(
            f"{owner} is for binary labels; the bag proportions have {bags.n_classes} "
            "classes (use DLLP for more)."
        )
    return bags


def check_evidence(evidence: Any, kind: type, owner: str, make: str,
                   rest: str = "the features go in X=") -> Any:
    """``evidence`` if it is a ``kind`` container, else an error that says how to make one
    (and where the other inputs go: ``rest``).

    Parameters
    ----------
    evidence : Any
        The first argument of ``fit``.
    kind : type
        The container class wanted.
    owner : str
        Name of the estimator, used in the error message.
    make : str
        How to make a ``kind``, used in the error message.
    rest : str, default 'the features go in X='
        Where the other inputs go, used in the error message.

    Returns
    -------
    Any
        ``evidence``.

    Raises
    ------
    InputError
        When ``evidence`` is not a ``kind``.
    """
    if not isinstance(evidence, kind):
        raise InputError(
            f"{owner}.fit takes {kind.__name__} as its first argument (make it with "
            f"{make}); got {type(evidence).__name__}; {rest}."
        )
    return evidence


def check_bag_features(X: Any, bags: BagProportions | BagScores) -> np.ndarray:
    """The feature matrix, one row per item of ``bags``.

    Parameters
    ----------
    X : array-like of shape (n_items, n_features)
        The features.
    bags : BagProportions or BagScores
        The bag supervision, which fixes the number of items.

    Returns
    -------
    numpy.ndarray
        The checked features (``check_features`` with ``name="X"``).
    """
    return check_features(X, name="X", n_items=bags.n_items)
