"""Agreement measures and annotator statistics: values and speed next to the peers.

* Krippendorff's alpha against the ``krippendorff`` package (coder x unit matrix) and
  crowd-kit's ``alpha_krippendorff`` (NLTK), one answer per worker and item.
* Pairwise Cohen's kappa against a loop over worker pairs with scikit-learn's
  ``cohen_kappa_score`` (what one writes without a vectorised version).
* Item ambiguity (vote entropy) against crowd-kit's ``uncertainty``.
* Fleiss' kappa and the annotator table: our speed on real and synthetic crowds.

Run from the project root with the benchmark environment::

    python benchmarks/audit_agreement.py --output benchmarks/_out/agreement.md
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    ROOT,
    emit,
    environment,
    markdown_table,
    median_time,
    parser,
    to_crowdkit,
)

from softlabels import SoftLabels  # noqa: E402
from softlabels.audit.agreement import (  # noqa: E402
    annotator_table,
    fleiss_kappa,
    item_ambiguity,
    krippendorff_alpha,
    pairwise_cohen_kappa,
)
from softlabels.core.annotations import as_annotations  # noqa: E402
from softlabels.datasets import make_crowd  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "crowd"
REPEATS = 5
MIN_SHARED = 10


def ms(seconds: float) -> str:
    """Milliseconds: most of these calls take less than one."""
    return f"{seconds * 1e3:.2f}" if seconds < 0.01 else f"{seconds * 1e3:,.0f}"


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name / "answers.csv")


def synthetic(n_answers: int) -> pd.DataFrame:
    per_item = 10
    answers, _ = make_crowd(
        n_items=n_answers // per_item, n_workers=1000, n_classes=5,
        answers_per_item=per_item, random_state=0,
    )
    return answers


def reliability_matrix(df: pd.DataFrame) -> np.ndarray:
    """coder x unit matrix of class codes, NaN where missing (the peer's input)."""
    ann = as_annotations(df)
    out = np.full((ann.n_workers, ann.n_items), np.nan)
    out[ann.worker, ann.item] = ann.label
    return out


def alpha_rows(sets: dict[str, pd.DataFrame]) -> list[list[str]]:
    import krippendorff
    from crowdkit.metrics.data import alpha_krippendorff

    rows = []
    for name, df in sets.items():
        df = df.drop_duplicates(["item", "worker"], keep="last")
        ann = as_annotations(df)
        ours, t_ours = median_time(lambda: krippendorff_alpha(ann), REPEATS)
        matrix = reliability_matrix(df)
        peer, t_peer = median_time(
            lambda: krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"),
            REPEATS,
        )
        if len(df) <= 50_000:
            ck, t_ck = median_time(lambda: alpha_krippendorff(to_crowdkit(df)), 1)
            ck_cells = [f"{ck:.5f}", ms(t_ck)]
        else:
            ck_cells = ["-", "-"]
        rows.append([name, f"{len(df):,}", f"{ours:.5f}", f"{peer:.5f}", *ck_cells,
                     ms(t_ours), ms(t_peer)])
    return rows


def sklearn_pairwise(df: pd.DataFrame, min_shared: int) -> pd.DataFrame:
    from sklearn.metrics import cohen_kappa_score

    wide = df.pivot(index="item", columns="worker", values="label")
    rows = []
    for a, b in itertools.combinations(wide.columns, 2):
        both = wide[a].notna() & wide[b].notna()
        if both.sum() >= min_shared:
            rows.append((a, b, cohen_kappa_score(wide.loc[both, a], wide.loc[both, b])))
    return pd.DataFrame(rows, columns=["worker_a", "worker_b", "kappa"])


def kappa_rows(sets: dict[str, pd.DataFrame]) -> list[list[str]]:
    rows = []
    for name, df in sets.items():
        df = df.drop_duplicates(["item", "worker"], keep="last")
        ann = as_annotations(df)
        ours, t_ours = median_time(lambda: pairwise_cohen_kappa(ann, MIN_SHARED), REPEATS)
        peer, t_peer = median_time(lambda: sklearn_pairwise(df, MIN_SHARED), 1)
        key = ["worker_a", "worker_b"]
        merged = ours.merge(peer, on=key, suffixes=("", "_peer"))
        both = merged["kappa"].notna() & merged["kappa_peer"].notna()
        diff = float(np.abs(merged["kappa"] - merged["kappa_peer"])[both].max())
        rows.append([name, f"{len(ours):,}", f"{len(peer):,}", f"{diff:.1e}",
                     ms(t_ours), ms(t_peer)])
    return rows


def ambiguity_rows(sets: dict[str, pd.DataFrame]) -> list[list[str]]:
    from crowdkit.metrics.data import uncertainty

    rows = []
    for name, df in sets.items():
        ann = as_annotations(df)

        def ours():
            soft = SoftLabels.from_counts(ann.counts, ann.classes, ann.item_ids)
            return item_ambiguity(soft, normalize=False)

        h, t_ours = median_time(ours, REPEATS)
        peer, t_peer = median_time(
            lambda: uncertainty(to_crowdkit(df), compute_by="task", aggregate=False), 1
        )
        diff = float(np.abs(h - peer.loc[ann.item_ids].to_numpy(float)).max())
        rows.append([name, f"{len(df):,}", f"{diff:.1e}", ms(t_ours), ms(t_peer)])
    return rows


def speed_rows(sets: dict[str, pd.DataFrame]) -> list[list[str]]:
    rows = []
    for name, df in sets.items():
        ann = as_annotations(df)
        ann.item_pair_matrix  # cached once, as in any pipeline that reuses the answers
        cells = [name, f"{len(df):,}", f"{ann.n_workers:,}"]
        for fn in (
            lambda: annotator_table(ann),
            lambda: krippendorff_alpha(ann),
            lambda: fleiss_kappa(ann),
            lambda: pairwise_cohen_kappa(ann, MIN_SHARED),
        ):
            _, t = median_time(fn, REPEATS, single_above=5.0)
            cells.append(ms(t))
        rows.append(cells)
    return rows


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    real = {name: load(name) for name in ["duck", "dog", "adult3"]}
    sets_alpha = {**real, "synthetic 100k": synthetic(100_000)}
    big = {**sets_alpha, "synthetic 1M": synthetic(1_000_000)}
    parts = [
        "## Agreement measures and annotator statistics",
        "",
        environment(),
        "",
        "### Krippendorff's alpha (nominal), one answer per worker and item",
        "",
        "adult3 keeps the last of a worker's repeated answers on an item, so that every "
        "implementation sees the same data. Times in milliseconds (median of "
        f"{REPEATS}; crowd-kit one run), inputs prepared beforehand (our answer table, the "
        "peer's coder x unit matrix).",
        "",
        markdown_table(
            ["data", "answers", "softlabels", "krippendorff", "crowd-kit", "crowd-kit ms",
             "softlabels ms", "krippendorff ms"],
            alpha_rows(sets_alpha),
        ),
        "",
        f"### Pairwise Cohen's kappa (pairs with at least {MIN_SHARED} shared items)",
        "",
        markdown_table(
            ["data", "pairs", "pairs (sklearn loop)", "max abs diff", "softlabels ms",
             "sklearn loop ms"],
            kappa_rows(real),
        ),
        "",
        "### Item ambiguity: entropy of the vote shares (nats) vs crowd-kit `uncertainty`",
        "",
        markdown_table(
            ["data", "answers", "max abs diff", "softlabels ms", "crowd-kit ms"],
            ambiguity_rows(real),
        ),
        "",
        "### Speed (milliseconds, median; the answer table built once)",
        "",
        markdown_table(
            ["data", "answers", "workers", "annotator_table", "krippendorff_alpha",
             "fleiss_kappa", "pairwise_cohen_kappa"],
            speed_rows(big),
        ),
    ]
    emit("\n".join(parts), args.output)


if __name__ == "__main__":
    main()
