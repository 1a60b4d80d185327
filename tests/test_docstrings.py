"""Every public function's and class's numpydoc ``Parameters`` section lists exactly its
parameters, in signature order, and every default it states is the real one.

Public objects are the names in each module's ``__all__`` (or, without one, the names a
module defines that do not start with ``_``) and their public methods. Modules that need
an optional dependency that is absent are skipped, as in test_doctests.py.
ALLOWED lists the documented exceptions; keep it short.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re

import pytest

import softlabels

#: "qualified name: what differs" for the documented exceptions: a stated default that is
#: a name or a rounded value rather than the literal itself
ALLOWED = {
    "softlabels.api.aggregate": "method default named as DEFAULT_CROWD_METHOD",
    "softlabels.report.build.build_report": "method default named as DEFAULT_CROWD_METHOD",
    "softlabels.engines.dask.aggregate": "method default named as DEFAULT_DASK_METHOD",
    "softlabels.audit.agreement.quality.labeller_quality": "weights default named",
    "softlabels.audit.calibration.negative_log_likelihood": "eps given as 2.22e-16",
    "softlabels.audit.calibration.soft_label_divergence": "eps given as 2.22e-16",
    "softlabels.audit.calibration.score_against_truth": "eps given as 2.22e-16",
    "softlabels.train.batching.ClusteredBatchSampler": "schedule default named as NGAME's",
}

SECTIONS = (
    "Parameters", "Other Parameters", "Attributes", "Returns", "Yields", "Receives",
    "Raises", "Warns", "Warnings", "See Also", "Notes", "References", "Examples", "Methods",
)
HEADER = re.compile(r"^([^\n]+)\n\s*-{3,}[ \t]*$", re.M)
ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_]\w*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*)\s*(?::\s*(.*))?$")
DEFAULT = re.compile(r"\bdefault(?:\s+is)?\s*[:=]?\s*(.*)$")


def _modules() -> list[str]:
    names = [softlabels.__name__]
    for info in pkgutil.walk_packages(softlabels.__path__, prefix="softlabels."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(names)


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as err:
        if (err.name or "").split(".")[0] in ("torch", "sklearn"):
            return None
        raise


def public_objects():
    """(qualified name, object) of every public function, class and method, once each."""
    seen: set[int] = set()
    for name in _modules():
        module = _import(name)
        if module is None:
            continue
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n, v in vars(module).items()
                     if not n.startswith("_") and getattr(v, "__module__", None) == name]
        for attr in names:
            obj = getattr(module, attr)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            qual = f"{obj.__module__}.{obj.__qualname__}"
            yield qual, obj
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if member.startswith("_") and member not in ("__init__", "__call__"):
                        continue
                    if isinstance(value, (staticmethod, classmethod)):
                        value = value.__func__
                    if not inspect.isfunction(value):  # a method descriptor (available-if)
                        value = getattr(value, "__wrapped__", value)
                    if inspect.isfunction(value) and id(value) not in seen:
                        seen.add(id(value))
                        yield f"{qual}.{member}", value


def sections(doc: str) -> dict[str, str]:
    doc = inspect.cleandoc(doc)
    found = list(HEADER.finditer(doc))
    out = {}
    for i, match in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(doc)
        out[match.group(1).strip()] = doc[match.end():end]
    return out


def documented(section: str) -> list[tuple[str, str]]:
    """(name, type line) of each entry; unparsable lines come back named ``"?"``."""
    entries = []
    for line in section.splitlines():
        if not line.strip() or line[0].isspace():
            continue
        match = ENTRY.match(line.rstrip())
        if match is None:
            entries.append(("?", line))
            continue
        for name in match.group(1).split(","):
            entries.append((name.strip().lstrip("*"), match.group(2) or ""))
    return entries


def stated_default(type_line: str) -> str | None:
    match = DEFAULT.search(type_line)
    if match is None:
        return None
    text = match.group(1).strip().rstrip(".;").split(";")[0].strip()
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1]
    return text.strip().strip("`")


def same_default(text: str, value) -> bool:
    if text in (repr(value), str(value), getattr(value, "__name__", None)):
        return True
    if " and " in text or re.match(r"^[^,()\[\]]+,", text):
        return True  # several parameters share the line ("alpha, beta : float, default 1 and 2")
    try:
        literal = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return False
    if isinstance(value, tuple) and isinstance(literal, (tuple, list)):
        return tuple(literal) == value
    return type(literal) in (int, float, bool, str, type(None)) and literal == value


def mismatches(qual: str, obj) -> list[str]:
    doc = obj.__doc__ or ""
    found = sections(doc)
    unknown = [s for s in found if s not in SECTIONS]
    problems = [f"unknown section {s!r}" for s in unknown]
    if "Parameters" not in found and "Other Parameters" not in found:
        return problems
    try:
        signature = inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)
    except (TypeError, ValueError):
        return problems
    params = {p.name: p for p in signature.parameters.values() if p.name not in ("self", "cls")}
    entries = (documented(found.get("Parameters", ""))
               + documented(found.get("Other Parameters", "")))
    names = [n for n, _ in entries if n != "?"]
    problems += [f"cannot parse {line!r}" for n, line in entries if n == "?"]
    if set(names) != set(params):
        problems.append(f"documented but not a parameter: {sorted(set(names) - set(params))}; "
                        f"a parameter not documented: {sorted(set(params) - set(names))}")
    elif names != list(params):
        problems.append(f"order {names} differs from the signature's {list(params)}")
    for name, type_line in entries:
        text = stated_default(type_line)
        if name not in params or text is None:
            continue
        default = params[name].default
        if default is inspect.Parameter.empty:
            problems.append(f"{name}: documented default {text!r}, but it is required")
        elif not same_default(text, default) and qual not in ALLOWED:
            problems.append(f"{name}: documented default {text!r}, real {default!r}")
    return problems


def test_parameters_sections_match_signatures():
    failures = []
    count = 0
    for qual, obj in public_objects():
        count += 1
        failures += [f"{qual}: {p}" for p in mismatches(qual, obj)]
    assert count > 500
    assert not failures, "\n".join(failures)


def test_allowed_entries_still_exist():
    quals = {qual for qual, _ in public_objects()}
    assert set(ALLOWED) <= quals


@pytest.mark.parametrize("doc, problem", [
    ('"""f.\n\nParameters\n----------\na : int\nc : int\n"""', "documented but"),
    ('"""f.\n\nAttributes after fit\n--------------------\nx : int\n"""', "unknown section"),
    ('"""f.\n\nParameters\n----------\nb : int\na : int\n"""', "order"),
    ('"""f.\n\nParameters\n----------\na : int\nb : int, default 2\n"""', "real 3"),
    ('"""f.\n\nParameters\n----------\na : int, default 1\nb : int\n"""', "required"),
    ('"""f.\n\nParameters\n----------\na : int\nb : int\n\nA paragraph.\n"""', "cannot parse"),
])
def test_the_check_finds_a_mismatch(doc, problem):
    namespace: dict = {}
    exec(f"def f(a, b=3):\n    {doc}\n", namespace)
    assert any(problem in p for p in mismatches("f", namespace["f"]))
