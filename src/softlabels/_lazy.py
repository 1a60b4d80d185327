"""Names a package exports but imports only on first use (keeps ``import`` fast)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str,
    exports: Mapping[str, str],
    namespace: dict[str, Any],
    extra: tuple[str, ...] = (),
    needs: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for ``package``.

    ``exports`` maps each public name to the module that defines it; the first access
    imports that module and caches the value in ``namespace`` (the package's globals).
    ``extra`` are public names defined in the package itself (listed by ``__dir__``).
    ``needs`` maps a name to the optional top-level module it needs (``"torch"``):
    ``__dir__`` leaves the name out while that module cannot be found (without
    importing it), so ``help()`` and ``inspect.getmembers`` work without the extra;
    asking for the name still raises the ImportError that says what to install.

    Parameters
    ----------
    package : str
        Dotted name of the package.
    exports : mapping of str to str
        Module that defines each public name.
    namespace : dict
        The package's globals, where imported values are cached.
    extra : tuple of str, default ()
        Public names defined in the package itself.
    needs : mapping of str to str, optional
        The optional top-level module each name needs.

    Returns
    -------
    getattr, dir : callable
        The module-level ``__getattr__`` and ``__dir__``.
    """
    needs = dict(needs or {})

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        absent = {m for m in set(needs.values()) if not _findable(m)}
        return sorted({*extra, *(n for n in exports if needs.get(n) not in absent)})

    return __getattr__, __dir__


def _findable(module: str) -> bool:
    import importlib.util  # only when a listing asks

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
