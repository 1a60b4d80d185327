"""What every loss declares about itself, read without importing torch.

Each loss is one class in a file of :mod:`softlabels.train.nn.losses`, decorated with
``@register_loss("name", function=..., call=..., summary=..., order=...)``. The decorator
records these facts when the file is imported (which needs torch); this module reads the same
decorator arguments from the files' source with :mod:`ast`, so listing the losses and their
summaries stays torch-free. A test checks that both views agree.
"""

from __future__ import annotations

import ast
import functools
import math
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CALLS", "LOSSES_DIR", "LOSSES_PACKAGE", "LossInfo", "loss_index", "parse_loss_file"]

#: How a loss module is called (the modes of :func:`softlabels.train.fit`):
#: ``target``: ``loss(logits, target)``; ``distill``: ``loss(student, teacher[, target])``;
#: ``index``: ``loss(logits, target, index)``; ``features``: ``loss(logits, target, features)``;
#: ``bags``: ``loss(logits, bag_index, bag_proportions)``; ``custom``: other inputs
#: (the training loop needs ``call="batch"``).
CALLS = ("target", "distill", "index", "features", "bags", "custom")

LOSSES_PACKAGE = "softlabels.train.nn.losses"
LOSSES_DIR = Path(__file__).resolve().parent / "nn" / "losses"

_DECORATOR = "register_loss"
_KEYWORDS = ("function", "call", "summary", "order")


@dataclass(frozen=True)
class LossInfo:
    """The registration of one loss.

    ``name`` is the registry name, ``summary`` a one-line description, ``call`` one of
    :data:`CALLS`, ``order`` its place in listings (None: after the ordered ones, by name),
    ``module`` and ``class_name`` where its ``nn.Module`` lives and ``function`` the name of
    its pure function.

    Parameters
    ----------
    name : str
        Registry name.
    summary : str
        One-line description.
    call : str
        How the training loop calls the loss, one of :data:`CALLS`.
    order : int or None
        Place in listings.
    module : str
        Module of the ``nn.Module`` form.
    class_name : str
        Name of the ``nn.Module`` class.
    function : str
        Name of the pure function.
    """

    name: str
    summary: str
    call: str
    order: int | None
    module: str
    class_name: str
    function: str

    @property
    def path(self) -> str:
        """``"module:ClassName"``, the lazy import path of the module form."""
        return f"{self.module}:{self.class_name}"


def check_registration(name: object, call: object, summary: object, order: object,
                       where: str) -> None:
    """The checks shared by the decorator and the source reader; ``where`` names the loss."""
    if not isinstance(name, str) or not name or name != name.strip().lower() or " " in name:
        raise ValueError(f"{where}: the loss name must be a non-empty lower-case string without "
                         f"spaces (kebab-case); got {name!r}.")
    if call not in CALLS:
        raise ValueError(f"{where}: call must be one of {', '.join(map(repr, CALLS))}; "
                         f"got {call!r}.")
    if not isinstance(summary, str) or not summary.strip():
        raise ValueError(f"{where}: summary must be a non-empty one-line string.")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
        raise ValueError(f"{where}: order must be an integer or None; got {order!r}.")


def _function_name(node: ast.expr, where: str) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    raise ValueError(f"{where}: function= must name a function (f or module.f).")


def _literal(node: ast.expr, key: str, where: str) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ValueError(
            f"{where}: {key}= must be written as a literal (it is read without importing the "
            "file)."
        ) from None


def parse_loss_file(path: Path, module: str) -> list[LossInfo]:
    """The losses registered in one file, read from its source.

    Parameters
    ----------
    path : Path
        The Python file; it is parsed, not imported.
    module : str
        Its dotted module name, recorded in each :class:`LossInfo`.

    Returns
    -------
    list of LossInfo
        One per registered class, in the order of the syntax tree walk.

    Raises
    ------
    ValueError
        When a registration has positional arguments other than the name, unknown or
        missing keywords, a value not written as a literal, or fails
        :func:`check_registration`.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for deco in node.decorator_list:
            func = deco.func if isinstance(deco, ast.Call) else deco
            named = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if named != _DECORATOR:
                continue
            where = f"{path.name}:{deco.lineno} ({node.name})"
            if not isinstance(deco, ast.Call) or len(deco.args) != 1:
                raise ValueError(f"{where}: write @{_DECORATOR}(\"name\", function=..., "
                                 "summary=...).")
            kw = {k.arg: k.value for k in deco.keywords}
            unknown = sorted(set(kw) - set(_KEYWORDS), key=str)
            if unknown:
                raise ValueError(f"{where}: unknown {_DECORATOR} argument(s) {unknown}.")
            if "function" not in kw or "summary" not in kw:
                raise ValueError(f"{where}: {_DECORATOR} needs function= and summary=.")
            name = _literal(deco.args[0], "name", where)
            call = _literal(kw["call"], "call", where) if "call" in kw else "target"
            summary = _literal(kw["summary"], "summary", where)
            order = _literal(kw["order"], "order", where) if "order" in kw else None
            check_registration(name, call, summary, order, where)
            found.append(LossInfo(name=name, summary=summary, call=call,  # type: ignore[arg-type]
                                  order=order, module=module, class_name=node.name,  # type: ignore[arg-type]
                                  function=_function_name(kw["function"], where)))
    return found


def _sort_key(info: LossInfo) -> tuple[float, str]:
    return (math.inf if info.order is None else info.order, info.name)


@functools.cache
def loss_index(directory: Path = LOSSES_DIR, package: str = LOSSES_PACKAGE) -> dict[str, LossInfo]:
    """Every loss registered in ``directory`` (the files not starting with ``_``), by name,
    in listing order."""
    infos: list[LossInfo] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        for info in parse_loss_file(path, f"{package}.{path.stem}"):
            if info.name in seen:
                raise ValueError(f"loss {info.name!r} is registered twice: in {seen[info.name]} "
                                 f"and {path.name}.")
            seen[info.name] = path.name
            infos.append(info)
    return {info.name: info for info in sorted(infos, key=_sort_key)}
