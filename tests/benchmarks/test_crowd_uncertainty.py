"""benchmarks/crowd_uncertainty.py: the honesty verdict is never written without its
4:3 check."""

from __future__ import annotations

import sys

import pytest


def test_no_honesty_csv_without_the_real_sets(cu, tmp_path, monkeypatch):
    # without the real sets the 4:3 item cannot be measured: a CSV would call every
    # model dishonest (NaN < 0.9 is False) and crowd_defaults --honesty would then find
    # no honest candidate; refused before any fit, naming the missing data
    monkeypatch.setattr(cu, "DATA", tmp_path / "no-crowd-data")
    out = tmp_path / "honesty.csv"
    monkeypatch.setattr(sys, "argv", ["crowd_uncertainty.py", "--configs", "majority-vote",
                                      "--csv", str(out)])
    fitted = []
    monkeypatch.setattr(cu, "fit", lambda *a: fitted.append(a))
    with pytest.raises(SystemExit, match="rte, duck, temp.*no-crowd-data"):
        cu.main()
    assert not out.exists() and not fitted
