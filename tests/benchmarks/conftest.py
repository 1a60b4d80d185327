"""Benchmark scripts imported as modules (they import ``_common`` from their folder)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _script(name: str):
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="session")
def cs():
    """benchmarks/crowd_suite.py"""
    return _script("crowd_suite")


@pytest.fixture(scope="session")
def cd():
    """benchmarks/crowd_defaults.py"""
    return _script("crowd_defaults")


@pytest.fixture(scope="session")
def rs():
    """benchmarks/rules_suite.py"""
    return _script("rules_suite")


@pytest.fixture(scope="session")
def et():
    """benchmarks/evidence_teachers.py"""
    return _script("evidence_teachers")


@pytest.fixture(scope="session")
def ev():
    """benchmarks/evidence_losses.py"""
    return _script("evidence_losses")


@pytest.fixture(scope="session")
def csm():
    """benchmarks/crowd_stack_members.py"""
    return _script("crowd_stack_members")


@pytest.fixture(scope="session")
def cu():
    """benchmarks/crowd_uncertainty.py"""
    return _script("crowd_uncertainty")
