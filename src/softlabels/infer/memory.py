"""Memory needs checked before a model allocates its parameters.

Models whose parameters grow as classes² (one confusion matrix per worker or rule)
can need tens of gigabytes with thousands of classes. Each such model declares
``_memory_bytes(n_workers, n_classes, n_items)``, an estimate of its peak allocation,
and the fit checks it against the memory available before allocating, so that the
error says how much is needed and which methods would fit instead of ending in an
anonymous ``MemoryError`` (or the kernel's out-of-memory killer).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["InsufficientMemoryError", "available_memory", "check_memory", "check_model_memory"]

#: Bytes of one float64.
F8 = 8


class InsufficientMemoryError(MemoryError):
    """A computation would need more memory than is available; raised before allocating."""


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_available() -> int | None:
    """Room left under a cgroup (v2, then v1) memory limit, if one is set."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:  # "max" or a huge number: no limit
            return max(int(limit) - usage, 0)
    return None


def available_memory() -> int | None:
    """Bytes of memory this process can still allocate (the smaller of the system's
    available memory and the room under a container's limit); ``None`` when unknown.

    ``SOFTLABELS_MEMORY_LIMIT`` (bytes, a plain integer), when set, is used instead:
    for tests, and to keep a job within a share of a shared machine.
    """
    forced = os.environ.get("SOFTLABELS_MEMORY_LIMIT")
    if forced:
        try:
            return max(int(forced), 0)
        except ValueError:
            pass
    known = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    return min(known) if known else None


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest unit that keeps a number of at least 1 (1024-based)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def check_memory(
    bytes_needed: int,
    what: str,
    alternatives: Iterable[str] | Callable[[int], Iterable[str]] = (),
) -> None:
    """Raise :class:`InsufficientMemoryError` when ``bytes_needed`` exceeds the
    available memory (nothing is checked when that is unknown).

    ``alternatives`` names what would fit instead; a callable gets the available bytes
    and is called only when the check fails.

    Parameters
    ----------
    bytes_needed : int
        Estimated bytes the computation allocates; 0 or less checks nothing.
    what : str
        What needs the memory, for the error message.
    alternatives : iterable of str or callable, default ()
        Names of what would fit instead, or a function of the available bytes that
        returns them.

    Raises
    ------
    InsufficientMemoryError
        When ``bytes_needed`` is more than :func:`available_memory`.
    """
    if bytes_needed <= 0:
        return
    free = available_memory()
    if free is None or bytes_needed <= free:
        return
    names = list(alternatives(free) if callable(alternatives) else alternatives)
    hint = f" Methods that fit: {', '.join(names)}." if names else ""
    raise InsufficientMemoryError(
        f"{what} needs about {format_bytes(bytes_needed)} of memory; "
        f"{format_bytes(free)} is available.{hint}"
    )


def _posterior_bytes(n_items: int, n_classes: int) -> int:
    """What every crowd model allocates: a few (n_items, n_classes) float matrices."""
    return 4 * F8 * n_items * n_classes


def model_memory_bytes(model: Any, n_workers: int, n_classes: int, n_items: int) -> int:
    """A model's ``_memory_bytes`` estimate, or the posterior matrices for a model
    without one."""
    hook = getattr(model, "_memory_bytes", None)
    if hook is None:
        return _posterior_bytes(n_items, n_classes)
    return int(hook(n_workers, n_classes, n_items))


def check_model_memory(
    model: Any,
    n_workers: int,
    n_classes: int,
    n_items: int,
    *,
    sources: str = "workers",
    alternatives: Iterable[str] | None = None,
) -> None:
    """:func:`check_memory` for a model about to be fitted on evidence of that size
    (``sources``: what ``n_workers`` counts, e.g. rules). The alternatives are, unless
    given, the registered crowd methods whose estimate fits.

    Parameters
    ----------
    model : object
        A crowd model; one without a ``_memory_bytes`` estimate is not checked.
    n_workers : int
        Number of sources (workers, rules, ...).
    n_classes : int
        Number of classes.
    n_items : int
        Number of items.
    sources : str, default 'workers'
        What ``n_workers`` counts, for the error message.
    alternatives : iterable of str, optional
        Names offered instead in the error message; by default the registered crowd
        methods (other than this one, and within their ``max_classes``) whose estimate
        fits in the available memory.

    Raises
    ------
    InsufficientMemoryError
        When the model's estimate is more than the available memory.
    """
    if getattr(model, "_memory_bytes", None) is None:
        return
    need = model_memory_bytes(model, n_workers, n_classes, n_items)
    size = f"{n_classes:,} classes, {n_workers:,} {sources} and {n_items:,} items"
    if alternatives is not None:
        check_memory(need, f"{model.name} with {size}", alternatives)
        return

    def fitting(free: int) -> list[str]:
        from softlabels.infer.registry import METHODS, list_methods

        names = []
        for name in list_methods():
            if name == model.name:
                continue
            try:
                other = METHODS.get(name)()
                if other.max_classes is not None and n_classes > other.max_classes:
                    continue
                if model_memory_bytes(other, n_workers, n_classes, n_items) <= free:
                    names.append(name)
            except Exception:  # a method that cannot be built with defaults: not offered
                continue
        return names

    check_memory(need, f"{model.name} with {size}", fitting)
