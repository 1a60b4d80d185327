"""CONTRIBUTING.md's worked examples run as written.

Each example is a set of files, each given in the guide as a ``<!-- file: PATH -->``
line followed by a fenced code block. The test copies the package to a temporary
folder, adds the example's files and runs the example's own tests there, in a fresh
interpreter, so the guide cannot drift from the code: "one new file plus its tests"
is checked, not claimed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "CONTRIBUTING.md"
BLOCK = re.compile(
    r"^<!-- file: (?P<path>\S+) -->\n```[a-z]*\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL
)
EXAMPLE = re.compile(r"^### Example: (?P<title>.+)$", re.MULTILINE)


def _examples() -> dict[str, dict[str, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    heads = list(EXAMPLE.finditer(text))
    examples: dict[str, dict[str, str]] = {}
    for head, nxt in zip(heads, heads[1:] + [None]):
        body = text[head.end() : nxt.start() if nxt else len(text)]
        examples[head["title"]] = {m["path"]: m["code"] for m in BLOCK.finditer(body)}
    return examples


EXAMPLES = _examples()


def test_the_guide_has_the_three_examples() -> None:
    assert len(EXAMPLES) == 3, list(EXAMPLES)
    for title, files in EXAMPLES.items():
        sources = [p for p in files if p.startswith("src/")]
        tests = [p for p in files if p.startswith("tests/")]
        assert len(sources) == 1, f"{title}: one new source file, got {sources}"
        assert tests, f"{title}: no test file"
        assert set(files) == set(sources) | set(tests), files
        assert not (ROOT / sources[0]).exists(), f"{title}: {sources[0]} already exists"


@pytest.mark.slow
@pytest.mark.parametrize("title", sorted(EXAMPLES))
def test_example_runs(title: str, tmp_path: Path) -> None:
    files = EXAMPLES[title]
    if any("torch" in code for code in files.values()):
        pytest.importorskip("torch")
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tests").mkdir()
    for path, code in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    tests = [p for p in files if p.startswith("tests/")]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), *tests],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\d+ passed", done.stdout) and "skipped" not in done.stdout, done.stdout
