"""Labeling functions: rules that vote for a class or abstain, and applying them to data."""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, overload

import numpy as np
import pandas as pd

from softlabels.core.annotations import show
from softlabels.core.errors import InputError
from softlabels.core.io import check_readable
from softlabels.infer.rules.votes import ABSTAIN, resolve_classes

__all__ = ["LabelingFunction", "labeling_function", "apply_rules", "load_rules"]


class Row(dict):  # type: ignore[type-arg]
    """One data row given to a row rule: ``row.text`` and ``row["text"]`` both work."""

    __slots__ = ()

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(
                f"the row has no column {key!r} (columns: {', '.join(map(str, self))})"
            ) from None


class LabelingFunction:
    """A rule that votes for a class (an index ``0 .. K-1``) or abstains.

    Parameters
    ----------
    func : callable
        A row rule ``func(row) -> int`` (the default), or with ``vectorized=True`` a
        rule over the whole table ``func(frame) -> array of n votes``. With ``column``
        the rule receives that column's value (row rule) or Series (vectorised rule)
        instead of the row or the table.
    name : str, optional
        Defaults to ``func.__name__``. Names the rule's column in the vote matrix.
    abstain : object, default=-1
        The value ``func`` returns to abstain (e.g. ``None``); it becomes -1 in the vote
        matrix.
    column : str, optional
        The one column the rule reads.
    vectorized : bool, default=False
        ``func`` maps the table (or the column) to all votes at once: much faster than a
        row rule on large tables.

    Examples
    --------
    >>> import pandas as pd
    >>> lf = LabelingFunction(lambda text: 1 if "http" in text else -1, name="link",
    ...                       column="text")
    >>> lf.apply(pd.DataFrame({"text": ["see http://x.io", "nice song"]})).tolist()
    [1, -1]
    """

    def __init__(
        self,
        func: Callable[[Any], Any],
        *,
        name: str | None = None,
        abstain: Any = ABSTAIN,
        column: str | None = None,
        vectorized: bool = False,
    ) -> None:
        if not callable(func):
            raise InputError(f"a labeling function must be callable; got {type(func).__name__}.")
        self.func = func
        self.name = str(name if name is not None else getattr(func, "__name__", "rule"))
        self.abstain = abstain
        self.column = column
        self.vectorized = bool(vectorized)
        self.__doc__ = getattr(func, "__doc__", None)

    def __call__(self, x: Any) -> Any:
        """The rule's raw output on one row (or on the table, when vectorised).

        Parameters
        ----------
        x : object
            A row, a column value, the table or a column, as the rule takes it.
        """
        return self.func(x)

    def __repr__(self) -> str:
        extra = f", column={self.column!r}" if self.column is not None else ""
        extra += ", vectorized=True" if self.vectorized else ""
        return f"LabelingFunction({self.name!r}{extra})"

    def apply(self, data: Any, n_classes: int | None = None) -> np.ndarray:
        """Votes on every row of ``data`` as an int array (-1 = abstain).

        Raises :class:`InputError` naming the rule and the row when the rule raises, or
        returns something other than a class index in ``0 .. n_classes-1`` (any index
        >= 0 when ``n_classes`` is None) or its abstain value.

        Parameters
        ----------
        data : DataFrame or Series
            The items, one row each (a Series is read as a one-column table).
        n_classes : int, optional
            Number of classes, to check the votes against.

        Returns
        -------
        ndarray of int64, shape (n_rows,)
        """
        frame = _as_frame(data)
        raw = self._raw_votes(frame)
        return self._to_codes(raw, frame, n_classes)

    # ------------------------------------------------------------------ internals
    def _raw_votes(self, frame: pd.DataFrame) -> Any:
        if self.column is not None and self.column not in frame.columns:
            raise InputError(
                f"rule {self.name!r} reads the column {self.column!r}, which the data lacks "
                f"(columns: {', '.join(map(str, frame.columns[:10]))})."
            )
        if self.vectorized:
            arg = frame[self.column] if self.column is not None else frame
            try:
                out = self.func(arg)
            except Exception as err:  # a user's rule may raise anything
                raise InputError(
                    f"rule {self.name!r} raised {type(err).__name__}: {err}"
                ) from err
            out = np.asarray(out.to_numpy() if isinstance(out, (pd.Series, pd.Index)) else out)
            if out.shape != (len(frame),):
                raise InputError(
                    f"rule {self.name!r} is vectorised and must return one vote per row "
                    f"({len(frame)}); it returned shape {out.shape}."
                )
            return out
        if self.column is not None:
            values: list[Any] = frame[self.column].tolist()
        else:
            values = [Row(r) for r in frame.to_dict("records")]
        func = self.func
        out_list: list[Any] = []
        append = out_list.append
        i = 0
        try:
            for i, value in enumerate(values):  # noqa: B007 - i names the failing row
                append(func(value))
        except Exception as err:  # a user's rule may raise anything
            raise InputError(
                f"rule {self.name!r} raised {type(err).__name__} on row {i} "
                f"(index {show(frame.index[i])}): {err}"
            ) from err
        out = np.empty(len(out_list), dtype=object)
        out[:] = out_list
        return out

    def _to_codes(self, raw: np.ndarray, frame: pd.DataFrame, n_classes: int | None) -> np.ndarray:
        abstain = self.abstain
        if abstain is None:
            is_abstain = np.fromiter((v is None for v in raw), bool, raw.shape[0])
        else:
            with np.errstate(invalid="ignore"):
                is_abstain = np.asarray(raw == abstain, dtype=bool)
                if is_abstain.shape != raw.shape:  # comparison not element-wise
                    is_abstain = np.fromiter((v == abstain for v in raw), bool, raw.shape[0])
        codes = np.full(raw.shape[0], ABSTAIN, dtype=np.int64)
        ok = ~is_abstain
        if raw.dtype.kind in "iu":
            codes[ok] = raw[ok]
            bad = ok & (codes < 0)
        elif raw.dtype.kind == "f":
            vals = raw[ok]
            integral = np.isfinite(vals) & (vals == np.round(vals))
            bad = np.zeros(raw.shape[0], dtype=bool)
            bad[np.flatnonzero(ok)[~integral]] = True
            codes[ok & ~bad] = vals[integral].astype(np.int64)
            bad |= ok & (codes < 0)
        else:
            bad = np.zeros(raw.shape[0], dtype=bool)
            idx = np.flatnonzero(ok)
            for i in idx:  # object outputs of row rules: already one Python call per row
                v = raw[i]
                if isinstance(v, (bool, np.bool_)):
                    bad[i] = True
                elif isinstance(v, (int, np.integer)):
                    codes[i] = int(v)
                    bad[i] = v < 0
                elif isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
                    codes[i] = int(v)
                    bad[i] = v < 0
                else:
                    bad[i] = True
        if n_classes is not None:
            bad |= ok & (codes >= n_classes)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            expected = (
                f"a class index in 0..{n_classes - 1}" if n_classes is not None else "a class index >= 0"
            )
            hint = " (a boolean: return a class index, or the abstain value when False)" if isinstance(
                raw[i], (bool, np.bool_)
            ) else ""
            raise InputError(
                f"rule {self.name!r} returned {show(raw[i])} on row {i} (index "
                f"{show(frame.index[i])}); expected {expected} or its abstain value "
                f"{show(abstain)}{hint}."
            )
        return codes


