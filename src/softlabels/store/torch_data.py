"""PyTorch datasets over a label store (needs the ``torch`` extra).

:class:`TorchStoreDataset` is a map-style ``Dataset`` (random access, any sampler);
:class:`TorchStoreIterableDataset` streams the store a row group at a time and splits
the row groups between ``DataLoader`` workers (worker ``w`` of ``n`` takes groups
``w, w + n, ...``), and between processes of a distributed job with ``shard=``. Both
wrap :class:`~softlabels.store.datasets.StoreDataset` (same arguments): inputs joined
by item id, crops and flips replayed, labels decoded on the fly. Every worker opens its
own reader of the store.

Records are ``(input, label)`` tensors (``input`` float32, with ``transform`` applied
when given; ``label`` the float32 probability row), or ``(input, label, row)`` with
``return_index=True``.

>>> from torch.utils.data import DataLoader                       # doctest: +SKIP
>>> data = TorchStoreIterableDataset("views.store", images, size=16)  # doctest: +SKIP
>>> for x, y in DataLoader(data, batch_size=256, num_workers=2):  # doctest: +SKIP
...     loss = kl_div(model(x).log_softmax(1), y)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from softlabels._optional import require
from softlabels.store.datasets import StoreDataset, check_shard

torch = require("torch", "torch")
_data = require("torch.utils.data", "torch")

__all__ = ["TorchStoreDataset", "TorchStoreIterableDataset"]


def _tensors(record: tuple[Any, ...], transform: Callable[[Any], Any] | None) -> tuple[Any, ...]:
    x = torch.from_numpy(np.asarray(record[0], dtype=np.float32))
    if transform is not None:
        x = transform(x)
    out = (x, torch.from_numpy(np.asarray(record[1])))
    return out + tuple(record[2:])


class TorchStoreDataset(_data.Dataset):
    """Map-style: record ``i`` is the store's row ``i`` (see the module docstring).

    Takes the arguments of :class:`StoreDataset`, plus ``transform``: a callable
    applied to each input tensor.

    Parameters
    ----------
    store : LabelStore or path
    inputs : array, mapping or callable
        As for :class:`StoreDataset`.
    transform : callable, optional
        Applied to each input tensor.
    **kwargs
        The other arguments of :class:`StoreDataset` (``input_ids``, ``size``,
        ``interpolation``, ``replay``, ``return_index``).
    """

    def __init__(self, store: Any, inputs: Any, *, transform: Callable[[Any], Any] | None = None,
                 **kwargs: Any) -> None:
        self.data = StoreDataset(store, inputs, **kwargs)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[Any, ...]:
        return _tensors(self.data[i], self.transform)

    def __getitems__(self, rows: Sequence[int]) -> list[tuple[Any, ...]]:
        return [_tensors(r, self.transform) for r in self.data.__getitems__(list(rows))]


class TorchStoreIterableDataset(_data.IterableDataset):
    """Streams the store, a row group at a time, sharded by worker (see the module
    docstring).

    Takes the arguments of :class:`StoreDataset`, plus ``transform``; ``shuffle`` and
    ``seed`` shuffle the row groups and the records in each, differently each epoch
    (:meth:`set_epoch`); ``shard=(index, count)`` is this process's share of a
    distributed job (row groups are split by process, then by worker).

    Parameters
    ----------
    store, inputs, transform
        As for :class:`TorchStoreDataset`.
    shuffle : bool, default=False
        Shuffle the row groups and the records in each, differently each epoch.
    seed : int, default=0
        Seed of the shuffle.
    shard : tuple of int, default=(0, 1)
        ``(index, count)``: this process's share of a distributed job.
    **kwargs
        The other arguments of :class:`StoreDataset`.
    """

    def __init__(self, store: Any, inputs: Any, *, transform: Callable[[Any], Any] | None = None,
                 shuffle: bool = False, seed: int = 0, shard: tuple[int, int] = (0, 1),
                 **kwargs: Any) -> None:
        self.data = StoreDataset(store, inputs, **kwargs)
        self.transform = transform
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.shard = check_shard(shard)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for ``epoch`` (call before each epoch when ``shuffle=True``).

        Parameters
        ----------
        epoch : int
        """
        self.epoch = int(epoch)

    def __len__(self) -> int:
        """All the records of the store (over every shard and worker)."""
        return len(self.data)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        info = _data.get_worker_info()
        worker, n_workers = (0, 1) if info is None else (info.id, info.num_workers)
        index, count = self.shard
        shard = (index * n_workers + worker, count * n_workers)
        seed = self.seed + 1_000_003 * self.epoch + shard[0]
        for block in self.data.iter_blocks(shard=shard, shuffle=self.shuffle, seed=seed):
            for record in block:
                yield _tensors(record, self.transform)
