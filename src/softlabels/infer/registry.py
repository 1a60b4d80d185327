"""The registry of inference sources, chosen by name in Python and on the command line.

A source registers itself when its class is defined: every subclass of
:class:`~softlabels.infer.base.BaseInferrer` with a non-empty ``name`` lands in
:data:`SOURCES` together with the kind of ``evidence`` it fits on (see
``BaseInferrer.__init_subclass__``). The names are written once, at the class.

Listing imports the inference subpackages on first use, so ``import softlabels``
stays fast:

>>> import softlabels
>>> "dawid-skene" in softlabels.list_sources(evidence="answers")
True
>>> softlabels.source_evidence("rules-label-model")
'label-matrix'
"""

from __future__ import annotations

import importlib
from typing import Any

from softlabels.core.registry import Registry

__all__ = [
    "EVIDENCE",
    "METHODS",
    "SOURCES",
    "create_method",
    "create_source",
    "list_methods",
    "list_sources",
    "method_summary",
    "parse_spec",
    "spec_of",
    "source_evidence",
    "source_summary",
]

#: the kinds of evidence a source fits on
EVIDENCE = (
    "answers",
    "ratings",
    "rating-distributions",
    "pairwise-comparisons",
    "label-matrix",
    "teacher-outputs",
    "teacher-labels",
    "features",
    "bag-proportions",
    "bag-scores",
    "set-labels",
    "candidate-sets",
    "complementary-labels",
    "positive-unlabeled",
)

#: the modules whose classes register the sources (imported when a listing is asked for)
SOURCE_MODULES = (
    "softlabels.infer.crowd",
    "softlabels.infer.rules",
    "softlabels.infer.teachers",
    "softlabels.infer.partial",
    "softlabels.infer.bags",
    "softlabels.infer.ratings",
)


class SourceRegistry(Registry[type]):
    """A :class:`Registry` of classes that also keeps the evidence each one takes.

    Registering the same class again (same module and qualified name, as after
    ``importlib.reload``) replaces the entry; a different class under a taken name
    is an error naming both.
    """

    def __init__(self, kind: str, listing: str) -> None:
        super().__init__(kind, listing)
        self._evidence: dict[str, str] = {}

    def add(self, name: str, cls: type, *, evidence: str, summary: str = "") -> None:
        if evidence not in EVIDENCE:
            raise ValueError(
                f"{cls.__module__}.{cls.__qualname__}: evidence {evidence!r} is not one of "
                f"{list(EVIDENCE)}."
            )
        old = self.peek(name)
        if old is not None:
            if isinstance(old, type) and _same_class(old, cls):
                self.remove(name)
            else:
                where = f"{old.__module__}.{old.__qualname__}" if isinstance(old, type) else old
                raise ValueError(
                    f"{self.kind} {name!r} is already registered by {where}; "
                    f"{cls.__module__}.{cls.__qualname__} needs another name."
                )
        self.register(name, cls, summary=summary)
        self._evidence[name] = evidence

    def evidence(self, name: str) -> str:
        self.get(name)  # the helpful KeyError for unknown names
        return self._evidence[name]

    # every lookup first imports the modules that define the sources
    def get(self, name: str) -> type:
        _load()
        return super().get(name)

    def names(self, pattern: str = "*") -> list[str]:
        _load()
        return super().names(pattern)

    def __contains__(self, name: object) -> bool:
        _load()
        return super().__contains__(name)


