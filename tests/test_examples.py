"""The example scripts run and print what they promise."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
#: a line each script must print (a new script needs an entry here)
PRINTS = {
    "compare_crowd_models.py": "dawid-skene",
    "find_label_errors.py": "labels are really wrong",
    "weak_supervision_rules.py": "fitted rule accuracies",
}


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, capsys):
    runpy.run_path(str(script), run_name="__main__")
    assert PRINTS[script.name] in capsys.readouterr().out
