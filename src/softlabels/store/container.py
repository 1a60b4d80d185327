"""`LabelStore`: encoded soft labels in Parquet files, appended without risk.

A store is a folder::

    labels.store/
      manifest.json          what the store holds: codec, classes, provenance, parts
      part-00000-<id>.parquet
      part-00001-<id>.parquet

Each part holds the rows of one write, in row groups of whole items (``items_per_group``
items each), with the codec, classes and provenance in its schema metadata too. Readers
open the parts memory-mapped and read only the columns and row groups they need. Every
page carries a checksum (pyarrow 15 and later) that reads verify, so damaged bytes are
an error rather than other labels.

Appends are crash-safe: the new part is written under a temporary name, flushed to disk
and renamed; only then is a new manifest written the same way and renamed over the old
one. A process killed at any point leaves the old manifest, which names only complete
parts (a part left behind by a killed append is not in it and is never read).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from softlabels.core.errors import InputError
from softlabels.core.io import OutputError, atomic_folder
from softlabels.core.soft import SoftLabels, class_array
from softlabels.store.codecs import Codec, Fidelity, Sparse, codec_from_spec
from softlabels.store.records import BOX_TYPES, Encoded, ViewLabels, encode, item_runs

__all__ = ["LabelStore", "MANIFEST"]

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_META_KEY = b"softlabels.store"
_LOCK = ".lock"


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, flushed, then renamed."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _commit_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Put ``manifest`` in place: the moment an append takes effect."""
    _write_durably(root / MANIFEST, json.dumps(manifest, indent=1).encode())


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One writer at a time (an advisory lock where the platform has one)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(root / _LOCK, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


_MANIFEST_KEYS = {
    "kind": str, "codec": dict, "classes": list, "provenance": dict, "columns": dict,
    "box_dtype": str, "support": bool, "items_per_group": int, "compression": str,
    "parts": list,
}
#: how :meth:`Fidelity.to_json` writes the numbers JSON has no literal for
_NON_FINITE = ("inf", "-inf", "nan")
_PART_KEYS = {"file": str, "n_items": int, "n_rows": int, "groups": list, "nbytes": int}


def _check_manifest(m: dict[str, Any], where: Path) -> None:
    """Raise :class:`InputError` naming ``where`` when the manifest lacks what readers
    use or contradicts itself (its codec, classes and columns)."""

    def damaged(what: str) -> InputError:
        return InputError(f"{where}: damaged manifest ({what}).")

    def check_keys(d: dict[str, Any], keys: dict[str, type], prefix: str) -> None:
        for key, kind in keys.items():
            if key not in d:
                raise damaged(f"{prefix}{key!r} is missing")
            v = d[key]
            if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
                raise damaged(f"{prefix}{key!r} is not a{'n' if kind is int else ''} {_TYPE_NAMES[kind]}")

    check_keys(m, _MANIFEST_KEYS, "")
    if m["kind"] not in ("items", "views"):
        raise damaged(f"kind {m['kind']!r} is neither 'items' nor 'views'")
    if m.get("item_ids") not in (None, "int", "str"):
        raise damaged(f"item_ids {m['item_ids']!r} is neither 'int' nor 'str'")
    if m["box_dtype"] not in BOX_TYPES:
        raise damaged(f"box_dtype {m['box_dtype']!r} is not one of {list(BOX_TYPES)}")
    fid = m.get("fidelity")
    if fid is not None and not (
        isinstance(fid, dict)
        and sorted(fid) == sorted(f.name for f in dataclasses.fields(Fidelity))
        and all((isinstance(v, (int, float)) and not isinstance(v, bool)) or v in _NON_FINITE
                for v in fid.values())
        and isinstance(fid["n_rows"], int) and not isinstance(fid["n_rows"], bool)
    ):
        raise damaged(f"fidelity {_short(fid)} is not {{n_rows, max_abs_error, mean_kl, max_kl}}")
    n_classes = len(m["classes"])
    try:
        codec = codec_from_spec(m["codec"])
        columns = _columns_of(codec, n_classes) if n_classes else None
    except (InputError, TypeError, ValueError) as err:
        raise damaged(f"codec {m['codec']}: {err}") from None
    if n_classes == 0:
        raise damaged("no classes")
    if m["columns"] != columns:
        raise damaged(f"columns {m['columns']} are not those of {codec.describe()}: {columns}")
    if not m["parts"]:  # a store is created with a part, empty or not
        raise damaged("no parts")
    for i, part in enumerate(m["parts"]):
        if not isinstance(part, dict):
            raise damaged(f"part {i} is not an object")
        check_keys(part, _PART_KEYS, f"part {i}: ")
        name = part["file"]
        if not name or name != Path(name).name or name in (".", ".."):
            raise damaged(f"part {i}: file {name!r} is not a file name in the store's folder")
        groups = part["groups"]
        if not all(
            isinstance(g, list) and len(g) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in g)
            for g in groups
        ):
            raise damaged(f"part {i}: groups must be [items, rows] pairs of counts")
        items, rows = [g[0] for g in groups], [g[1] for g in groups]
        if sum(items) != part["n_items"] or sum(rows) != part["n_rows"]:
            raise damaged(
                f"part {i}: groups of {sum(items)} items and {sum(rows)} rows, but the part "
                f"has {part['n_items']} items and {part['n_rows']} rows"
            )
        if m["kind"] == "items" and items != rows:
            raise damaged(f"part {i}: groups of items must have one row per item")
        if any(a > b or (a == 0) != (b == 0) for a, b in zip(items, rows)):
            raise damaged(f"part {i}: groups must have at least one row per item")


