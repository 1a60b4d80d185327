"""`softlabels store pack|info|unpack`: soft labels into a compact store and back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from softlabels.cli._common import CLIError, check_output, out
from softlabels.cli.feedback import phase
from softlabels.core.errors import InputError

__all__ = ["store_app"]

store_app = typer.Typer(
    name="store",
    help="Compact soft-label stores: pack a soft-label table, describe a store, unpack it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: the options that set each codec's parameters
_CODEC_OPTIONS = {
    "dense": {"dtype"},
    "logquant": {"floor"},
    "topk": {"k", "index", "values", "fill", "floor"},
    "topk-packed": {"k", "fill", "floor"},
    "sparse": {"index", "values"},
}


def make_codec(codec: str, **options: Any) -> Any:
    """The codec named ``codec`` with the options given on the command line (those left
    at ``None`` take the codec's defaults); an option the codec does not take is an
    error naming it."""
    from softlabels.store import codec_from_spec

    if codec not in _CODEC_OPTIONS:
        raise CLIError(f"--codec must be one of {', '.join(sorted(_CODEC_OPTIONS))}; got {codec!r}.")
    given = {k: v for k, v in options.items() if v is not None}
    extra = sorted(set(given) - _CODEC_OPTIONS[codec])
    if extra:
        flags = ", ".join("--" + e.replace("_", "-") for e in extra)
        raise CLIError(f"{flags}: not an option of the {codec} codec.")
    try:
        return codec_from_spec({"codec": codec, **given})
    except InputError as exc:  # name the option: "--values must be one of ..."
        name = str(exc).split(" ", 1)[0]
        if name in given:
            raise CLIError(f"--{name} {str(exc).split(' ', 1)[1]}") from None
        raise


def _read_soft(path: Path) -> Any:
    from softlabels.core.io import check_readable
    from softlabels.core.soft import SoftLabels

    check_readable(path)
    try:
        return SoftLabels.load(path)
    except InputError as exc:
        raise named(exc, path) from None
    except (TypeError, ValueError) as exc:  # e.g. text in a class column
        raise InputError(f"{path}: not a soft-label table (item, label, confidence, support "
                         f"and one numeric column per class): {exc}") from None


def named(exc: InputError, path: Path) -> InputError:
    """``exc`` with ``path`` in front, unless its message already starts with it."""
    text = str(exc)
    return exc if text.startswith(str(path)) else InputError(f"{path}: {text}")


@store_app.command("pack")
def pack(
    labels: Path = typer.Argument(..., help="Soft labels in: .csv, .parquet or .jsonl (as `aggregate` writes them)."),
    output: Path = typer.Option(..., "--output", "-o", help="The store (a folder) to create or append to."),
    codec: str = typer.Option("topk", "--codec", "-c", help="dense, logquant, topk, topk-packed or sparse."),
    k: Optional[int] = typer.Option(None, help="Classes kept per row (topk, topk-packed)."),
    index: Optional[str] = typer.Option(None, help="Index type: uint16, int16 or int32 (topk, sparse)."),
    values: Optional[str] = typer.Option(
        None, help="Value type: float16, float32, bfloat16 or log8 (topk); float32 or float64 (sparse)."
    ),
    dtype: Optional[str] = typer.Option(None, help="float32, float16 or bfloat16 (dense)."),
    fill: Optional[str] = typer.Option(None, help="marginal or renorm: how top-k rebuilds the other classes."),
    floor: Optional[float] = typer.Option(None, help="Smallest non-zero value of the log scales."),
    items_per_group: int = typer.Option(8192, help="Items per Parquet row group."),
    compression: str = typer.Option("none", help="Parquet compression: none, zstd, snappy, lz4, gzip or brotli."),
    append: bool = typer.Option(False, "--append", help="Add the rows to an existing store."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing store."),
) -> None:
    """Encode a soft-label table into a store with the chosen codec and say what was
    lost.

    Example:

        softlabels store pack soft.parquet -o soft.store --codec topk --k 5 --values log8
    """
    from softlabels.store import LabelStore

    if append and overwrite:
        raise CLIError("--append and --overwrite exclude each other.")
    if append:
        if any(v is not None for v in (k, index, values, dtype, fill, floor)):
            raise CLIError("--append takes the codec of the store; give no codec options.")
        store = LabelStore(output)
    else:
        made = make_codec(codec, k=k, index=index, values=values, dtype=dtype, fill=fill, floor=floor)
        if output.exists() and not overwrite:
            raise CLIError(f"{output}: already exists; use --append or --overwrite.")
    soft = _read_soft(labels)
    kept = None if append else getattr(made, "k", None)
    if kept is not None and kept > len(soft.classes):
        default = "" if k is not None else " (the default)"
        raise CLIError(f"--k {kept}{default} is more than the {len(soft.classes)} classes of "
                       f"{labels}; give --k {len(soft.classes)} or less, or --codec dense.")
    if append:
        before = store.n_items
        try:
            with phase("packing"):
                store.append(soft)
        except InputError as exc:  # other classes, item ids already stored, ...
            raise named(exc, output) from None
        out.print(f"appended {store.n_items - before:,} items to {output} ({store.n_items:,} in all)")
    else:
        with phase("packing"):
            store = LabelStore.create(
                output, soft, made, items_per_group=items_per_group, compression=compression,
                overwrite=overwrite,
            )
        out.print(f"packed {store.n_items:,} items -> {output}")
    out.print(info_table(store.info()))


@store_app.command("info")
def info(
    store: Path = typer.Argument(..., help="A store (folder) written by `store pack`."),
) -> None:
    """Describe a store: size, codec, classes, provenance and the loss of its codec
    (largest absolute error and mean KL(original ‖ decoded), measured when packed)."""
    from softlabels.store import LabelStore

    out.print(info_table(LabelStore(store).info()))


@store_app.command("unpack")
def unpack(
    store: Path = typer.Argument(..., help="A store (folder) written by `store pack`."),
    output: Path = typer.Option(..., "--output", "-o", help="Decoded soft labels out: .csv or .parquet."),
    start: Optional[int] = typer.Option(None, help="First item (position in the store)."),
    stop: Optional[int] = typer.Option(None, help="Item after the last (position in the store)."),
) -> None:
    """Decode a store (or the items start..stop) into a soft-label table; a store of
    views gives one row per view, with its box and flip."""
    from softlabels.core.io import write_frame
    from softlabels.store import LabelStore

    check_output(output)
    if start is not None and stop is not None and start > stop:
        raise CLIError(f"--start {start} is after --stop {stop}.")
    opened = LabelStore(store)
    n = opened.n_items
    if start is not None and start >= n:
        held = f"{n:,} items (positions 0 to {n - 1:,})" if n else "no items"
        raise CLIError(f"--start {start}: the store holds {held}.")
    with phase("unpacking"):
        labels = opened.read(start, stop)
    if opened.views:
        write_frame(views_frame(labels), output)
    else:
        labels.save(output)
    out.print(f"unpacked {len(labels):,} rows -> {output}")


def views_frame(views: Any) -> Any:
    """A table of per-view labels: item, box, flip, then one column per class."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "item": views.item_ids,
            "top": views.boxes[:, 0], "left": views.boxes[:, 1],
            "height": views.boxes[:, 2], "width": views.boxes[:, 3],
            "flip": views.flips,
        }
    )
    probs = pd.DataFrame(views.probs, columns=[str(c) for c in views.classes.tolist()])
    return pd.concat([frame, probs], axis=1)


