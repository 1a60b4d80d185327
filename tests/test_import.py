"""Importing softlabels stays light: no heavy optional dependency is loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["torch", "dask", "distributed", "matplotlib", "datasets"]

SCRIPT = """
import json, sys
import pandas as pd
import softlabels
import softlabels.engines, softlabels.engines.blocks, softlabels.core.formats, softlabels.cli
loaded = {"import": [m for m in HEAVY if m in sys.modules]}
df = pd.DataFrame({"item": [1, 1, 2], "worker": ["a", "b", "a"], "label": ["x", "y", "y"]})
for name in softlabels.list_methods():
    softlabels.create_method(name).fit(df)
loaded["fit"] = [m for m in HEAVY if m in sys.modules]
print(json.dumps(loaded))
"""


def test_import_does_not_load_heavy_modules():
    out = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n" + SCRIPT],
        capture_output=True, text=True, check=True, timeout=120,
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == {"import": [], "fit": []}


def test_public_names():
    import softlabels

    assert set(softlabels.__all__) == {
        "Annotations", "InputError", "InvalidParameterError", "SoftLabels", "__version__",
        "aggregate", "create_method", "list_methods", "read_answers", "read_annotations",
        "fit_method", "create_source", "list_sources", "source_evidence", "source_summary",
        "DEFAULT_CROWD_METHOD", "weak_consensus",
    }
    for name in softlabels.__all__:
        assert hasattr(softlabels, name)
    assert issubclass(softlabels.InputError, ValueError)
    assert issubclass(softlabels.InvalidParameterError, ValueError)


def test_every_public_module_imports_first_in_a_fresh_interpreter():
    """Import order must not matter (lazy exports, no circular imports)."""
    modules = [
        "softlabels.datasets", "softlabels.infer.crowd", "softlabels.core.annotations",
        "softlabels.infer.registry", "softlabels.cli", "softlabels.core.validation",
    ]
    for module in modules:
        code = f"import {module}; import softlabels; softlabels.create_method('glad')"
        subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_star_import_needs_no_optional_dependency():
    """``from package import *`` works without torch or scikit-learn for every package
    that imports without them: names that need an extra stay attributes, not ``__all__``."""
    code = """
import importlib, pkgutil, sys
sys.modules["torch"] = None
sys.modules["sklearn"] = None
import softlabels
failed = []
for info in pkgutil.walk_packages(softlabels.__path__, prefix="softlabels."):
    if not info.ispkg:
        continue
    try:
        importlib.import_module(info.name)
    except ImportError:
        continue  # the package itself needs the extra (softlabels.train.nn)
    try:
        exec(f"from {info.name} import *", {})
    except ImportError as err:
        failed.append(f"{info.name}: {err}")
print(failed)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_help_on_a_package_works_without_torch():
    """``help()`` and ``inspect.getmembers`` read every name ``dir()`` lists: a name that
    needs an absent extra is not listed (it still says what to install when asked for)."""
    code = """
import inspect, pydoc, sys
sys.modules["torch"] = None
import softlabels.store, softlabels.train
for module in (softlabels.store, softlabels.train):
    inspect.getmembers(module)
    pydoc.render_doc(module)
assert "TorchStoreDataset" not in dir(softlabels.store)
assert "fit" not in dir(softlabels.train)
try:
    softlabels.store.TorchStoreDataset
except ImportError as err:
    assert "softlabels[torch]" in str(err)
else:
    raise AssertionError("no ImportError")
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip().splitlines()[-1:] == ["ok"], out.stderr[-2000:]


def test_dir_lists_the_torch_names_when_torch_is_there():
    pytest.importorskip("torch")
    import softlabels.store
    import softlabels.train

    assert {"TorchStoreDataset", "TorchStoreIterableDataset"} <= set(dir(softlabels.store))
    assert {"fit", "History"} <= set(dir(softlabels.train))
