"""`softlabels report`: what its help says the page holds, and the page it writes (the
same inputs give the same bytes apart from the documented time stamp)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd

from softlabels.cli import main
from softlabels.report import list_checks
from softlabels.report.checks import get_check


def _answers(tmp_path, name="answers.csv"):
    rng = np.random.default_rng(0)
    rows = [(f"i{i}", f"w{w}", "ab"[(i + (rng.random() < 0.2)) % 2])
            for i in range(30) for w in range(4)]
    path = tmp_path / name
    pd.DataFrame(rows, columns=["item", "worker", "label"]).to_csv(path, index=False)
    return path


def test_help_names_every_section():
    helptext = subprocess.run([sys.executable, "-m", "softlabels", "report", "--help"],
                              capture_output=True, text=True,
                              env={**os.environ, "COLUMNS": "400"}, check=True).stdout
    flat = " ".join(helptext.replace("│", " ").split()).lower()
    for name in list_checks():
        assert get_check(name).title.lower() in flat, name


def _stamp(html: str) -> str:
    """The page without its time stamp (the one thing that changes between runs)."""
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<time>", html)


def test_the_same_answers_give_the_same_page(tmp_path, capsys):
    answers = _answers(tmp_path)
    pages = []
    for out in ("a.html", "b.html"):
        assert main(["report", "--answers", str(answers), "-o", str(tmp_path / out)]) == 0
        pages.append((tmp_path / out).read_text(encoding="utf-8"))
    assert pages[0].count("UTC") >= 2  # the stamp is shown: in the masthead and footer
    assert _stamp(pages[0]) == _stamp(pages[1])
    assert "<time>" in _stamp(pages[0])


def test_a_hostile_file_name_is_shown_escaped(tmp_path, capsys):
    answers = _answers(tmp_path, "<script>x & \u202e.csv")
    out = tmp_path / "r.html"
    assert main(["report", "--answers", str(answers), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "\u2068&lt;script&gt;x &amp; \u202e.csv\u2069" in page
