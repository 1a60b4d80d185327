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
    "distill_from_teachers.py": "student on soft labels: test accuracy",
    "scale_out_dask.py": "largest difference from the in-process fit",
    "store_soft_labels.py": "label sums to 1.000",
}


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, capsys):
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert PRINTS[script.name] in out
    if script.name == "store_soft_labels.py":  # reads are by item: 8 images, 4 views each
        assert "first 8 images: 32 views" in out
    if script.name == "scale_out_dask.py":  # the Dask fit is the in-process fit
        assert float(out.strip().rsplit(": ", 1)[1]) < 1e-9
