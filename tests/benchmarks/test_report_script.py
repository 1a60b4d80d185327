"""benchmarks/report.py rewrites BENCHMARKS.md; asking it for --help must not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture()
def tree(tmp_path):
    """A copy of the report script in a project tree of its own, every section present."""
    bench = tmp_path / "benchmarks"
    (bench / "_out").mkdir(parents=True)
    for name in ("report.py", "_common.py", "findings.md"):
        shutil.copy(BENCH / name, bench / name)
    sys.path.insert(0, str(bench))
    try:
        import report
        sections = report.SECTIONS
    finally:
        sys.path.remove(str(bench))
        sys.modules.pop("report", None)
        sys.modules.pop("_common", None)
    for name in sections:
        (bench / "_out" / name).write_text(f"## {name}\n")
    (tmp_path / "BENCHMARKS.md").write_text("hand-edited\n")
    return tmp_path


def run(tree: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(tree / "benchmarks" / "report.py"), *args],
                          capture_output=True, text=True, cwd=tree, timeout=120)


def test_help_prints_usage_and_leaves_benchmarks_md_alone(tree):
    done = run(tree, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")
    assert (tree / "BENCHMARKS.md").read_text() == "hand-edited\n"


def test_unknown_option_is_refused_without_writing(tree):
    done = run(tree, "--output", "x.md")
    assert done.returncode == 2
    assert (tree / "BENCHMARKS.md").read_text() == "hand-edited\n"


def test_without_options_it_assembles_the_sections(tree):
    done = run(tree)
    assert done.returncode == 0, done.stderr
    text = (tree / "BENCHMARKS.md").read_text()
    assert "## crowd_suite.md" in text and "## evidence_misc.md" in text