_TYPE_NAMES = {str: "string", dict: "object", list: "list", bool: "boolean", int: "integer"}


def _columns_of(codec: Codec, n_classes: int) -> dict[str, str]:
    """The label columns of ``codec`` and their storage types (as the manifest
    lists them)."""
    codec.check(n_classes)
    arrays = codec.encode(np.full((1, n_classes), 1.0 / n_classes))
    return {k: str(v.dtype) for k, v in arrays.items() if k != "offsets"}


def _jsonable_classes(classes: np.ndarray) -> list[Any]:
    out = []
    for c in classes.tolist():
        if not isinstance(c, (str, int, float, bool)):
            raise InputError(f"class {c!r} cannot be stored; use strings or numbers.")
        out.append(c)
    return out


def _item_kind(ids: np.ndarray) -> str:
    if ids.dtype.kind in "iub":
        return "int"
    if ids.dtype.kind in "OUS" and all(isinstance(v, str) for v in ids.tolist()):
        return "str"
    if ids.dtype.kind == "O" and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in ids.tolist()):
        return "int"
    raise InputError("item ids must be all integers or all strings to be stored.")


# ---------------------------------------------------------------------- arrow columns
def _fixed_column(a: np.ndarray) -> Any:
    """A 2-D array as one fixed-size binary value per row (no nulls, no levels)."""
    import pyarrow as pa

    a = np.ascontiguousarray(a)
    width = a.dtype.itemsize * (a.shape[1] if a.ndim == 2 else 1)
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), a.shape[0], [None, pa.py_buffer(a.tobytes())]
    )