@overload
def labeling_function(func: Callable[[Any], Any], /) -> LabelingFunction: ...


@overload
def labeling_function(
    *,
    name: str | None = None,
    abstain: Any = ABSTAIN,
    column: str | None = None,
    vectorized: bool = False,
) -> Callable[[Callable[[Any], Any]], LabelingFunction]: ...


def labeling_function(
    func: Callable[[Any], Any] | None = None,
    /,
    *,
    name: str | None = None,
    abstain: Any = ABSTAIN,
    column: str | None = None,
    vectorized: bool = False,
) -> Any:
    """Decorator that turns a function into a :class:`LabelingFunction`.

    Use it bare (``@labeling_function``) or with options
    (``@labeling_function(name=..., abstain=None, column="text", vectorized=True)``);
    see :class:`LabelingFunction` for their meaning.

    Parameters
    ----------
    func : callable, optional
        The rule, when the decorator is used bare; omitted when options are given.
    name : str, optional
        Names the rule's column in the vote matrix (default: ``func.__name__``).
    abstain : object, default=-1
        The value the rule returns to abstain (e.g. ``None``); it becomes -1 in the
        vote matrix.
    column : str, optional
        The one column the rule reads.
    vectorized : bool, default=False
        The rule maps the table (or the column) to all votes at once.

    Returns
    -------
    LabelingFunction or callable
        The labeling function (bare use), or the decorator that makes one.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> SPAM, HAM, ABSTAIN = 1, 0, -1
    >>> @labeling_function
    ... def has_link(row):
    ...     return SPAM if "http" in row.text else ABSTAIN
    >>> @labeling_function(column="text", vectorized=True)
    ... def short(text):
    ...     return np.where(text.str.split().str.len() <= 3, HAM, ABSTAIN)
    >>> comments = pd.DataFrame({"text": ["nice song", "win money at http://x.io now"]})
    >>> apply_rules([has_link, short], comments)
       has_link  short
    0        -1      0
    1         1     -1
    """

    def wrap(f: Callable[[Any], Any]) -> LabelingFunction:
        return LabelingFunction(f, name=name, abstain=abstain, column=column, vectorized=vectorized)

    if func is not None:
        return wrap(func)
    return wrap


