"""A small, framework-free training loop for the losses of :mod:`softlabels.train.nn`.

:func:`fit` trains any ``nn.Module`` with any loss and passes each loss what it needs: the
sample index to stateful losses (ELR), teacher logits to distillation losses, bag structure to
DLLP. Needs torch (``pip install 'softlabels[torch]'``).

How the loss is called (``call="auto"`` picks what the loss's registration declares,
``softlabels.train.loss_info(name).call``; name a mode to override):

==============  ==========================================  =====================================
mode            call                                        chosen for
==============  ==========================================  =====================================
``"target"``    ``loss(logits, target)``                    every other loss, ``F.cross_entropy``
``"distill"``   ``loss(logits, teacher_logits, target)``    ``KDLoss``, ``DKDLoss``, ``NKDLoss``
                                                            and their functions
``"index"``     ``loss(logits, target, index)``             ``ELRLoss``
``"bags"``      ``loss(logits.reshape(B*S, C),              ``DLLPLoss``: inputs ``(B, S, ...)``
                bag_index, target)``                        are B bags of S items, target the
                                                            ``(B, C)`` bag proportions
``"features"``  ``loss(logits, target, features)``          ``USKDLoss``: the model returns
                                                            ``(logits, features)``
``"batch"``     ``loss(output, batch)``                     anything else: ``batch`` is a
                                                            :class:`Batch`
==============  ==========================================  =====================================

A model that returns a tuple gives its first element as the logits. Teacher logits come from
``teacher`` (a module run in eval mode without gradient, or a precomputed ``(N, C)`` tensor
indexed by the sample index), from ``ema_teacher`` (an exponential moving average of the
model's own weights, a mean teacher) or from a ``"teacher_logits"`` entry of a DataLoader's
dict batches.

>>> import torch
>>> from softlabels.train import fit
>>> x, y = torch.randn(64, 2), torch.arange(64) % 2
>>> x[:, 0] += 4 * y - 2
>>> history = fit(torch.nn.Linear(2, 2), (x, y), torch.nn.CrossEntropyLoss(), epochs=20,
...               lr=0.05, batch_size=16, device="cpu")
>>> history.loss[-1] < history.loss[0]
True
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from softlabels._optional import require
from softlabels.core.validation import check_float, check_int, check_option
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels

torch = require("torch", extra="torch")
Tensor, nn = torch.Tensor, torch.nn

__all__ = ["Batch", "History", "ema_update", "fit", "loss_call_mode", "resolve_device"]

CALL_MODES = ("auto", "target", "distill", "index", "bags", "features", "batch")


@dataclass
class Batch:
    """One mini-batch, as given to a loss in ``call="batch"`` mode.

    Parameters
    ----------
    inputs : Any
        The batch's inputs, as given to the model.
    target : Any
        The batch's targets.
    index : Tensor, optional
        Row of each sample in the training set.
    teacher_logits : Tensor, optional
        The teacher's logits on the batch, when there is a teacher.
    output : Any, optional
        The model's raw output.
    """

    inputs: Any
    target: Any
    index: Tensor | None = None
    teacher_logits: Tensor | None = None
    output: Any = None  #: the model's raw output


@dataclass
class History:
    """What :func:`fit` returns: one record per epoch, and the EMA teacher if any.

    Each record holds ``epoch`` (1-based), ``loss`` (the mean loss over the epoch's
    samples, or bags for DLLP, also for a loss whose ``reduction`` attribute, or the
    ``reduction`` bound to it by ``functools.partial``, is ``"sum"``), ``lr`` (the
    learning rate of the epoch's steps, before the scheduler steps), ``seconds`` and
    whatever the callbacks returned.

    Attributes
    ----------
    records : list of dict
        One record per epoch.
    teacher : torch.nn.Module or None
        The EMA teacher, when training kept one.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    teacher: nn.Module | None = None

    @property
    def loss(self) -> list[float]:
        """The per-epoch mean training loss."""
        return [r["loss"] for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.records[i]

    def to_frame(self) -> Any:
        """The records as a pandas DataFrame, one row per epoch."""
        import pandas as pd

        return pd.DataFrame(self.records)


# --------------------------------------------------------------------------- helpers
def resolve_device(device: Any = None) -> torch.device:
    """``device`` as a ``torch.device``; ``None`` picks CUDA, then Apple MPS, then the CPU.

    Parameters
    ----------
    device : torch.device, str or None, default=None
        Anything ``torch.device`` does not accept raises
        :class:`~softlabels.InvalidParameterError`.

    Returns
    -------
    torch.device

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is not None:
        try:
            return torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise InvalidParameterError(
                f"The 'device' parameter of fit must be a torch device or its name; got "
                f"{device!r} ({err})."
            ) from None
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, decay: float) -> None:
    """Mean-teacher update ``theta_t <- decay * theta_t + (1 - decay) * theta_s`` for every
    floating parameter and buffer; other buffers (counters) are copied.

    Parameters
    ----------
    teacher : nn.Module
        Updated in place.
    student : nn.Module
        The same architecture: as many parameters and buffers, the parameters of
        the same shapes (otherwise :class:`InputError`).
    decay : float
        Weight of the teacher's own value, e.g. 0.999.

    Examples
    --------
    >>> import torch
    >>> t, s = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
    >>> _ = torch.nn.init.constant_(t.weight, 1.0), torch.nn.init.constant_(s.weight, 3.0)
    >>> ema_update(t, s, 0.9)
    >>> round(float(t.weight), 4)
    1.2
    """
    params, s_params = list(teacher.named_parameters()), list(student.parameters())
    buffers, s_buffers = list(teacher.buffers()), list(student.buffers())
    for what, mine, theirs in (("parameters", params, s_params), ("buffers", buffers, s_buffers)):
        if len(mine) != len(theirs):
            raise InputError(f"teacher has {len(mine)} {what} but the student has "
                             f"{len(theirs)}; ema_update needs two copies of one model.")
    for (name, pt), ps in zip(params, s_params):
        if pt.shape != ps.shape:
            raise InputError(f"teacher parameter {name!r} does not match the student's shape.")
        pt.mul_(decay).add_(ps.detach().to(pt.dtype), alpha=1.0 - decay)
    for bt, bs in zip(buffers, s_buffers):
        if bt.is_floating_point():
            bt.mul_(decay).add_(bs.to(bt.dtype), alpha=1.0 - decay)
        else:
            bt.copy_(bs)


def loss_call_mode(loss: Any) -> str:
    """The mode ``call="auto"`` uses for ``loss`` (see the module docstring).

    A registered loss module is called as its registration says (``loss_info(name).call``);
    a registered function (also inside ``functools.partial``) the same way when it takes
    the same inputs as its module (distillation, bags); anything else as
    ``loss(logits, target)``.

    Parameters
    ----------
    loss : callable
        A loss module or function.

    Returns
    -------
    str
        The call convention (``"target"``, ``"distill"``, ``"index"``, ...).

    Examples
    --------
    >>> from softlabels.train.nn import ELRLoss, KDLoss
    >>> loss_call_mode(KDLoss()), loss_call_mode(ELRLoss(10, 3))
    ('distill', 'index')
    """
    from softlabels.train.nn.losses import REGISTERED, LossModule

    if isinstance(loss, LossModule) and hasattr(type(loss), "info"):
        call = type(loss).info.call
    else:
        fn = loss
        while isinstance(fn, functools.partial):  # hyper-parameters bound to a function
            fn = fn.func
        call = next((cls.info.call for cls in REGISTERED.values() if cls.function is fn
                     and cls.info.call in ("distill", "bags")), "target")
    if call == "custom":
        raise InputError(
            f"fit cannot guess how to call {type(loss).__name__}: pass call='batch' and a "
            "loss taking (output, batch)."
        )
    return call


def _reduction(loss: Any) -> Any:
    """The ``reduction`` of a loss module, or the one bound to a function by
    ``functools.partial`` (None if neither says)."""
    while isinstance(loss, functools.partial):
        if "reduction" in loss.keywords:
            return loss.keywords["reduction"]
        loss = loss.func
    return getattr(loss, "reduction", None)


def _as_tensor(x: Any, name: str) -> Tensor:
    if isinstance(x, SoftLabels):
        x = x.probs
    if isinstance(x, Tensor):
        return x
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a tensor or an array; {err}") from None
    if arr.dtype.kind == "f":
        return torch.tensor(arr, dtype=torch.get_default_dtype())
    if arr.dtype.kind in "iu":
        return torch.tensor(arr.astype(np.int64))
    if arr.dtype.kind == "b":
        return torch.tensor(arr)
    raise InputError(f"{name} must be numeric; got dtype {arr.dtype}.")


def _move(x: Any, device: torch.device) -> Any:
    if isinstance(x, Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, (list, tuple)):
        return type(x)(_move(v, device) for v in x)
    if isinstance(x, Mapping):
        return {k: _move(v, device) for k, v in x.items()}
    return x


def _first(output: Any) -> Tensor:
    return output[0] if isinstance(output, (tuple, list)) else output


class _TensorBatches:
    """Seeded mini-batches over in-memory tensors; the index is the row position (or the
    given index tensor)."""

    def __init__(self, data: Sequence[Any], batch_size: int, shuffle: bool,
                 device: torch.device) -> None:
        if len(data) not in (2, 3):
            raise InputError(
                f"data must be (inputs, target) or (inputs, target, index); got a "
                f"{type(data).__name__} of {len(data)} elements."
            )
        names = ("inputs", "target", "index")
        tensors = [_as_tensor(x, names[i]) for i, x in enumerate(data)]
        n = tensors[0].shape[0] if tensors[0].ndim else -1
        for name, t in zip(names, tensors):
            if t.ndim == 0 or t.shape[0] != n:
                raise InputError(
                    f"data: {name} has {t.shape[0] if t.ndim else 0} rows but inputs has {n}; "
                    "all must have one row per sample."
                )
        if len(tensors) == 3 and (tensors[2].is_floating_point() or tensors[2].ndim != 1
                                  or tensors[2].dtype == torch.bool):
            raise InputError("data: index must be a 1-D integer tensor.")
        self.inputs, self.target = tensors[0].to(device), tensors[1].to(device)
        self.index = tensors[2].to(device) if len(tensors) == 3 else None
        self.n, self.batch_size, self.shuffle, self.device = n, batch_size, shuffle, device

    def epoch(self, gen: torch.Generator) -> Iterable[tuple[Any, Any, Tensor, Tensor | None]]:
        order = torch.randperm(self.n, generator=gen) if self.shuffle else torch.arange(self.n)
        order = order.to(self.device)
        for start in range(0, self.n, self.batch_size):
            rows = order[start:start + self.batch_size]
            index = rows if self.index is None else self.index[rows]
            yield self.inputs[rows], self.target[rows], index, None


def _loader_batches(loader: Iterable[Any], device: torch.device
                    ) -> Iterable[tuple[Any, Any, Tensor | None, Tensor | None]]:
    for i, batch in enumerate(loader):
        if isinstance(batch, Mapping):
            missing = [k for k in ("inputs", "target") if k not in batch]
            if missing:
                raise InputError(
                    f"DataLoader batch {i} is a dict without {missing}; use the keys 'inputs', "
                    "'target' and optionally 'index' and 'teacher_logits'."
                )
            b = _move(dict(batch), device)
            yield b["inputs"], b["target"], b.get("index"), b.get("teacher_logits")
        elif isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
            b = _move(batch, device)
            yield b[0], b[1], (b[2] if len(batch) == 3 else None), None
        else:
            raise InputError(
                f"DataLoader batch {i} must be (inputs, target[, index]) or a dict; got "
                f"{type(batch).__name__}"
                + (f" of {len(batch)} elements." if isinstance(batch, (tuple, list)) else ".")
                + " (In-memory data must be a tuple, not a list.)"
            )


def _make_optimizer(optimizer: Any, params: list[nn.Parameter], lr: float,
                    weight_decay: float) -> torch.optim.Optimizer:
    if optimizer is None:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        opt = optimizer(params)
        if isinstance(opt, torch.optim.Optimizer):
            return opt
    raise InvalidParameterError(
        "The 'optimizer' parameter of fit must be None, a torch.optim.Optimizer or a "
        f"callable params -> Optimizer; got {optimizer!r}."
    )


def _trainable(*modules: Any) -> list[nn.Parameter]:
    seen: dict[int, nn.Parameter] = {}
    for m in modules:
        if isinstance(m, nn.Module):
            for p in m.parameters():
                if p.requires_grad:
                    seen.setdefault(id(p), p)
    return list(seen.values())


# --------------------------------------------------------------------------- fit
def fit(
    model: nn.Module,
    data: Any,
    loss: Callable[..., Tensor],
    *,
    epochs: int = 10,
    optimizer: Any = None,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int | None = 0,
    device: Any = None,
    teacher: nn.Module | Tensor | None = None,
    ema_teacher: float | None = None,
    call: str = "auto",
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], Mapping[str, Any] | None]] = (),
    progress: bool = False,
) -> History:
    """Train ``model`` on ``data`` with ``loss`` for ``epochs`` epochs.

    Parameters
    ----------
    model : nn.Module
        Moved to ``device`` (in place) and trained in train mode; its mode is restored at
        the end, also when training raises. If it returns a tuple, the first element is the logits.
    data : tuple of tensors or arrays, or an iterable of batches (a DataLoader)
        A tuple ``(inputs, target)`` or ``(inputs, target, index)`` (a tuple: any other
        iterable is read as batches); targets may be class indices,
        probabilities or a :class:`~softlabels.SoftLabels`. Without ``index`` the sample
        index is the row position. NumPy floating arrays become the default torch dtype.
        A DataLoader yields ``(inputs, target[, index])`` tuples or dicts with keys
        ``inputs``, ``target`` and optionally ``index`` and ``teacher_logits``; it does its
        own batching and shuffling (seeded through the global RNG that ``seed`` forks).
    loss : callable
        An ``nn.Module`` loss (its parameters and buffers move to ``device``; its
        trainable parameters are optimised with the model's) or a function. See the module
        docstring for how it is called.
    epochs : int, default 10
    optimizer : Optimizer or callable, optional
        ``None``: ``torch.optim.Adam(params, lr, weight_decay)``; an Optimizer is used as is;
        a callable gets the list of trainable parameters and returns one.
    lr, weight_decay : float, default 1e-3 and 0
        For the default optimiser only.
    scheduler : callable, optional
        ``scheduler(optimizer)`` returns an LR scheduler, stepped once per epoch.
    batch_size : int, optional
        For tensor data (default 64); must be None with a DataLoader.
    shuffle : bool, default True
        For tensor data: a fresh seeded permutation every epoch.
    seed : int or None, default 0
        The run happens inside ``torch.random.fork_rng`` seeded with ``seed`` (dropout,
        shuffling, DataLoader sampling), so on the CPU two calls with the same seed and the
        same initial model give identical results, and the caller's global RNG is left as
        it was. ``None``: no seeding.
    device : str or torch.device, optional
        ``None`` picks CUDA, then MPS, then the CPU (:func:`resolve_device`).
    teacher : nn.Module or Tensor, optional
        Source of teacher logits for distillation losses: a module (moved to ``device``,
        run in eval mode under ``no_grad``) or precomputed logits ``(N, C)`` indexed by the
        sample index (with tensor data, one row per sample or rows covering the index);
        a SoftLabels (probabilities) is refused: pass the log of its probabilities.
    ema_teacher : float in [0, 1), optional
        Keep a mean teacher: a copy of the model updated after every optimiser step with
        ``theta_t <- d theta_t + (1 - d) theta_s`` (:func:`ema_update`). Its logits (eval
        mode) feed distillation losses; it is returned as ``History.teacher``.
    call : {"auto", "target", "distill", "index", "bags", "features", "batch"}, default "auto"
    callbacks : sequence of callables
        ``cb(record, model)`` after each epoch (model in eval mode, under ``no_grad``); a
        returned mapping is merged into the epoch's record (e.g. a test accuracy).
    progress : bool, default False
        Print one line per epoch to stderr.

    Returns
    -------
    History

    Raises
    ------
    InputError
        Malformed data, or a loss that needs an index or teacher logits that are missing.
    FloatingPointError
        The loss became NaN or infinite (the message names the epoch and batch).

    Examples
    --------
    Distillation from a precomputed teacher, and ELR with the sample index:

    >>> import torch
    >>> from softlabels.train.nn import ELRLoss, KDLoss
    >>> x, y = torch.randn(40, 3), torch.arange(40) % 2
    >>> h = fit(torch.nn.Linear(3, 2), (x, y), KDLoss(temperature=2.0), epochs=2,
    ...         teacher=torch.randn(40, 2), device="cpu")
    >>> h = fit(torch.nn.Linear(3, 2), (x, y), ELRLoss(40, 2), epochs=2, device="cpu")
    >>> len(h), sorted(h[0])
    (2, ['epoch', 'loss', 'lr', 'seconds'])
    """
    owner = "fit"
    if not isinstance(model, nn.Module):
        raise InvalidParameterError(f"model must be a torch.nn.Module; got {type(model).__name__}.")
    if not callable(loss):
        raise InvalidParameterError(f"loss must be callable; got {type(loss).__name__}.")
    epochs = check_int(epochs, "epochs", owner, low=0)
    lr = check_float(lr, "lr", owner, low=0.0, low_open=True)
    weight_decay = check_float(weight_decay, "weight_decay", owner, low=0.0)
    call = check_option(call, "call", owner, CALL_MODES)
    if seed is not None:
        seed = check_int(seed, "seed", owner)
    if ema_teacher is not None:
        ema_teacher = check_float(ema_teacher, "ema_teacher", owner, low=0.0, high=1.0)
        if ema_teacher == 1.0:
            raise InvalidParameterError("The 'ema_teacher' decay of fit must be < 1; got 1.0.")
        if teacher is not None:
            raise InvalidParameterError("fit takes either teacher or ema_teacher, not both.")
    mode = loss_call_mode(loss) if call == "auto" else call
    summed = _reduction(loss) == "sum"  # its value is already a batch total
    dev = resolve_device(device)

    tensor_data = isinstance(data, tuple)
    if tensor_data:
        bs = 64 if batch_size is None else check_int(batch_size, "batch_size", owner, low=1)
        source: Any = _TensorBatches(data, bs, bool(shuffle), dev)
    else:
        if batch_size is not None:
            raise InvalidParameterError(
                "batch_size applies to tensor data only; a DataLoader does its own batching."
            )
        if not isinstance(data, Iterable):
            raise InputError(
                f"data must be a tuple (inputs, target[, index]) or a DataLoader; got "
                f"{type(data).__name__}."
            )
        source = data

    model.to(dev)
    if isinstance(loss, nn.Module):
        loss.to(dev)
    if isinstance(teacher, nn.Module):
        teacher.to(dev).eval()
    elif teacher is not None:
        if isinstance(teacher, SoftLabels):
            raise InputError(
                "teacher must be logits, not probabilities: for SoftLabels pass "
                "np.log(soft.probs) (zeros become -inf, a class the teacher rules out)."
            )
        teacher = _as_tensor(teacher, "teacher").to(dev)
        if teacher.ndim != 2 or not teacher.is_floating_point():
            raise InputError(
                f"teacher logits must be a floating (N, C) tensor; got {teacher.dtype} "
                f"{tuple(teacher.shape)}."
            )
        if tensor_data:  # rows are read by sample index: they must cover every sample
            rows = int(teacher.shape[0])
            if source.index is None and rows != source.n:
                raise InputError(
                    f"teacher logits have {rows} rows but data has {source.n}; give one row "
                    "per sample, or data (inputs, target, index) indexing the teacher's rows."
                )
            if source.index is not None and source.n and (
                    int(source.index.min()) < 0 or int(source.index.max()) >= rows):
                raise InputError(
                    f"data: index values must lie in [0, {rows}) (the teacher logits' rows)."
                )
    ema_model = None
    if ema_teacher is not None:
        ema_model = copy.deepcopy(model).eval()
        for p in ema_model.parameters():
            p.requires_grad_(False)

    history = History(teacher=ema_model)
    fork_devices = [dev] if dev.type == "cuda" else []
    with _keep_mode(model), torch.random.fork_rng(devices=fork_devices,
                                                  enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(
            seed if seed is not None else int(torch.randint(0, 2**62, (1,))))
        opt = _make_optimizer(optimizer, _trainable(model, loss), lr, weight_decay)
        sched = scheduler(opt) if scheduler is not None else None
        for epoch in range(1, epochs + 1):
            model.train()
            start = time.perf_counter()
            total, count = 0.0, 0
            batches = source.epoch(gen) if tensor_data else _loader_batches(source, dev)
            for b, (inputs, target, index, t_logits) in enumerate(batches):
                output = model(inputs)
                wants_teacher = mode == "distill" or (
                    mode == "batch" and (teacher is not None or ema_model is not None))
                if wants_teacher and t_logits is None:
                    t_logits = _teacher_logits(teacher, ema_model, inputs, index)
                value, weight = _call_loss(loss, mode, output, inputs, target, index, t_logits)
                if value.ndim != 0:
                    raise InputError(
                        f"the loss returned shape {tuple(value.shape)}; fit needs a scalar "
                        "(reduction='mean' or 'sum')."
                    )
                if not bool(torch.isfinite(value)):
                    raise FloatingPointError(
                        f"fit: the loss is {float(value.detach())} at epoch {epoch}, batch "
                        f"{b}; lower lr or check the targets."
                    )
                opt.zero_grad(set_to_none=True)
                value.backward()
                opt.step()
                if ema_model is not None:
                    ema_update(ema_model, model, ema_teacher)  # type: ignore[arg-type]
                total += float(value.detach()) * (1 if summed else weight)
                count += weight
            record: dict[str, Any] = {
                "epoch": epoch,
                "loss": total / count if count else math.nan,
                "lr": opt.param_groups[0]["lr"],  # the rate this epoch trained with
                "seconds": time.perf_counter() - start,
            }
            if sched is not None:
                sched.step()
            if callbacks:
                model.eval()
                with torch.no_grad():
                    for cb in callbacks:
                        extra = cb(record, model)
                        if extra:
                            record.update(extra)
            history.records.append(record)
            if progress:
                shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                  for k, v in record.items())
                print(f"[fit] {shown}", file=sys.stderr)
    return history


@contextlib.contextmanager
def _keep_mode(model: nn.Module) -> Iterator[None]:
    """Give ``model`` back in its train / eval mode, also when training raises."""
    was_training = model.training
    try:
        yield
    finally:
        model.train(was_training)


def _teacher_logits(teacher: Any, ema_model: nn.Module | None, inputs: Any,
                    index: Tensor | None) -> Tensor:
    if ema_model is not None:
        with torch.no_grad():
            return _first(ema_model(inputs)).detach()
    if isinstance(teacher, nn.Module):
        with torch.no_grad():
            return _first(teacher(inputs)).detach()
    if isinstance(teacher, Tensor):
        if index is None:
            raise InputError("precomputed teacher logits need the sample index; the DataLoader "
                             "batches must carry one.")
        return teacher[index]
    raise InputError(
        "this loss needs teacher logits: pass teacher= (a module or an (N, C) tensor), "
        "ema_teacher= (a decay), or 'teacher_logits' in the DataLoader's dict batches."
    )


def _call_loss(loss: Callable[..., Tensor], mode: str, output: Any, inputs: Any, target: Any,
               index: Tensor | None, t_logits: Tensor | None) -> tuple[Tensor, int]:
    """The loss value and the number of samples (bags) it averages."""
    logits = _first(output)
    if mode == "target":
        return loss(logits, target), int(logits.shape[0])
    if mode == "distill":
        return loss(logits, t_logits, target), int(logits.shape[0])
    if mode == "index":
        if index is None:
            raise InputError(
                f"{type(loss).__name__} needs the sample index: give data as "
                "(inputs, target[, index]) tensors, or DataLoader batches with an index."
            )
        return loss(logits, target, index), int(logits.shape[0])
    if mode == "bags":
        if logits.ndim != 3:
            raise InputError(
                "call='bags' needs inputs of shape (n_bags, bag_size, ...) so that the model "
                f"returns (n_bags, bag_size, C) logits; got logits {tuple(logits.shape)}."
            )
        n_bags, size, c = logits.shape
        bag_index = torch.arange(n_bags, device=logits.device).repeat_interleave(size)
        return loss(logits.reshape(n_bags * size, c), bag_index, target), int(n_bags)
    if mode == "features":
        if not isinstance(output, (tuple, list)) or len(output) < 2:
            raise InputError(
                "call='features' needs a model returning (logits, features); got "
                f"{type(output).__name__}."
            )
        return loss(logits, target, output[1]), int(logits.shape[0])
    batch = Batch(inputs=inputs, target=target, index=index, teacher_logits=t_logits,
                  output=output)
    return loss(output, batch), int(logits.shape[0])