def _fixed_numpy(column: Any, dtype: str) -> np.ndarray:
    """The inverse of :func:`_fixed_column`: rows of ``dtype`` values."""
    col = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    width = col.type.byte_width
    n = len(col)
    raw = np.frombuffer(col.buffers()[1], dtype=np.uint8)
    raw = raw[col.offset * width : (col.offset + n) * width]
    return raw.view(dtype).reshape(n, width // np.dtype(dtype).itemsize)


def _table(enc: Encoded, start: int, stop: int, columns: dict[str, str]) -> Any:
    """Rows ``start:stop`` of ``enc`` as an Arrow table."""
    import pyarrow as pa

    data: dict[str, Any] = {"item": pa.array(enc.item_ids[start:stop].tolist() if enc.item_ids.dtype.kind == "O" else enc.item_ids[start:stop])}
    if isinstance(enc.codec, Sparse):
        off = enc.arrays["offsets"]
        lo, hi = int(off[start]), int(off[stop])
        rel = pa.array((off[start : stop + 1] - lo).astype(np.int32))
        data["indices"] = pa.ListArray.from_arrays(rel, pa.array(enc.arrays["indices"][lo:hi]))
        data["values"] = pa.ListArray.from_arrays(rel, pa.array(enc.arrays["values"][lo:hi]))
    else:
        for name in columns:
            data[name] = _fixed_column(enc.arrays[name][start:stop])
    if enc.views:
        data["box"] = _fixed_column(np.asarray(enc.boxes)[start:stop])
        data["flip"] = pa.array(np.asarray(enc.flips)[start:stop])
    elif enc.support is not None:
        data["support"] = pa.array(enc.support[start:stop])
    return pa.table(data)


class LabelStore:
    """A folder of encoded soft labels (see the module docstring).

    Create one with :meth:`create`, open one with ``LabelStore(path)``; add rows with
    :meth:`append`; read items by position (:meth:`read` with ``start``/``stop``) or by
    id (``ids=``), decoded (:meth:`read`) or still encoded (:meth:`read_encoded`).
    Threads may share a reader (their reads of its files take turns); a pickled reader
    reopens the files in the process that unpickles it.

    Parameters
    ----------
    path : str or path
        The store's folder. A path that is not a folder, has no manifest, or holds a
        manifest that is damaged or written by a newer softlabels raises
        :class:`InputError`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._manifest = self._load_manifest()
        self._files: dict[str, Any] = {}
        # pyarrow's ParquetFile is not safe to read from several threads at once
        self._lock = threading.RLock()
        self._index: tuple[np.ndarray, np.ndarray] | None = None
        self._layout()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_files"], state["_lock"]  # open files and locks stay in their process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _files={}, _lock=threading.RLock())

    # ------------------------------------------------------------------ opening
    def _load_manifest(self) -> dict[str, Any]:
        mpath = self.path / MANIFEST
        if not self.path.is_dir():
            why = ("a file; a label store is a folder" if self.path.exists()
                   else "no such folder")
            raise InputError(f"{self.path}: not a label store ({why}).")
        if not mpath.is_file():
            raise InputError(f"{self.path}: not a label store (no {MANIFEST}).")
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise InputError(f"{mpath}: unreadable manifest ({err}).") from None
        if not isinstance(manifest, dict) or manifest.get("format") != "softlabels-store":
            raise InputError(f"{mpath}: not a softlabels store manifest.")
        version = manifest.get("format_version", 0)
        if isinstance(version, (int, float)) and version > FORMAT_VERSION:
            raise InputError(f"{self.path}: written by a newer softlabels; upgrade to read it.")
        _check_manifest(manifest, mpath)
        return manifest

    def _layout(self) -> None:
        """Per row group: part, index in the part, first item and first row."""
        rows = []
        item = row = 0
        for p, part in enumerate(self._manifest["parts"]):
            for g, (n_items, n_rows) in enumerate(part["groups"]):
                rows.append((p, g, item, row, n_items, n_rows))
                item += n_items
                row += n_rows
        self._groups = np.array(rows, dtype=np.int64).reshape(-1, 6)
        self._n_items, self._n_rows = item, row

    # ------------------------------------------------------------------ creating
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        labels: SoftLabels | ViewLabels,
        codec: Codec,
        *,
        items_per_group: int = 8192,
        compression: str = "none",
        box_dtype: str = "float16",
        overwrite: bool = False,
    ) -> LabelStore:
        """Write a new store at ``path`` holding ``labels`` under ``codec``.

        The store appears whole or not at all (it is built in a temporary folder beside
        ``path`` and renamed). ``compression`` is Parquet's (``none``, ``zstd``,
        ``snappy``, ...); ``items_per_group`` sets the row groups.

        Parameters
        ----------
        path : str or path
            The folder to create; its parent must exist.
        labels : SoftLabels or ViewLabels
            The rows to store (a store holds items or views, never both).
        codec : Codec
            How each row is encoded, e.g. ``TopK(5)``.
        items_per_group : int, default=8192
            Items per Parquet row group, at least 1: the unit of a read.
        compression : {"none", "snappy", "gzip", "brotli", "lz4", "zstd"}, default="none"
            Parquet compression of the files.
        box_dtype : {"float16", "float32"}, default="float16"
            Storage type of the crop boxes of views.
        overwrite : bool, default=False
            Replace an existing store at ``path``. Without it an existing path raises
            :class:`InputError`; a path that exists and is not a store is never replaced.

        Returns
        -------
        LabelStore
            The new store, open for reading.
        """
        target = Path(path)
        if isinstance(items_per_group, bool) or not isinstance(items_per_group, int) or items_per_group < 1:
            raise InputError(f"items_per_group must be an integer >= 1; got {items_per_group!r}.")
        parent = target.parent if str(target.parent) else Path(".")
        if not parent.is_dir():
            raise InputError(f"{target}: the folder {parent} does not exist.")
        if target.exists() and not overwrite:
            raise InputError(f"{target}: already exists (append to it, or overwrite it).")
        if target.exists() and not (target / MANIFEST).is_file():
            raise InputError(f"{target}: exists and is not a label store; not overwritten.")
        _check_compression(compression)
        enc = encode(labels, codec, box_dtype=box_dtype)
        manifest: dict[str, Any] = {
            "format": "softlabels-store",
            "format_version": FORMAT_VERSION,
            "kind": "views" if enc.views else "items",
            "codec": codec.spec(),
            "classes": _jsonable_classes(np.asarray(enc.classes)),
            "item_ids": _item_kind(enc.item_ids) if enc.n_rows else None,
            "provenance": enc.provenance,
            "columns": {k: str(v.dtype) for k, v in enc.arrays.items() if k != "offsets"},
            "box_dtype": box_dtype,
            "support": enc.support is not None,
            "items_per_group": items_per_group,
            "compression": compression,
            "fidelity": None,
            "parts": [],
        }
        with atomic_folder(target, replace=overwrite) as tmp:
            part = _write_part(tmp, manifest, enc, 0)
            manifest["parts"].append(part)
            manifest["fidelity"] = enc.fidelity(labels).to_json()
            _commit_manifest(tmp, manifest)
        _fsync_dir(parent)
        return cls(target)

    def append(self, labels: SoftLabels | ViewLabels) -> None:
        """Add the rows of ``labels`` (same kind, classes and codec parameters; item ids
        new to the store). The store changes only when the append has fully succeeded;
        a write that fails (a full disk, a quota) is an :class:`OutputError` and leaves
        no new file.

        Parameters
        ----------
        labels : SoftLabels or ViewLabels
            Of the store's kind, with its classes (and, for items, with a ``support``
            exactly when the store's rows have one); a mismatch, or an item id already
            in the store, raises :class:`InputError`. No rows: nothing changes.
        """
        with _locked(self.path):
            self._manifest = self._load_manifest()  # another writer may have appended
            with self._lock:
                self._files.clear()
            self._index = None
            self._layout()
            m = self._manifest
            views = isinstance(labels, ViewLabels)
            if views != (m["kind"] == "views"):
                raise InputError(
                    f"this store holds {m['kind']}; cannot append {type(labels).__name__}."
                )
            classes = _jsonable_classes(np.asarray(labels.classes))
            if classes != m["classes"]:
                raise InputError(
                    f"classes differ from the store's ({classes[:5]} vs {m['classes'][:5]})."
                )
            if not views and (labels.support is not None) != m["support"]:
                raise InputError("support: the store's rows and the new rows must both have it or both not.")
            enc = encode(labels, self.codec, box_dtype=m["box_dtype"])
            if enc.n_rows == 0:
                return
            kind = _item_kind(enc.item_ids)
            if m["item_ids"] not in (None, kind):
                raise InputError(f"the store's item ids are {m['item_ids']}s; the new ones are {kind}s.")
            new_ids = enc.item_ids[item_runs(enc.item_ids)[:-1]] if views else enc.item_ids
            old_ids = self.item_ids()
            clash = np.isin(new_ids, old_ids) if old_ids.size else np.zeros(len(new_ids), bool)
            if clash.any():
                first = new_ids[np.flatnonzero(clash)[0]]
                first = first.item() if isinstance(first, np.generic) else first
                raise InputError(
                    f"item {first!r} is already in the store ({int(clash.sum())} such items)."
                )
            manifest = json.loads(json.dumps(m))
            manifest["item_ids"] = kind
            fid = enc.fidelity(labels)
            if manifest["fidelity"] is not None:
                fid = Fidelity.from_json(manifest["fidelity"]).combine(fid)
            manifest["fidelity"] = fid.to_json()
            try:
                part = _write_part(self.path, manifest, enc, len(m["parts"]))
            except OSError as err:
                raise _unwritten(self.path, err) from None
            manifest["parts"].append(part)
            try:
                _commit_manifest(self.path, manifest)
            except OSError as err:  # the manifest was not replaced: the new part is unused
                with contextlib.suppress(OSError):
                    os.unlink(self.path / part["file"])
                raise _unwritten(self.path, err) from None
            self._manifest = manifest
            self._index = None  # the id index read above holds only the earlier items
            self._layout()

    # ------------------------------------------------------------------ properties
    @property
    def codec(self) -> Codec:
        return codec_from_spec(self._manifest["codec"])

    @property
    def classes(self) -> np.ndarray:
        return class_array(self._manifest["classes"])

    @property
    def provenance(self) -> dict[str, Any]:
        return dict(self._manifest["provenance"])

    @property
    def views(self) -> bool:
        return self._manifest["kind"] == "views"

    @property
    def n_items(self) -> int:
        return int(self._n_items)

    @property
    def n_rows(self) -> int:
        """Rows: items, or views for a store of views."""
        return int(self._n_rows)

    def __len__(self) -> int:
        return self.n_items

    @property
    def fidelity(self) -> Fidelity | None:
        f = self._manifest.get("fidelity")
        return None if f is None else Fidelity.from_json(f)

    def nbytes(self) -> int:
        """Bytes of the encoded labels (and boxes and flips), before compression."""
        return int(sum(p["nbytes"] for p in self._manifest["parts"]))

    def disk_bytes(self) -> int:
        """Bytes of the store's committed files on disk (manifest included)."""
        files = [self.path / MANIFEST] + [self.path / p["file"] for p in self._manifest["parts"]]
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise InputError(f"{missing[0]}: missing (the store's manifest names it).")
        return int(sum(f.stat().st_size for f in files))

    def info(self) -> dict[str, Any]:
        """A summary: kind, counts, codec, classes, sizes and fidelity."""
        fid = self.fidelity
        n = max(self.n_rows, 1)
        return {
            "path": str(self.path),
            "kind": self._manifest["kind"],
            "n_items": self.n_items,
            "n_rows": self.n_rows,
            "n_parts": len(self._manifest["parts"]),
            "n_row_groups": int(self._groups.shape[0]),
            "codec": self.codec.describe(),
            "n_classes": len(self._manifest["classes"]),
            "classes": self._manifest["classes"],
            "nbytes": self.nbytes(),
            "bytes_per_row": self.nbytes() / n,
            "disk_bytes": self.disk_bytes(),
            "compression": self._manifest["compression"],
            "provenance": self.provenance,
            "fidelity": None if fid is None else fid.as_dict(),
        }

    # ------------------------------------------------------------------ reading
    def _file(self, p: int) -> Any:
        import pyarrow.parquet as pq

        name = self._manifest["parts"][p]["file"]
        if name not in self._files:
            with _reading(self.path / name):
                part = pq.ParquetFile(self.path / name, memory_map=True, **_checksums("page_checksum_verification"))
            self._check_part(part, p)
            self._files[name] = part
        return self._files[name]

    def _check_part(self, part: Any, p: int) -> None:
        """Raise :class:`InputError` unless the part is laid out as the manifest says
        (same codec, classes and kind; same row groups; the columns read from it)."""
        entry = self._manifest["parts"][p]
        where = self.path / entry["file"]
        raw = (part.schema_arrow.metadata or {}).get(_META_KEY)
        try:
            embedded = json.loads(raw) if raw is not None else None
        except ValueError:
            embedded = None
        if not isinstance(embedded, dict):
            raise InputError(f"{where}: not a part of a label store (no readable {_META_KEY.decode()} metadata).")
        for key in ("kind", "codec", "classes"):
            if embedded.get(key) != self._manifest[key]:
                raise InputError(
                    f"{where}: its {key} ({_short(embedded.get(key))}) differs from the manifest's "
                    f"({_short(self._manifest[key])}); the part does not belong to this store."
                )
        meta = part.metadata
        rows = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        expected = [g[1] for g in entry["groups"]]
        if rows != expected:
            raise InputError(
                f"{where}: row groups of {_short(rows)} rows, but the manifest says {_short(expected)}; "
                "the part does not belong to this manifest."
            )
        missing = [c for c in self._columns(True) if c not in part.schema_arrow.names]
        if missing:
            raise InputError(f"{where}: no column {missing[0]!r}.")

    def _label_columns(self) -> list[str]:
        if self._manifest["codec"]["codec"] == Sparse.name:
            return ["indices", "values"]
        return list(self._manifest["columns"])

    def _read_groups(self, groups: np.ndarray, columns: list[str]) -> Any:
        import pyarrow as pa

        tables = []
        # consecutive row groups of one part in one call
        for p in np.unique(groups[:, 0]) if groups.size else []:
            mine = groups[groups[:, 0] == p]
            with self._lock:
                part = self._file(int(p))
                with _reading(self.path / self._manifest["parts"][int(p)]["file"]):
                    tables.append(part.read_row_groups(mine[:, 1].tolist(), columns=columns, use_threads=False))
        if not tables:
            return None
        if len({t.schema.field("item").type for t in tables}) > 1:
            # integer ids of two types (parts written before ids were made int64, or ids
            # past int64 in one part)
            tables = _same_item_type(tables)
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]

    def item_ids(self) -> np.ndarray:
        """The id of every item, in store order (reads only the ``item`` column)."""
        return self._id_index()[0]

    def row_offsets(self) -> np.ndarray:
        """The first row of each item and the number of rows: ``(n_items + 1,)`` (for a
        store of items, ``0, 1, ..., n_items``)."""
        return self._id_index()[1]

    def group_ranges(self) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """Per row group, in store order: its items ``(start, stop)`` and its rows
        ``(start, stop)``."""
        return [((int(g[2]), int(g[2] + g[4])), (int(g[3]), int(g[3] + g[5]))) for g in self._groups]

    def _id_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Item ids and the row offsets of the items ``(n_items + 1,)``."""
        if self._index is None:
            # not the empty group of a store created without rows: its item column has
            # the type of the empty ids it was given, not that of the ids appended since
            table = self._read_groups(self._groups[self._groups[:, 5] > 0][:, :2], ["item"])
            rows = np.asarray([], dtype=np.int64) if table is None else _ids(table.column("item"))
            if self.views:
                runs = item_runs(rows)
                self._index = (rows[runs[:-1]], runs)
            else:
                self._index = (rows, np.arange(rows.shape[0] + 1, dtype=np.int64))
        return self._index

    def _columns(self, labels: bool) -> list[str]:
        cols = ["item"]
        if labels:
            cols += self._label_columns()
        if self.views:
            cols += ["box", "flip"]
        elif self._manifest["support"]:
            cols += ["support"]
        return cols

    def read_encoded(
        self,
        start: int | None = None,
        stop: int | None = None,
        *,
        ids: Sequence[Any] | np.ndarray | None = None,
    ) -> Encoded:
        """Items ``start:stop`` (positions in store order), or the items ``ids`` in that
        order, still encoded. Only the row groups that hold them are read.

        Parameters
        ----------
        start, stop : int, optional
            Item positions, as in a slice (negative counts from the end; out of range
            is clipped). Both omitted: every item.
        ids : sequence, optional
            Item ids instead of positions (1-D; an id not in the store raises
            :class:`InputError`). Not together with ``start`` or ``stop``.

        Returns
        -------
        Encoded
            For a store of views, every view of the items chosen.
        """
        if ids is not None:
            if start is not None or stop is not None:
                raise InputError("give start/stop or ids, not both.")
            return self._read_ids(ids)
        lo, hi, _ = slice(start, stop).indices(self.n_items)
        hi = max(hi, lo)
        g = self._groups
        g_lo, g_hi = g[:, 2], g[:, 2] + g[:, 4]
        chosen = g[(g_hi > lo) & (g_lo < hi)]
        table = self._read_groups(chosen[:, :2], self._columns(True))
        if table is None:
            return self._encoded(None)
        first_item = int(chosen[0, 2])
        runs = item_runs(_ids(table.column("item"))) if self.views else np.arange(table.num_rows + 1)
        r0, r1 = int(runs[lo - first_item]), int(runs[hi - first_item])
        return self._encoded(table.slice(r0, r1 - r0))

    def _read_ids(self, ids: Any) -> Encoded:
        import pyarrow as pa

        wanted = np.asarray(ids)
        if wanted.ndim != 1:
            raise InputError(f"ids must be 1-D; got shape {wanted.shape}.")
        all_ids, offsets = self._id_index()
        import pandas as pd

        pos = pd.Index(all_ids).get_indexer(wanted) if all_ids.size else np.full(len(wanted), -1)
        if (pos < 0).any():
            missing = wanted[np.flatnonzero(pos < 0)[0]]
            missing = missing.item() if isinstance(missing, np.generic) else missing
            raise InputError(f"item {missing!r} is not in the store ({int((pos < 0).sum())} missing).")
        if wanted.size == 0:
            return self._encoded(None)
        g = self._groups
        gi = np.searchsorted(g[:, 2], pos, side="right") - 1
        used = np.unique(gi)
        table = self._read_groups(g[used][:, :2], self._columns(True))
        # rows of the table where each used group starts
        group_row0 = np.zeros(len(used), dtype=np.int64)
        np.cumsum(g[used][:-1, 5], out=group_row0[1:])
        where = np.searchsorted(used, gi)
        local_start = offsets[pos] - g[gi, 3] + group_row0[where]
        lengths = offsets[pos + 1] - offsets[pos]
        take = np.repeat(local_start - np.cumsum(np.concatenate([[0], lengths[:-1]])), lengths) + np.arange(lengths.sum())
        return self._encoded(table.take(pa.array(take)))

    def _encoded(self, table: Any) -> Encoded:
        m = self._manifest
        codec = self.codec
        classes = np.asarray(m["classes"], dtype=object)
        if table is None:
            table = _empty_table(self)
        ids = _ids(table.column("item"))
        if isinstance(codec, Sparse):
            idx = table.column("indices").combine_chunks()
            vals = table.column("values").combine_chunks()
            off = idx.offsets.to_numpy().astype(np.int64)
            arrays = {
                "offsets": off - off[0],
                "indices": idx.flatten().to_numpy(zero_copy_only=False).astype(m["columns"]["indices"], copy=False),
                "values": vals.flatten().to_numpy(zero_copy_only=False).astype(m["columns"]["values"], copy=False),
            }
        else:
            arrays = {name: _fixed_numpy(table.column(name), dt) for name, dt in m["columns"].items()}
        enc = Encoded(codec, arrays, classes, ids, self.provenance, views=self.views, box_dtype=m["box_dtype"])
        if self.views:
            enc.boxes = _fixed_numpy(table.column("box"), m["box_dtype"])
            enc.flips = table.column("flip").to_numpy(zero_copy_only=False).astype(bool)
        elif m["support"]:
            enc.support = table.column("support").to_numpy().astype(np.float64)
        return enc

    def read(
        self,
        start: int | None = None,
        stop: int | None = None,
        *,
        ids: Sequence[Any] | np.ndarray | None = None,
    ) -> SoftLabels | ViewLabels:
        """As :meth:`read_encoded`, decoded into :class:`SoftLabels` or
        :class:`ViewLabels` (with the store's classes and provenance).

        Parameters
        ----------
        start, stop : int, optional
            Item positions, as in a slice.
        ids : sequence, optional
            Item ids instead of positions.

        Returns
        -------
        SoftLabels or ViewLabels
        """
        return self.read_encoded(start, stop, ids=ids).labels()

    def iter_encoded(self, items_per_block: int | None = None) -> Iterator[Encoded]:
        """The whole store in blocks of items (by default one row group each).

        Parameters
        ----------
        items_per_block : int, optional
            Items per block; by default those of each row group.

        Yields
        ------
        Encoded
        """
        if items_per_block is None:
            for (lo, hi), _ in self.group_ranges():
                if hi > lo:
                    yield self.read_encoded(lo, hi)
            return
        for lo in range(0, self.n_items, items_per_block):
            yield self.read_encoded(lo, lo + items_per_block)


def _unwritten(path: Path, err: OSError) -> OutputError:
    """The one-line error of an append that could not write (a full disk, a quota)."""
    if isinstance(err, OutputError):
        return err
    reason = err.strerror or str(err) or type(err).__name__
    error = OutputError(f"{path}: cannot be written ({reason}); the store is as it was.")
    error.errno = err.errno
    return error


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Errors of Parquet reads (a missing, truncated or damaged part) as one
    :class:`InputError` naming the part (a damaged footer can also fail as a
    ``UnicodeDecodeError`` or another ``ValueError``)."""
    import pyarrow as pa

    try:
        yield
    except (OSError, ValueError, pa.ArrowException) as err:
        reason = " ".join(str(err).split())  # some of pyarrow's run over several lines
        raise InputError(f"{path}: cannot be read ({reason}).") from None


def _same_item_type(tables: list[Any]) -> list[Any]:
    """``tables`` with their integer ``item`` columns as int64, or as uint64 where some
    ids do not fit int64 (unchanged when the ids are not all integers)."""
    import pyarrow as pa

    if not all(pa.types.is_integer(t.schema.field("item").type) for t in tables):
        return tables
    for target in (pa.int64(), pa.uint64()):
        try:
            return [t.set_column(t.schema.get_field_index("item"), "item", t.column("item").cast(target))
                    for t in tables]
        except pa.ArrowInvalid:  # an id out of the type's range
            continue
    return tables


def _ids(column: Any) -> np.ndarray:
    """An item-id column as a numpy array (strings as objects)."""
    return column.to_numpy(zero_copy_only=False)


def _empty_table(store: LabelStore) -> Any:
    import pyarrow as pa

    with store._lock:
        p = store._file(0)
    schema = p.schema_arrow
    cols = store._columns(True)
    return pa.table({c: pa.array([], type=schema.field(c).type) for c in cols})


def _check_compression(compression: str) -> None:
    allowed = ("none", "snappy", "gzip", "brotli", "lz4", "zstd")
    if compression not in allowed:
        raise InputError(f"compression must be one of {list(allowed)}; got {compression!r}.")


def _options(manifest: dict[str, Any]) -> dict[str, Any]:
    """Parquet writer options: no dictionaries (the codes are already compact), no
    statistics on the binary columns, a checksum on every page (readers verify them, so
    that damaged bytes are an error rather than other labels)."""
    return {
        "compression": manifest["compression"],
        "use_dictionary": False,
        "write_statistics": ["item"],
        **_checksums("write_page_checksum"),
    }


@functools.cache
def _checksums(option: str) -> dict[str, bool]:
    """``{option: True}`` where this pyarrow has the page checksum option (15 and
    later), else nothing."""
    import inspect

    import pyarrow.parquet as pq

    takes = (pq.ParquetWriter if option == "write_page_checksum" else pq.ParquetFile).__init__
    return {option: True} if option in inspect.signature(takes).parameters else {}


def _stored_ids(ids: np.ndarray) -> np.ndarray:
    """Integer ids of every width as int64 (uint64 where some do not fit), so that the
    parts of appends share one type; other ids as they are."""
    if ids.dtype.kind not in "iub":
        return ids
    huge = ids.dtype.kind == "u" and ids.size and int(ids.max()) > np.iinfo(np.int64).max
    return ids.astype(np.uint64 if huge else np.int64)


def _write_part(root: Path, manifest: dict[str, Any], enc: Encoded, seq: int) -> dict[str, Any]:
    """Write ``enc`` as a new part file in ``root``; return its manifest entry."""
    import pyarrow.parquet as pq

    enc = dataclasses.replace(enc, item_ids=_stored_ids(enc.item_ids))
    name = f"part-{seq:05d}-{uuid.uuid4().hex[:8]}.parquet"
    per_group = int(manifest["items_per_group"])
    runs = item_runs(enc.item_ids) if enc.views else np.arange(enc.n_rows + 1, dtype=np.int64)
    n_items = runs.shape[0] - 1
    bounds = list(range(0, n_items, per_group)) + [n_items]
    meta = json.dumps(
        {
            "codec": manifest["codec"],
            "classes": manifest["classes"],
            "provenance": manifest["provenance"],
            "kind": manifest["kind"],
            "format_version": FORMAT_VERSION,
        }
    ).encode()
    columns = manifest["columns"]
    groups = []
    tmp = root / f".{name}.tmp"
    writer = None
    try:
        for a, b in zip(bounds[:-1], bounds[1:]):
            r0, r1 = int(runs[a]), int(runs[b])
            table = _table(enc, r0, r1, columns)
            if writer is None:
                schema = table.schema.with_metadata({_META_KEY: meta})
                writer = pq.ParquetWriter(tmp, schema, **_options(manifest))
            writer.write_table(table.replace_schema_metadata({_META_KEY: meta}), row_group_size=max(r1 - r0, 1))
            groups.append([b - a, r1 - r0])
        if writer is None:  # no rows: an empty part keeps the schema
            table = _table(enc, 0, 0, columns)
            writer = pq.ParquetWriter(tmp, table.schema.with_metadata({_META_KEY: meta}), **_options(manifest))
            writer.write_table(table.replace_schema_metadata({_META_KEY: meta}))
            groups.append([0, 0])
        writer.close()
        writer = None
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, root / name)
        _fsync_dir(root)
    except BaseException:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return {"file": name, "n_items": n_items, "n_rows": enc.n_rows, "groups": groups, "nbytes": enc.nbytes()}
