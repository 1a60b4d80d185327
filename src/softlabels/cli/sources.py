"""`softlabels sources`: every inference source, the evidence it takes and what it does."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from softlabels.cli._common import CLIError, out
from softlabels.infer.registry import EVIDENCE, list_sources, source_evidence, source_summary


def sources(
    evidence: Optional[str] = typer.Option(
        None, "--evidence", "-e", help="Only the sources that take this kind of evidence."
    ),
) -> None:
    """List the inference sources: name, the evidence it fits on, and what it does.

    Kinds of evidence: answers, ratings, rating-distributions, pairwise-comparisons,
    label-matrix, teacher-outputs, teacher-labels, features, bag-proportions, bag-scores,
    set-labels, candidate-sets, complementary-labels, positive-unlabeled.

    Example:

        softlabels sources --evidence label-matrix
    """
    if evidence is not None and evidence not in EVIDENCE:
        raise CLIError(f"--evidence {evidence!r} is not one of: {', '.join(EVIDENCE)}.")
    table = Table(show_header=True, header_style="bold")
    table.add_column("source")
    table.add_column("evidence")
    table.add_column("what it does")
    for name in list_sources(evidence=evidence):
        table.add_row(name, source_evidence(name), source_summary(name))
    out.print(table)
