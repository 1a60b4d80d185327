"""`softlabels rules apply|analyze|fit`: labeling rules on the command line.

A vote file is a table with an optional ``item`` column and one column per rule holding
class indices ``0 .. K-1`` or ``-1`` (abstain), as ``rules apply`` writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.table import Table

from softlabels.cli._common import (
    CLIError,
    check_options,
    check_output,
    check_soft_output,
    encoding_option,
    option_error,
    out,
    save_soft_labels,
    sep_option,
    text_options,
)
from softlabels.cli.feedback import phase
from softlabels.core.annotations import check_header_once, show
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.validation import suggest
from softlabels.core.io import (all_or_nothing, check_unique_columns, read_table,
                                 table_format, text_header, write_frame)
from softlabels.infer.rules import (
    LabelModel,
    MatrixCompletionLabelModel,
    analyze_rules,
    apply_rules,
    load_rules,
    vote_summary,
)
from softlabels.infer.registry import list_sources
from softlabels.infer.rules.votes import Votes, check_votes
from softlabels.infer.rules.label_model import DEFAULT_MODEL

__all__ = ["rules_app"]

rules_app = typer.Typer(
    name="rules",
    help="Labeling rules (weak supervision): apply them, analyse their votes, fit a label model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

METHODS = ("label-model", "matrix-completion")
_PREFIX = "rules-"


def parse_method(method: str) -> str:
    """``--method``: a short name (``label-model``) or the source's registered name
    (``rules-label-model``, as ``softlabels sources`` lists it); the short name back."""
    registered = list_sources(evidence="label-matrix")
    short = method[len(_PREFIX):] if method in registered else method
    if short not in METHODS:
        raise CLIError(
            f"--method must be one of {', '.join(METHODS)} (or {', '.join(registered)}); "
            f"got {method!r}." + suggest(method, [*METHODS, *registered])
        )
    return short


def parse_classes(classes: Optional[str]) -> Any:
    """``--classes``: a number of classes ("3") or comma-separated names ("ham,spam")."""
    if classes is None:
        return None
    text = classes.strip()
    if text.isascii() and text.isdigit():
        if int(text) < 2:
            raise CLIError(f"--classes {classes!r}: a labeling task has at least 2 classes.")
        return int(text)
    names = [c.strip() for c in text.split(",") if c.strip()]
    if len(names) < 2:
        raise CLIError(f"--classes {classes!r}: give a number of classes or at least two names.")
    repeated = pd.Index(names)
    if repeated.has_duplicates:
        raise CLIError(f"--classes lists {repeated[repeated.duplicated()][0]!r} more than once.")
    return names


def read_votes(path: Path, classes: Any, **text: Any) -> Votes:
    """A vote file: an optional ``item`` column, then one column per rule (``text``:
    ``sep`` and ``encoding`` of a text file)."""
    frame = read_table(path, id_columns=("item",), **text)
    fmt = table_format(path)
    if fmt in ("csv", "tsv"):  # the CSV reader renames a repeated 'r' to 'r.1', a rule
        check_unique_columns(text_header(path, fmt, **text), str(path), "rule")
    if "item" in frame.columns:
        check_ids(frame["item"], str(path), "column 'item'")
        frame = frame.set_index("item")
    return check_votes(frame, classes, name=str(path), owner="--classes")


def check_ids(ids: pd.Series, where: str, column: str) -> None:
    """Item ids must be present and distinct: they are the keys of every later join."""
    missing = ids.isna().to_numpy()
    if missing.any():
        raise InputError(f"{where}: {column} is empty in data row {int(np.argmax(missing)) + 1}.")
    repeated = ids.duplicated().to_numpy()
    if repeated.any():
        r = int(np.argmax(repeated))
        raise InputError(
            f"{where}: item {show(ids.iloc[r])} appears more than once ({column}, data row "
            f"{r + 1})."
        )


def read_gold_codes(path: Path, votes: Votes, label_col: str, **text: Any) -> np.ndarray:
    """Gold labels (``item`` and ``label_col`` columns) as class codes aligned with the
    votes, -1 where unknown (a blank cell or -1, as in the vote files). Labels are class
    indices or class names."""
    frame = read_table(path, id_columns=("item",), **text)
    for col in ("item", label_col):
        if col not in frame.columns:
            raise InputError(
                f"{path}: the gold file needs 'item' and {label_col!r} columns (columns: "
                f"{', '.join(map(str, frame.columns[:10]))})."
            )
    check_header_once(path, frame, {"item": "item", "label": label_col}, **text)
    check_ids(frame["item"], str(path), "column 'item'")
    labels = frame[label_col]
    text = labels.astype(str)
    whole = labels.dropna()
    if pd.api.types.is_float_dtype(labels) and (np.mod(whole, 1) == 0).all():
        text = labels.astype("Int64").astype(str)  # blank cells make a column of indices float
    known = labels.notna().to_numpy() & (text.to_numpy() != "-1")
    codes = pd.Index([str(c) for c in votes.classes]).get_indexer(text)
    if ((codes < 0) & known).any():  # class indices where the classes have names
        as_index = pd.Index([str(k) for k in range(votes.n_classes)]).get_indexer(text)
        if not ((as_index < 0) & known).any():
            codes = as_index
    bad = np.flatnonzero((codes < 0) & known)
    if bad.size:
        r = int(bad[0])
        raise InputError(
            f"{path}: label {show(labels.iloc[r])} in data row {r + 1} is not one of the classes "
            f"{votes.classes.tolist()}."
        )
    by_item = pd.Series(codes, index=frame["item"].astype(str).to_numpy())
    aligned = by_item.reindex(pd.Index([str(i) for i in votes.item_ids]))
    if aligned.notna().sum() == 0:
        raise InputError(f"{path}: none of its items appear in the vote file.")
    return aligned.fillna(-1).to_numpy(dtype=np.int64)


@rules_app.command("apply")
def apply(
    rules: Path = typer.Option(..., "--rules", help="Python file defining the rules."),
    data: Path = typer.Option(..., "--data", help="Items: .csv, .tsv, .parquet or .jsonl."),
    output: Path = typer.Option(..., "--output", "-o", help="Vote matrix out: .csv or .parquet."),
    id_col: Optional[str] = typer.Option(
        None, help="Column of --data with item ids (written as 'item'); default: row numbers."
    ),
    classes: Optional[str] = typer.Option(
        None, help="Number of classes, or comma-separated names: votes must be 0..K-1."
    ),
    sep: Optional[str] = sep_option(),
    encoding: Optional[str] = encoding_option(),
) -> None:
    """Apply labeling rules to every row of a table and write the vote matrix.

    The rules file is executed as Python (only use files you trust). Its rules are a
    module-level RULES list when it has one, otherwise every function decorated with
    @labeling_function (softlabels.infer.rules), in definition order. A rule returns a
    class index 0..K-1 or -1 to abstain.

    Example:

        softlabels rules apply --rules my_rules.py --data comments.csv -o votes.csv
    """
    check_output(output, inputs=(rules, data))
    k = parse_classes(classes)
    frame = read_table(data, id_columns=() if id_col is None else (id_col,),
                       **text_options(sep, encoding))
    if len(frame) == 0:
        raise InputError(f"{data}: the file has a header but no data rows.")
    if id_col is not None:
        if id_col not in frame.columns:
            raise InputError(f"{data}: no {id_col!r} column for --id-col.")
        check_header_once(data, frame, {"--id-col": id_col}, **text_options(sep, encoding))
        check_ids(frame[id_col], str(data), f"--id-col column {id_col!r}")
    for column in frame.columns:  # the rules may read any column: none may be repeated
        if f"{column}.1" in frame.columns:
            check_header_once(data, frame, {"data": column}, **text_options(sep, encoding))
    try:
        lfs = load_rules(rules)
        try:
            with phase(f"applying {len(lfs)} rule" + ("s" if len(lfs) != 1 else "")):
                L = apply_rules(lfs, frame, classes=k)
        except InputError as err:
            raise InputError(f"{data}: {err}") from None
    except SystemExit as exc:  # a rules file or rule that calls sys.exit() or exit()
        code = "" if exc.code is None else repr(exc.code)
        raise InputError(f"{rules}: the rules called exit({code}).") from None
    table = L.reset_index(drop=True)
    table.insert(0, "item", frame[id_col].to_numpy() if id_col else np.arange(len(frame)))
    write_frame(table, output)
    summary = vote_summary(L.to_numpy(), classes=k)
    out.print(
        f"{summary['n_items']:,} items x {summary['n_rules']} rules: coverage "
        f"{summary['coverage']:.1%}, overlap {summary['overlap']:.1%}, conflict "
        f"{summary['conflict']:.1%}; votes -> {output}"
    )


@rules_app.command("analyze")
def analyze(
    votes: Path = typer.Argument(..., help="Vote matrix: item column, then one column per rule."),
    gold: Optional[Path] = typer.Option(None, help="Known labels: a table with item, label."),
    gold_label_col: str = typer.Option("label", help="Column of --gold with the labels."),
    classes: Optional[str] = typer.Option(None, help="Number of classes or comma-separated names."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Table out: .csv or .parquet."),
    sep: Optional[str] = sep_option(),
    encoding: Optional[str] = encoding_option(),
) -> None:
    """Per-rule polarity, coverage, overlaps, conflicts (and accuracy with --gold), as
    snorkel's LFAnalysis.

    Example:

        softlabels rules analyze votes.csv --gold gold.csv -o rules.csv
    """
    if output is not None:
        check_output(output, inputs=(votes, gold))
    text = text_options(sep, encoding)
    v = read_votes(votes, parse_classes(classes), **text)
    y = None if gold is None else read_gold_codes(gold, v, gold_label_col, **text)
    frame = analyze_rules(v.codes, y, classes=v.n_classes)
    frame.index = pd.Index(v.rule_names, name="rule")
    if output is not None:
        table = frame.reset_index()
        table["polarity"] = table["polarity"].map(lambda p: " ".join(map(str, p)))
        write_frame(table, output)
    summ = vote_summary(v.codes, classes=v.n_classes)
    rich_table = Table(
        title=f"{votes}: {summ['n_items']:,} items, coverage {summ['coverage']:.1%}, overlap "
        f"{summ['overlap']:.1%}, conflict {summ['conflict']:.1%}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=0,
        show_edge=False,
    )
    # Numbers and headers keep their width (no header broken mid-word on an 80-column
    # terminal); a long rule name is what folds.
    longest = max(len(str(n)) for n in frame.index)
    rich_table.add_column("rule", overflow="fold", min_width=min(longest, 12))
    for col in frame.columns:
        rich_table.add_column(col, justify="right", no_wrap=True, min_width=len(col))
    for name, row in frame.iterrows():
        cells = [
            " ".join(map(str, v_)) if col == "polarity"
            else (f"{v_:.3f}" if isinstance(v_, float) else str(v_))
            for col, v_ in row.items()
        ]
        rich_table.add_row(str(name), *cells)
    out.print(rich_table)
    if output is not None:
        out.print(f"table -> {output}")


@rules_app.command("fit")
def fit(
    votes: Path = typer.Argument(..., help="Vote matrix: item column, then one column per rule."),
    output: Path = typer.Option(
        ..., "--output", "-o",
        help="Soft labels out: .csv, .parquet or .jsonl; hf:FOLDER saves a Hugging Face dataset.",
    ),
    method: str = typer.Option(
        "label-model",
        help="label-model (EM) or matrix-completion; the registered names "
        "rules-label-model and rules-matrix-completion are accepted too.",
    ),
    model: Optional[str] = typer.Option(
        None, help=f"label-model variant: {', '.join(LabelModel.MODELS)} (default: {DEFAULT_MODEL}, "
        "chosen by leave-one-rule-set-out).",
    ),
    class_balance: str = typer.Option(
        "uniform", help="uniform, learn, or comma-separated class probabilities."
    ),
    classes: Optional[str] = typer.Option(None, help="Number of classes or comma-separated names."),
    rules_out: Optional[Path] = typer.Option(None, help="Per-rule table out: .csv or .parquet."),
    sep: Optional[str] = sep_option(),
    encoding: Optional[str] = encoding_option(),
) -> None:
    """Fit a label model on a vote matrix and write soft labels (item, label,
    confidence, support = votes per item, then one probability column per class).

    Items where every rule abstains get the class prior and support 0.

    Example:

        softlabels rules fit votes.csv -o labels.csv --classes ham,spam
    """
    method = parse_method(method)
    if model is not None and method != "label-model":
        raise CLIError("--model applies to --method label-model only.")
    check_soft_output(output, inputs=(votes,))
    if rules_out is not None:
        check_output(rules_out, inputs=(votes,))
        if rules_out.resolve() == output.resolve():
            raise CLIError("--rules-out and --output must be different files.")
    balance: Any = class_balance
    if class_balance not in ("uniform", "learn"):
        try:
            balance = [float(x) for x in class_balance.split(",")]
        except ValueError:
            raise CLIError(
                f"--class-balance {class_balance!r}: use uniform, learn or probabilities "
                "such as 0.7,0.3."
            ) from None
    k = parse_classes(classes)
    params: dict[str, Any] = {"class_balance": balance}
    estimator: Any
    if method == "label-model":
        if model is not None:
            params["model"] = model
        estimator = LabelModel(**params)
    else:
        estimator = MatrixCompletionLabelModel(**params)
    check_options(estimator)  # before the votes are read
    v = read_votes(votes, k, **text_options(sep, encoding))
    estimator.set_params(classes=v.classes.tolist() if k is not None else None)
    try:
        with phase(f"fitting {method}"):
            estimator.fit(pd.DataFrame(v.codes, index=pd.Index(v.item_ids), columns=v.rule_names))
    except InputError as err:
        raise InputError(f"{votes}: {err}") from None
    except InvalidParameterError as err:  # an option that does not fit the votes
        raise option_error(err) from None
    with all_or_nothing():
        if rules_out is not None:
            write_frame(estimator.reliability_frame(), rules_out)
        save_soft_labels(estimator.soft_labels_, output)
    soft = estimator.soft_labels_
    shares = ", ".join(
        f"{c}: {s:.1%}" for c, s in zip(soft.classes.tolist(), soft.probs.mean(axis=0))
    )
    covered = float((soft.support > 0).mean()) if soft.support is not None else 1.0
    out.print(
        f"{method} ({getattr(estimator, 'model', 'snorkel-style moments')}): {soft.n_items:,} "
        f"items, {covered:.1%} with a vote; class shares {shares}; soft labels -> {output}"
        + (f"; rules -> {rules_out}" if rules_out is not None else "")
    )