def as_rules(rules: Any) -> list[LabelingFunction]:
    """A list of LabelingFunctions from one rule, a callable or an iterable of them."""
    if isinstance(rules, LabelingFunction) or callable(rules):
        rules = [rules]
    if isinstance(rules, (str, bytes)) or not isinstance(rules, Iterable):
        raise InputError(
            f"rules must be a labeling function or a list of them; got {type(rules).__name__}."
        )
    out: list[LabelingFunction] = []
    for j, rule in enumerate(rules):
        if isinstance(rule, LabelingFunction):
            out.append(rule)
        elif callable(rule):
            out.append(LabelingFunction(rule))
        else:
            raise InputError(f"rules[{j}] is {type(rule).__name__}, not a callable.")
    if not out:
        raise InputError("rules is empty; give at least one labeling function.")
    names = [r.name for r in out]
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise InputError(
                f"two rules are named {n!r}; give each a unique name "
                "(@labeling_function(name=...))."
            )
        seen.add(n)
    return out


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame(name=data.name if data.name is not None else "value")
    raise InputError(
        f"data must be a pandas DataFrame (or Series); got {type(data).__name__}."
    )


def apply_rules(rules: Any, data: Any, *, classes: Any = None) -> pd.DataFrame:
    """Apply labeling functions to every row: the vote matrix.

    Parameters
    ----------
    rules : LabelingFunction, callable or sequence of them
        Plain callables become row rules named after the function.
    data : DataFrame
        One row per item. Row rules receive each row (``row.col`` or ``row["col"]``),
        vectorised rules the whole table (or their column).
    classes : int or sequence, optional
        The number of classes (or their names): votes must lie in ``0 .. K-1``. When
        omitted any index ``>= 0`` is accepted.

    Returns
    -------
    DataFrame of shape (n_items, n_rules)
        Dense int32 votes, ``-1`` for abstain; one column per rule (named after it), the
        index of ``data``. ``.to_numpy()`` gives the plain ``(n_items, n_rules)`` array
        used by snorkel; every function of :mod:`softlabels.infer.rules` accepts both.

    Raises
    ------
    InputError
        A rule raised (the message names the rule and the row), returned a value that is
        neither a class index in range nor its abstain value (names rule, row and value),
        or two rules share a name.

    Examples
    --------
    >>> import pandas as pd
    >>> rules = [LabelingFunction(lambda t: 1 if "!" in t else -1, name="bang", column="t")]
    >>> apply_rules(rules, pd.DataFrame({"t": ["hi!", "hi"]}), classes=2)["bang"].tolist()
    [1, -1]
    """
    lfs = as_rules(rules)
    frame = _as_frame(data)
    k = None if classes is None else int(resolve_classes(classes, "apply_rules").shape[0])
    columns = {lf.name: lf.apply(frame, k).astype(np.int32) for lf in lfs}
    return pd.DataFrame(columns, index=frame.index)


def load_rules(path: str | os.PathLike[str]) -> list[LabelingFunction]:
    """Load labeling functions from a Python file.

    The file is executed as a module (so only load files you trust). Its rules are the
    module-level ``RULES`` list when there is one, otherwise every
    :class:`LabelingFunction` defined at module level (e.g. with
    ``@labeling_function``), in definition order.

    Parameters
    ----------
    path : str or path
        A readable ``.py`` file. Another suffix, a syntax error, an exception while
        the file runs, no rules, or rules with the same name raise :class:`InputError`
        naming the file.

    Returns
    -------
    list of LabelingFunction
    """
    p = check_readable(path)
    if p.suffix != ".py":
        raise InputError(f"{path}: rules are read from a Python file (.py).")
    mod_name = f"_softlabels_rules_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(mod_name, p)
    if spec is None or spec.loader is None:  # pragma: no cover - .py files always load
        raise InputError(f"{path}: cannot be loaded as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise InputError(f"{path}: syntax error on line {err.lineno}: {err.msg}.") from None
    except Exception as err:
        raise InputError(f"{path}: running the file raised {type(err).__name__}: {err}") from None
    finally:
        sys.modules.pop(mod_name, None)
    if hasattr(module, "RULES"):
        try:
            return as_rules(module.RULES)
        except InputError as err:
            raise InputError(f"{path}: RULES: {err}") from None
    found = [v for v in vars(module).values() if isinstance(v, LabelingFunction)]
    if not found:
        raise InputError(
            f"{path}: defines no rules; decorate functions with @labeling_function or "
            "define a module-level RULES list."
        )
    return as_rules(found)

