"""Annotator statistics and agreement between annotators.

Everything here works on the integer codes of an :class:`~softlabels.core.annotations.Annotations`
and on its cached sparse ``item x (worker, label)`` count matrix; nothing loops over
items, workers or pairs of workers in Python.

**Workers as coders.** The agreement measures compare *workers*. A worker who answered
one item several times (the ``duplicates="keep"`` default of the answer table) is one
coder on that item whose value is the distribution of his answers there: each of his
``m`` answers on the item weighs ``1/m``. Pairs of values are only formed between two
different workers, so a worker never agrees with himself. With one answer per worker
and item (the usual case) every formula reduces to its textbook form.

One family per module: :mod:`.annotators` (per-annotator statistics and confusions),
:mod:`.coefficients` (agreement coefficients), :mod:`.ambiguity` (item ambiguity) and
:mod:`.quality` (gold-based labeller quality and label risk).
"""

from __future__ import annotations

from softlabels.audit.agreement.ambiguity import item_ambiguity
from softlabels.audit.agreement.annotators import annotator_confusions, annotator_table
from softlabels.audit.agreement.coefficients import (
    Level,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    pairwise_cohen_kappa,
)
from softlabels.audit.agreement.quality import (
    ESTES_QSCORE_WEIGHTS,
    LabellerQuality,
    LabelRisk,
    bayesian_label_risk,
    labeller_quality,
)

__all__ = [
    "ESTES_QSCORE_WEIGHTS",
    "LabelRisk",
    "LabellerQuality",
    "Level",
    "annotator_confusions",
    "annotator_table",
    "bayesian_label_risk",
    "cohen_kappa",
    "fleiss_kappa",
    "item_ambiguity",
    "krippendorff_alpha",
    "labeller_quality",
    "pairwise_cohen_kappa",
]