def _same_class(a: type, b: type) -> bool:
    return a is b or (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


SOURCES = SourceRegistry("source", "softlabels.list_sources() or `softlabels sources`")
#: the sources that aggregate crowd answers (``evidence="answers"``): the methods of
#: :func:`softlabels.aggregate` and ``softlabels aggregate``
METHODS = SourceRegistry("method", "softlabels.list_methods() or `softlabels methods`")


def register_source(cls: type, *, summary: str = "") -> None:
    """Add ``cls`` under its ``name`` (called by ``BaseInferrer.__init_subclass__``)."""
    name, evidence = cls.name, cls.evidence  # type: ignore[attr-defined]
    SOURCES.add(name, cls, evidence=evidence, summary=summary)
    if evidence == "answers":
        METHODS.add(name, cls, evidence=evidence, summary=summary)


_loaded = False


def _load() -> None:
    """Import the modules that define sources (once; those absent are skipped)."""
    global _loaded
    if _loaded:
        return
    _loaded = True  # set first: the imports below register classes, which looks up names
    try:
        for module in SOURCE_MODULES:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as err:
                if err.name != module:
                    raise
    except BaseException:
        _loaded = False
        raise


def list_sources(pattern: str = "*", evidence: str | None = None) -> list[str]:
    """Names of every inference source, optionally filtered by a glob ``pattern`` and
    by the kind of ``evidence`` it fits on (e.g. ``"answers"``, ``"label-matrix"``).

    Parameters
    ----------
    pattern : str, default="*"
        A glob the names must match, case-sensitive (``"dawid*"``).
    evidence : str, optional
        One of :data:`EVIDENCE`: only the sources that fit on that kind of evidence.
        Any other value raises :class:`~softlabels.InvalidParameterError`, which
        suggests the nearest kind.

    Returns
    -------
    list of str
        The names, in registration order.
    """
    if evidence is not None and evidence not in EVIDENCE:
        from softlabels.core.errors import InvalidParameterError
        from softlabels.core.validation import suggest

        raise InvalidParameterError(
            f"Unknown evidence {evidence!r}.{suggest(evidence, EVIDENCE)} "
            f"Kinds: {', '.join(EVIDENCE)}."
        )
    names = SOURCES.names(pattern)
    if evidence is not None:
        names = [n for n in names if SOURCES.evidence(n) == evidence]
    return names


def source_evidence(name: str) -> str:
    """The kind of evidence the source ``name`` fits on.

    Parameters
    ----------
    name : str
        A registered source name; an unknown one raises
        :class:`~softlabels.core.errors.UnknownNameError`, which suggests the
        nearest names.

    Returns
    -------
    str
        One of :data:`EVIDENCE`.
    """
    return SOURCES.evidence(name)


def source_summary(name: str) -> str:
    """One line on what the source ``name`` does.

    Parameters
    ----------
    name : str
        A registered source name; an unknown one raises
        :class:`~softlabels.core.errors.UnknownNameError`.

    Returns
    -------
    str
        The summary, empty when the source was registered without one.
    """
    return SOURCES.summary(name)


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """A source with parameters written as text, ``"name:key=value,key=value"``, as the
    command line's ``--method`` takes it: the name and the parameters. Values are Python
    literals where they parse as one (``0``, ``1e-3``, ``None``, ``True``, ``'x'``,
    ``['a', 'b']``: commas inside brackets or quotes do not separate parameters), else
    strings.

    Parameters
    ----------
    spec : str
        ``"name"`` or ``"name:key=value,key=value"``. A part without ``=`` or with an
        empty key raises :class:`~softlabels.InvalidParameterError`.

    Returns
    -------
    name : str
        The source name, stripped of spaces.
    params : dict
        The parameters by key (empty without a ``:``).

    Examples
    --------
    >>> parse_spec("dawid-skene:uncertainty=plug-in,alpha=0")
    ('dawid-skene', {'uncertainty': 'plug-in', 'alpha': 0})
    >>> parse_spec("glad")
    ('glad', {})
    """
    import ast

    from softlabels.core.errors import InvalidParameterError

    name, _, rest = spec.partition(":")
    params: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in _split_parameters(rest))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise InvalidParameterError(
                f"{spec!r}: {part!r} is not key=value (write name:key=value,key=value)."
            )
        try:
            params[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            params[key.strip()] = value.strip()
    return name.strip(), params


def _split_parameters(text: str) -> list[str]:
    """``text`` cut at the commas outside brackets and quoted strings (a quote opens a
    string only where a value starts, so ``it's`` in a bare word is just a letter)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"" and text[:i].rstrip()[-1:] in ("=", "[", "(", "{", ",", ":"):
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth <= 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _spec_value(value: Any) -> str:
    """``value`` as :func:`parse_spec` reads it back: a string that would read as
    something else (``'1'``, ``'a,b'``) is quoted."""
    if not isinstance(value, str):
        return str(value)
    return value if parse_spec(f"x:v={value}")[1].get("v") == value else repr(value)


def spec_of(model: Any) -> str:
    """The name of a source with the parameters that differ from its defaults, in the
    form :func:`parse_spec` reads back: ``"dawid-skene:uncertainty=leave-self-out"``.

    Parameters
    ----------
    model : estimator
        A registered source (fitted or not); its class must construct with no
        arguments, for its defaults.

    Returns
    -------
    str

    Examples
    --------
    >>> from softlabels.infer.crowd import DawidSkene
    >>> spec_of(DawidSkene(uncertainty="plug-in", n_iter=50))
    'dawid-skene:n_iter=50,uncertainty=plug-in'
    >>> spec_of(DawidSkene())
    'dawid-skene'
    """
    defaults = type(model)().get_params()
    changed = {k: v for k, v in sorted(model.get_params().items()) if defaults.get(k) != v}
    if not changed:
        return str(model.name)
    return f"{model.name}:" + ",".join(f"{k}={_spec_value(v)}" for k, v in changed.items())


def create_source(name: str, **params: Any) -> Any:
    """An unfitted source by registry name, e.g. ``create_source("glad", n_iter=50)``;
    the name may carry parameters (``"glad:n_iter=50"``, see :func:`parse_spec`), which
    those given as keywords override.

    Parameters
    ----------
    name : str
        One of :func:`list_sources`, optionally followed by ``":key=value,..."``.
        An unknown name raises :class:`~softlabels.core.errors.UnknownNameError`,
        which suggests the nearest names.
    **params
        Parameters of the source's constructor. One it does not take raises
        :class:`~softlabels.InvalidParameterError` listing those it does.

    Returns
    -------
    estimator
        The unfitted source.
    """
    return _create(SOURCES, name, params)


def list_methods(pattern: str = "*") -> list[str]:
    """Names of the crowd-answer methods (the sources with ``evidence="answers"``).

    Parameters
    ----------
    pattern : str, default="*"
        A glob the names must match, case-sensitive (``"*skene*"``).

    Returns
    -------
    list of str
        The names, in registration order.
    """
    return METHODS.names(pattern)


def method_summary(name: str) -> str:
    """One line on what the crowd-answer method ``name`` does.

    Parameters
    ----------
    name : str
        One of :func:`list_methods`; another name raises
        :class:`~softlabels.core.errors.UnknownNameError`.

    Returns
    -------
    str
    """
    return METHODS.summary(name)


def create_method(name: str, **params: Any) -> Any:
    """An unfitted crowd model by registry name, e.g. ``create_method("glad", n_iter=50)``
    or ``create_method("glad:n_iter=50")``.

    Parameters
    ----------
    name : str
        One of :func:`list_methods`, optionally followed by ``":key=value,..."``
        (see :func:`parse_spec`). An unknown name raises
        :class:`~softlabels.core.errors.UnknownNameError`; the name of a source that
        fits on other evidence than answers raises it too, pointing at
        :func:`create_source`.
    **params
        Parameters of the model's constructor; they override those written in
        ``name``. One it does not take raises :class:`~softlabels.InvalidParameterError`
        listing those it does.

    Returns
    -------
    estimator
        The unfitted model.
    """
    return _create(METHODS, name, params)


def _create(registry: SourceRegistry, spec: str, params: dict[str, Any]) -> Any:
    if not isinstance(spec, str):
        from softlabels.core.errors import InvalidParameterError

        got = (f"a {type(spec).__name__}; call its fit() to use it" if hasattr(spec, "fit")
               else repr(spec))
        raise InvalidParameterError(
            f"a {registry.kind} is given by its name, such as 'dawid-skene' (see "
            f"{registry.listing}); got {got}."
        )
    name, given = parse_spec(spec)
    params = {**given, **params}
    if registry is METHODS and name not in METHODS and name in SOURCES:
        from softlabels.core.errors import UnknownNameError

        raise UnknownNameError(
            f"{name!r} is not a crowd-answer method: it fits on {SOURCES.evidence(name)}, "
            f"not on answers; create it with softlabels.create_source(). See {METHODS.listing}."
        )
    cls = registry.get(name)
    try:
        return cls(**params)
    except TypeError as err:
        from softlabels.core.errors import InvalidParameterError

        valid = cls._param_names()  # type: ignore[attr-defined]
        raise InvalidParameterError(
            f"{name}: {err}. Its parameters are: {', '.join(valid) or 'none'}."
        ) from None
