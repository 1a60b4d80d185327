"""The bundled sample: adult-content ratings of 496 websites by Mechanical Turk workers.

From the Get-Another-Label project by Panos Ipeirotis (AdultContent3-HCOMP2010),
Apache License 2.0; see the NOTICE file beside the data.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["load_adult3", "ADULT3_CLASSES"]

#: G general audience, P parental guidance, R restricted, X porn; B is rare.
ADULT3_CLASSES = ("G", "P", "R", "X", "B")


def adult3_path() -> Path:
    return Path(str(resources.files("softlabels.datasets") / "data" / "adult3.csv.gz"))


def load_adult3() -> pd.DataFrame:
    """44,373 answers (``item, worker, label``) on 496 websites; no ground truth.

    Examples
    --------
    >>> df = load_adult3()
    >>> df.shape, sorted(df.label.unique())
    ((44373, 3), ['B', 'G', 'P', 'R', 'X'])
    """
    return pd.read_csv(adult3_path(), dtype={"item": str, "worker": str, "label": str})
