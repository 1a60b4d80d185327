"""The worked example of CONTRIBUTING.md: adding an audit check is one new file.

The guide's answer_count.py is dropped into a copy of the package's
report/sections/; a report built with that copy, in a fresh interpreter, shows the new
section in its registered place with the right numbers, and nothing else was edited.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parents[1] / "src" / "softlabels"
GUIDE = HERE.parents[1] / "CONTRIBUTING.md"


def guide_file(path: str) -> str:
    """The text of the file ``path`` as CONTRIBUTING.md gives it."""
    text = GUIDE.read_text(encoding="utf-8")
    return re.search(rf"<!-- file: {re.escape(path)} -->\n```python\n(.*?)^```", text,
                     re.MULTILINE | re.DOTALL).group(1)

SCRIPT = r"""
import json, sys
import pandas as pd
import softlabels
from softlabels.report import build_report, list_checks

answers = pd.read_csv(sys.argv[1], dtype=str)
page = build_report(answers, method="majority-vote", max_rows=5)
open(sys.argv[2], "w", encoding="utf-8").write(page)
print(json.dumps({"package": softlabels.__file__, "checks": list_checks()}))
"""


def crowd() -> pd.DataFrame:
    """40 items with 1 to 6 answers each (answers by 6 workers, 3 classes)."""
    rng = np.random.default_rng(3)
    n_answers = np.repeat([1, 2, 3, 4, 5, 6], [3, 5, 8, 12, 7, 5])
    rows = [(f"item{i}", f"w{w}", "abc"[int(rng.integers(3))])
            for i, m in enumerate(n_answers) for w in range(m)]
    return pd.DataFrame(rows, columns=["item", "worker", "label"])


def build_with_the_new_file(tmp_path: Path, answers: pd.DataFrame) -> tuple[str, dict]:
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "softlabels",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (copy / "softlabels" / "report" / "sections" / "answer_count.py").write_text(
        guide_file("src/softlabels/report/sections/answer_count.py"), encoding="utf-8")
    csv, out = tmp_path / "answers.csv", tmp_path / "report.html"
    answers.to_csv(csv, index=False)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(copy)
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(csv), str(out)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return out.read_text(encoding="utf-8"), json.loads(done.stdout.strip().splitlines()[-1])


def section(page: str, sid: str) -> str:
    found = re.search(rf'<section id="{sid}".*?</section>', page, re.S)
    assert found, f"no section {sid!r}"
    return found.group(0)


def metric_values(part: str) -> dict[str, str]:
    pairs = re.findall(r'<div class="value">(.*?)</div><div class="label">(.*?)</div>', part)
    return {html.unescape(label): html.unescape(value) for value, label in pairs}


def table_rows(part: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", part, re.S).group(1)
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_one_new_file_adds_the_section(tmp_path):
    answers = crowd()
    page, info = build_with_the_new_file(tmp_path, answers)
    assert info["package"].startswith(str(tmp_path))  # the copy, not the installed package
    assert info["checks"][:3] == ["provenance", "class-balance", "answer-count"]
    ids = re.findall(r'<section id="([^"]+)"', page)
    assert ids.index("answer-count") == ids.index("class-balance") + 1
    part = section(page, "answer-count")
    assert "Answers per item" in part

    # the numbers, from the raw answers
    per_item = answers.groupby("item").size()
    assert metric_values(part) == {
        "fewest": "1", "median": f"{per_item.median():,.1f}", "most": "6", "under 3": "8",
    }
    assert per_item.median() == 4.0
    # most common answer counts first: 12 items with 4 answers, 8 with 3, 7 with 5, ...
    assert table_rows(part) == [
        ["4", "12", "30.0%"], ["3", "8", "20.0%"], ["5", "7", "17.5%"], ["2", "5", "12.5%"],
        ["6", "5", "12.5%"],
    ]
    assert "1 more row not shown." in part  # max_rows=5: the sixth row (3 items with 1) is left out
    # its fact and its alert (8 of 40 items, 20%, have fewer than 3 answers)
    assert "Items with &lt; 3 answers" in page
    assert "8 items (20.0%) have fewer than 3 answers." in page


def test_the_package_itself_is_unchanged():
    assert not (PACKAGE / "report" / "sections" / "answer_count.py").exists()
    from softlabels.report import list_checks

    assert "answer-count" not in list_checks()
