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
    """44,373 answers (``item, worker, label``) on 496 websites by 338 workers; no ground truth.

    All three columns are strings: ``item`` is the website's URL, ``worker`` the Mechanical
    Turk worker id, ``label`` one of :data:`ADULT3_CLASSES`. The rows are as published: 8,039
    (item, worker) pairs have more than one rating (2,648 of them with different labels), and
    6,370 rows repeat an earlier row exactly. :meth:`softlabels.Annotations.from_frame`
    keeps them all by default (``duplicates="last"`` keeps one answer per pair).

    Examples
    --------
    >>> df = load_adult3()
    >>> df.shape, sorted(df.label.unique())
    ((44373, 3), ['B', 'G', 'P', 'R', 'X'])
    """
    return pd.read_csv(adult3_path(), dtype={"item": str, "worker": str, "label": str})
