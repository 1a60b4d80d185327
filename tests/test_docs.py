"""The documentation site builds without a warning, and every command and Python block
of its pages runs (the tutorials' Python is the examples/ scripts, run by
test_examples.py)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from softlabels.cli import main
from softlabels.datasets import make_crowd

ROOT = Path(__file__).resolve().parents[1]
#: the pages a reader follows step by step (the scaling design note's commands name a
#: cluster that is not there)
PAGES = [ROOT / "docs" / "index.md", *sorted((ROOT / "docs" / "tutorials").glob("*.md"))]


def blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", page.read_text(), flags=re.S | re.M)


def commands(page: Path) -> list[str]:
    """The `softlabels ...` lines of a page's bash blocks, comments dropped."""
    lines = []
    for block in blocks(page, "bash"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("softlabels "):
                lines.append(line)
    return lines


@pytest.fixture()
def workspace(tmp_path, monkeypatch):
    """The files the pages' commands name, made up small."""
    monkeypatch.chdir(tmp_path)
    answers, truth = make_crowd(n_items=60, n_workers=8, n_classes=3, random_state=0)
    answers.to_csv("answers.csv", index=False)
    pd.DataFrame({"item": [0, 1], "label": truth.iloc[:2].to_numpy()}).to_csv("gold.csv", index=False)
    Path("answers").mkdir()
    answers.iloc[: len(answers) // 2].to_parquet("answers/part-0.parquet")
    answers.iloc[len(answers) // 2:].to_parquet("answers/part-1.parquet")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 200)
    probs = rng.dirichlet(np.ones(3), 200)
    probs[np.arange(200), labels] += 1.0
    np.save("labels.npy", labels)
    np.save("pred_probs.npy", probs / probs.sum(axis=1, keepdims=True))
    pd.DataFrame({"id": ["a", "b", "c", "d"], "CONTENT": [
        "subscribe to my channel", "great song", "check out my page", "love it"]}).to_csv(
        "comments.csv", index=False)
    Path("my_rules.py").write_text(
        "from softlabels.infer.rules import labeling_function\n"
        "@labeling_function(column='CONTENT')\n"
        "def promo(text):\n    return 1 if 'subscribe' in text or 'check' in text else -1\n"
        "@labeling_function(column='CONTENT')\n"
        "def music(text):\n    return 0 if 'song' in text or 'love' in text else -1\n"
    )
    return tmp_path


@pytest.mark.parametrize("page", [p for p in PAGES if commands(p)],
                         ids=lambda p: str(p.relative_to(ROOT / "docs")))
def test_every_documented_command_runs(page, workspace, capsys):
    for line in commands(page):
        argv = shlex.split(line)[1:]
        if "--engine" in argv and "dask" in argv:
            pytest.importorskip("distributed")
        code = main(argv)
        assert code == 0, f"{line}: {capsys.readouterr().err}"
        capsys.readouterr()


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p, "python")],
                         ids=lambda p: str(p.relative_to(ROOT / "docs")))
def test_python_blocks_run(page, workspace):
    for block in blocks(page, "python"):
        if block.startswith("--8<--"):  # an examples/ script, run by test_examples.py
            continue
        exec(compile(block, str(page), "exec"), {"__name__": "__docs__"})


def test_site_builds_without_warnings(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "tutorials" / "crowd" / "index.html").exists()
