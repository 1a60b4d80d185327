"""Every docstring example in the package runs and gives the output it shows.

Modules are found with pkgutil, so a new module's examples run without editing this file.
Modules that need an optional dependency that is absent (torch, scikit-learn) are skipped.
KNOWN_FAILING lists modules whose examples are known to be wrong; keep it empty.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import numpy as np
import pytest

import softlabels

KNOWN_FAILING: list[str] = []

OPTIONAL = {"torch": "torch", "sklearn": "sklearn"}


def modules() -> list[str]:
    names = [softlabels.__name__]
    for info in pkgutil.walk_packages(softlabels.__path__, prefix="softlabels."):
        if not info.name.endswith("__main__"):  # running it is the CLI
            names.append(info.name)
    return sorted(names)


def _missing(name: str) -> str | None:
    try:
        importlib.import_module(name)
    except ImportError as err:
        root = (err.name or "").split(".")[0]
        if root in OPTIONAL:
            return root
        raise
    return None


@pytest.mark.parametrize("name", modules())
def test_docstring_examples(name):
    missing = _missing(name)
    if missing:
        pytest.skip(f"{name} needs {missing}")
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(module, name) if t.examples]
    if not tests:
        pytest.skip(f"{name} has no examples")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    failed = runner.summarize(verbose=False).failed
    if name in KNOWN_FAILING:
        assert failed, f"{name} now passes: remove it from KNOWN_FAILING"
        pytest.xfail(f"{name}: known failing examples")
    assert failed == 0, f"{failed} example(s) failed in {name} (see the captured output)"


def test_examples_are_found():
    finder = doctest.DocTestFinder(exclude_empty=True)
    count = 0
    for name in modules():
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        count += sum(len(t.examples) for t in finder.find(module, name))
    assert count > 200