def info_table(summary: dict[str, Any]) -> Table:
    """The summary of :meth:`LabelStore.info`, one value per row (so that ``--json``
    gives numbers)."""
    table = Table(title=f"softlabels store: {summary['path']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    per = "view" if summary["kind"] == "views" else "item"
    table.add_row("items", f"{summary['n_items']:,}")
    if summary["kind"] == "views":
        table.add_row("views", f"{summary['n_rows']:,}")
    table.add_row("codec", summary["codec"])
    classes = summary["classes"]
    shown = ", ".join(map(str, classes[:8])) + (", ..." if len(classes) > 8 else "")
    table.add_row("classes", f"{len(classes):,}")
    table.add_row("class names", shown)
    table.add_row("label bytes", f"{summary['nbytes']:,}")
    table.add_row(f"label bytes per {per}", f"{summary['bytes_per_row']:.1f}")
    table.add_row("bytes on disk", f"{summary['disk_bytes']:,}")
    table.add_row("parts", f"{summary['n_parts']:,}")
    table.add_row("row groups", f"{summary['n_row_groups']:,}")
    table.add_row("compression", summary["compression"])
    fid = summary["fidelity"]
    if fid is not None:
        table.add_row("max abs error", f"{fid['max_abs_error']:.4g}")
        table.add_row("mean KL(original ‖ decoded)", f"{fid['mean_kl']:.4g}")
        table.add_row("max KL(original ‖ decoded)", f"{fid['max_kl']:.4g}")
    prov = summary["provenance"]
    if prov:
        table.add_row("provenance", json.dumps(prov, sort_keys=True))
    return table
