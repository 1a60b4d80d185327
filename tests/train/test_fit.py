"""softlabels.train.fit: the training loop, how it calls each kind of loss, the EMA teacher."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from softlabels import SoftLabels  # noqa: E402
from softlabels.core.errors import InputError, InvalidParameterError  # noqa: E402
from softlabels.train import History, fit  # noqa: E402
from softlabels.train.loop import Batch, ema_update, loss_call_mode, resolve_device  # noqa: E402
from softlabels.train.nn import (  # noqa: E402
    DLLPLoss,
    ELRLoss,
    KDLoss,
    NKDLoss,
    SoftCrossEntropy,
    SoftTeacherCELoss,
    USKDLoss,
    functional,
)


def blobs(n=120, seed=0):
    """Three well separated Gaussian blobs in 2-D."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centers = torch.tensor([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]])
    return centers[y] + torch.randn(n, 2, generator=g), y


def linear(seed=0, c=3):
    torch.manual_seed(seed)
    return nn.Linear(2, c)


class Spy:
    """A loss that records what it is called with (and returns a differentiable value)."""

    def __init__(self):
        self.calls = []

    def __call__(self, *args):
        self.calls.append(args)
        return args[0].pow(2).mean() if isinstance(args[0], torch.Tensor) else \
            args[0][0].pow(2).mean()


# --------------------------------------------------------------------------- basics
def test_loss_decreases_on_a_separable_problem():
    x, y = blobs()
    model = linear()
    h = fit(model, (x, y), nn.CrossEntropyLoss(), epochs=15, lr=0.05, batch_size=16,
            device="cpu")
    assert isinstance(h, History) and len(h) == 15
    assert h.loss[-1] < 0.25 * h.loss[0]
    assert all(b <= a * 1.05 for a, b in zip(h.loss, h.loss[1:]))  # near-monotone
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() == 1.0
    assert [r["epoch"] for r in h.records] == list(range(1, 16))
    assert set(h[0]) == {"epoch", "loss", "lr", "seconds"}
    assert list(h.to_frame().columns) == ["epoch", "loss", "lr", "seconds"]


def _bound_function(reduction):
    return functools.partial(functional.soft_cross_entropy, reduction=reduction)


@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss, SoftCrossEntropy, _bound_function])
def test_epoch_loss_is_the_mean_per_sample_loss_whatever_the_reduction(loss):
    """A frozen model (lr 0): the epoch's loss is the mean cross-entropy over the samples,
    for a mean- or a sum-reduced loss (a module's attribute, or bound to a function by
    functools.partial), with a last batch smaller than the others."""
    x, y = blobs(n=50)
    model = linear()
    with torch.no_grad():
        expected = float(nn.functional.cross_entropy(model(x), y))
    frozen = lambda params: torch.optim.SGD(params, lr=0.0)  # noqa: E731
    for reduction in ("mean", "sum"):
        h = fit(model, (x, y), loss(reduction=reduction), epochs=1, optimizer=frozen,
                batch_size=16, device="cpu")
        assert h.loss[0] == pytest.approx(expected, rel=1e-5), reduction


def test_soft_targets_numpy_and_soft_labels_are_accepted():
    x, y = blobs()
    probs = np.full((len(y), 3), 0.05)
    probs[np.arange(len(y)), y.numpy()] = 0.9
    soft = SoftLabels(probs, classes=["a", "b", "c"])
    runs = [fit(linear(), (x.numpy().astype(np.float64), t), SoftCrossEntropy(), epochs=3,
                device="cpu") for t in (probs, soft)]
    assert runs[0].loss == runs[1].loss
    assert runs[0].loss[-1] < runs[0].loss[0]


def test_same_seed_same_model_and_global_rng_untouched():
    x, y = blobs()
    drop = lambda: nn.Sequential(nn.Linear(2, 16), nn.Dropout(0.5), nn.Linear(16, 3))  # noqa: E731
    torch.manual_seed(0)
    a = drop()
    torch.manual_seed(0)
    b = drop()
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    ha = fit(a, (x, y), nn.CrossEntropyLoss(), epochs=3, seed=7, device="cpu")
    assert torch.equal(before, torch.random.get_rng_state())
    hb = fit(b, (x, y), nn.CrossEntropyLoss(), epochs=3, seed=7, device="cpu")
    assert ha.loss == hb.loss
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    torch.manual_seed(0)
    c = drop()
    hc = fit(c, (x, y), nn.CrossEntropyLoss(), epochs=3, seed=8, device="cpu")
    assert hc.loss != ha.loss


def test_unshuffled_batches_follow_row_order():
    x, y = blobs(n=10)
    spy = Spy()
    fit(linear(), (x, y), spy, epochs=1, batch_size=4, shuffle=False, device="cpu")
    assert [c[1].tolist() for c in spy.calls] == [y[:4].tolist(), y[4:8].tolist(),
                                                  y[8:].tolist()]


def test_training_mode_is_restored_and_callbacks_merge_into_records():
    x, y = blobs()
    model = linear().eval()
    seen = []

    def cb(record, m):
        seen.append(m.training)
        return {"acc": float((m(x).argmax(1) == y).float().mean())}

    h = fit(model, (x, y), nn.CrossEntropyLoss(), epochs=2, callbacks=[cb], device="cpu")
    assert seen == [False, False] and not model.training
    assert "acc" in h[1] and 0 <= h[1]["acc"] <= 1


def test_training_mode_is_restored_when_fit_fails():
    """A caller that catches the error (to retry with a lower lr) gets its model back in
    the mode it gave."""
    x, y = blobs()
    model = linear().eval()
    with pytest.raises(FloatingPointError, match="epoch 1, batch 0"):
        fit(model, (x, y), lambda z, t: z.sum() * math.nan, epochs=1, device="cpu")
    assert not model.training


def test_custom_optimizer_factory_and_scheduler():
    x, y = blobs()
    h = fit(linear(), (x, y), nn.CrossEntropyLoss(), epochs=3,
            optimizer=lambda params: torch.optim.SGD(params, lr=0.1),
            scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5),
            device="cpu")
    # each record holds the rate its epoch trained with, not the next epoch's
    assert [r["lr"] for r in h.records] == pytest.approx([0.1, 0.05, 0.025])
    model = linear()
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    h = fit(model, (x, y), nn.CrossEntropyLoss(), epochs=1, optimizer=opt, device="cpu")
    assert h[0]["lr"] == 0.2


def test_dataloader_tuples_and_dicts():
    x, y = blobs()
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    h = fit(linear(), loader, nn.CrossEntropyLoss(), epochs=10, lr=0.05, device="cpu")
    assert h.loss[-1] < 0.3 * h.loss[0]
    dicts = [{"inputs": x[i:i + 30], "target": y[i:i + 30]} for i in range(0, 120, 30)]
    h = fit(linear(), dicts, nn.CrossEntropyLoss(), epochs=2, device="cpu")
    assert len(h) == 2
    with pytest.raises(InvalidParameterError, match="DataLoader does its own batching"):
        fit(linear(), loader, nn.CrossEntropyLoss(), batch_size=8, device="cpu")
    with pytest.raises(InputError, match=r"batch 0 is a dict without \['target'\]"):
        fit(linear(), [{"inputs": x}], nn.CrossEntropyLoss(), device="cpu")


def test_device_resolution():
    assert resolve_device("cpu") == torch.device("cpu")
    auto = resolve_device(None)
    if torch.cuda.is_available():
        assert auto.type == "cuda"
    elif not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        assert auto.type == "cpu"
    with pytest.raises(InvalidParameterError, match="'device'"):
        resolve_device("not-a-device")


# --------------------------------------------------------------------------- loss calling
def test_call_mode_detection():
    assert loss_call_mode(nn.CrossEntropyLoss()) == "target"
    assert loss_call_mode(KDLoss()) == "distill"
    assert loss_call_mode(functional.nkd_loss) == "distill"
    assert loss_call_mode(ELRLoss(3, 2)) == "index"
    assert loss_call_mode(DLLPLoss()) == "bags"
    assert loss_call_mode(USKDLoss(4, 3)) == "features"
    with pytest.raises(InputError, match="call='batch'"):
        loss_call_mode(SoftTeacherCELoss())


def test_call_mode_sees_through_partial_functions():
    """A distillation function with its hyper-parameters bound by functools.partial is
    still called with teacher logits (not with the soft targets in their place)."""
    import functools

    kd = functools.partial(functional.kd_loss, temperature=2.0)
    assert loss_call_mode(kd) == "distill"
    assert loss_call_mode(functools.partial(functools.partial(functional.dllp_loss),
                                            eps=1e-6)) == "bags"
    x, y = blobs(n=32)
    soft = torch.softmax(torch.randn(32, 3, generator=torch.Generator().manual_seed(1)), 1)
    teacher = torch.randn(32, 3, generator=torch.Generator().manual_seed(2))
    frozen = lambda params: torch.optim.SGD(params, lr=0.0)  # noqa: E731
    model = linear()
    h = fit(model, (x, soft), kd, teacher=teacher, epochs=1, optimizer=frozen,
            batch_size=32, device="cpu")
    with torch.no_grad():
        expected = float(functional.kd_loss(model(x), teacher, soft, temperature=2.0))
    assert h.loss[0] == pytest.approx(expected, rel=1e-6)


def test_elr_gets_each_sample_index_once_per_epoch():
    x, y = blobs(n=50)
    loss = ELRLoss(50, 3, beta=0.7)
    fit(linear(), (x, y), loss, epochs=1, batch_size=8, device="cpu")
    # zero-initialised targets updated once: rows sum to (1 - beta)
    torch.testing.assert_close(loss.ema_target.sum(1), torch.full((50,), 0.3))
    fit(linear(), (x, y), loss, epochs=1, batch_size=8, device="cpu")
    torch.testing.assert_close(loss.ema_target.sum(1), torch.full((50,), 1 - 0.7 ** 2))


def test_elr_uses_the_given_index_tensor():
    x, y = blobs(n=30)
    index = 2 * torch.arange(30)  # every sample maps to an even slot
    loss = ELRLoss(60, 3)
    fit(linear(), (x, y, index), loss, epochs=1, batch_size=7, device="cpu")
    sums = loss.ema_target.sum(1)
    torch.testing.assert_close(sums[0::2], torch.full((30,), 0.3))
    assert torch.equal(sums[1::2], torch.zeros(30))
    loader = DataLoader(TensorDataset(x, y, index + 1), batch_size=10, shuffle=True)
    fit(linear(), loader, loss, epochs=1, device="cpu")
    torch.testing.assert_close(loss.ema_target.sum(1)[1::2], torch.full((30,), 0.3))


def test_elr_with_a_dataloader_without_index_says_what_is_missing():
    x, y = blobs(n=20)
    loader = DataLoader(TensorDataset(x, y), batch_size=5)
    with pytest.raises(InputError, match="ELRLoss needs the sample index"):
        fit(linear(), loader, ELRLoss(20, 3), device="cpu")


def test_precomputed_teacher_logits_are_indexed_by_sample():
    x, _ = blobs(n=24)
    ids = torch.arange(24)
    teacher = torch.randn(24, 3)
    spy = Spy()
    fit(linear(), (x, ids), spy, call="distill", teacher=teacher, epochs=2, batch_size=5,
        device="cpu")
    assert len(spy.calls) == 10
    for logits, t_logits, target in spy.calls:
        assert torch.equal(t_logits, teacher[target])


def test_precomputed_teacher_logits_must_cover_the_samples():
    """Teacher logits of the whole training set given with a subset of it would be read
    by row position, misaligned: the row counts (or the index range) are checked."""
    x, y = blobs(n=24)
    with pytest.raises(InputError, match="teacher logits have 30 rows but data has 24"):
        fit(linear(), (x, y), KDLoss(), teacher=torch.randn(30, 3), epochs=1, device="cpu")
    with pytest.raises(InputError, match=r"index values must lie in \[0, 20\)"):
        fit(linear(), (x, y, torch.arange(24)), KDLoss(), teacher=torch.randn(20, 3),
            epochs=1, device="cpu")
    h = fit(linear(), (x, y, torch.arange(24) + 6), KDLoss(), teacher=torch.randn(30, 3),
            epochs=1, device="cpu")
    assert math.isfinite(h.loss[0])


def test_soft_labels_are_not_taken_as_teacher_logits():
    """SoftLabels hold probabilities: read as logits, KD would soften softmax(p) instead of
    p, silently. fit refuses them and says how to pass them."""
    x, y = blobs(n=24)
    soft = SoftLabels(np.full((24, 3), 1 / 3), classes=[0, 1, 2])
    with pytest.raises(InputError, match=r"teacher must be logits.*SoftLabels.*log"):
        fit(linear(), (x, y), KDLoss(), teacher=soft, epochs=1, device="cpu")


@pytest.mark.parametrize("index", [torch.arange(24.0), torch.ones(24, dtype=torch.bool),
                                   torch.arange(48).reshape(24, 2)])
def test_data_index_must_be_integer_positions(index):
    """A boolean mask is not a sample index (it would pick rows of the teacher by mask)."""
    x, y = blobs(n=24)
    with pytest.raises(InputError, match="data: index must be a 1-D integer tensor"):
        fit(linear(), (x, y, index), ELRLoss(48, 3), epochs=1, device="cpu")


def test_teacher_module_runs_without_gradient_in_eval_mode():
    x, y = blobs(n=20)
    torch.manual_seed(1)
    teacher = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.9)).train()
    spy = Spy()
    fit(linear(), (x, y), spy, call="distill", teacher=teacher, epochs=1, batch_size=20,
        shuffle=False, device="cpu")
    (_, t_logits, _), = spy.calls
    assert not t_logits.requires_grad and not teacher.training
    torch.testing.assert_close(t_logits, teacher(x))  # eval mode: dropout off, deterministic


def test_kd_trains_toward_the_teacher():
    x, y = blobs()
    teacher = linear(seed=5)
    fit(teacher, (x, y), nn.CrossEntropyLoss(), epochs=10, lr=0.05, device="cpu")
    student = linear(seed=9)
    h = fit(student, (x, y), NKDLoss(), teacher=teacher, epochs=10, lr=0.05, device="cpu")
    assert h.loss[-1] < h.loss[0]
    with pytest.raises(InputError, match="needs teacher logits"):
        fit(linear(), (x, y), KDLoss(), device="cpu")


def test_ema_teacher_follows_the_update_formula():
    x, y = blobs(n=30)
    model = linear(seed=3)
    start = [p.detach().clone() for p in model.parameters()]
    snapshots = []

    def snap(record, m):
        snapshots.append([p.detach().clone() for p in m.parameters()])

    d = 0.9
    h = fit(model, (x, y), nn.CrossEntropyLoss(), epochs=2, batch_size=30, ema_teacher=d,
            optimizer=lambda ps: torch.optim.SGD(ps, lr=0.5), callbacks=[snap], device="cpu")
    # one step per epoch: t2 = d (d t0 + (1 - d) s1) + (1 - d) s2 with t0 = s0
    want = [d * (d * s0 + (1 - d) * s1) + (1 - d) * s2
            for s0, s1, s2 in zip(start, *snapshots)]
    got = list(h.teacher.parameters())
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)
    assert not any(p.requires_grad for p in h.teacher.parameters())
    assert not torch.allclose(got[0], snapshots[-1][0])


def test_ema_update_copies_integer_buffers_and_averages_floats():
    t, s = nn.BatchNorm1d(2), nn.BatchNorm1d(2)
    s.running_mean.fill_(4.0)
    s.num_batches_tracked.fill_(7)
    ema_update(t, s, 0.75)
    torch.testing.assert_close(t.running_mean, torch.full((2,), 1.0))
    assert int(t.num_batches_tracked) == 7


def test_ema_update_refuses_models_of_another_structure():
    """A student with more layers than the teacher would leave some of them unaveraged."""
    teacher = nn.Sequential(nn.Linear(2, 2))
    student = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    with pytest.raises(InputError, match="teacher has 2 parameters but the student has 4"):
        ema_update(teacher, student, 0.5)
    with pytest.raises(InputError, match="teacher has 3 buffers but the student has 0"):
        ema_update(nn.BatchNorm1d(2, affine=False), nn.BatchNorm1d(2, affine=False,
                                                                  track_running_stats=False), 0.5)


def test_ema_teacher_feeds_distillation_losses():
    x, y = blobs(n=16)
    model = linear(seed=2)
    initial = model(x).detach()
    spy = Spy()
    fit(model, (x, y), spy, call="distill", ema_teacher=0.99, epochs=1, batch_size=16,
        shuffle=False, device="cpu")
    torch.testing.assert_close(spy.calls[0][1], initial)  # the EMA starts as the model


def test_bags_mode_feeds_dllp_bag_index_and_proportions():
    x, y = blobs(n=96)
    bags = torch.arange(96).reshape(12, 8)
    props = nn.functional.one_hot(y[bags], 3).float().mean(1)
    model = linear()
    h = fit(model, (x[bags], props), DLLPLoss(), epochs=30, lr=0.05, batch_size=3,
            device="cpu")
    assert h.loss[-1] < h.loss[0]
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() > 0.9
    with pytest.raises(InputError, match=r"\(n_bags, bag_size, \.\.\.\)"):
        fit(linear(), (x, y), DLLPLoss(), device="cpu")


def test_features_mode_for_uskd():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.out = nn.Linear(2, 4), nn.Linear(4, 3)

        def forward(self, v):
            f = torch.relu(self.body(v))
            return self.out(f), f

    x, y = blobs()
    loss = USKDLoss(4, 3)
    head_before = loss.head.weight.detach().clone()
    h = fit(Net(), (x, y), loss, epochs=3, lr=0.05, device="cpu")
    assert h.loss[-1] < h.loss[0]
    assert not torch.equal(head_before, loss.head.weight)  # the loss's head is optimised


def test_batch_mode_passes_a_batch_object():
    x, y = blobs(n=12)
    seen = []

    def loss(output, batch):
        seen.append(batch)
        return nn.functional.cross_entropy(output, batch.target)

    fit(linear(), (x, y), loss, call="batch", epochs=1, batch_size=12, shuffle=False,
        device="cpu")
    (b,) = seen
    assert isinstance(b, Batch) and torch.equal(b.inputs, x) and torch.equal(b.index,
                                                                              torch.arange(12))
    assert b.teacher_logits is None and b.output.shape == (12, 3)


# --------------------------------------------------------------------------- errors
def test_errors_name_the_problem():
    x, y = blobs(n=10)
    ce = nn.CrossEntropyLoss()
    with pytest.raises(InputError, match="target has 9 rows but inputs has 10"):
        fit(linear(), (x, y[:9]), ce, device="cpu")
    with pytest.raises(InputError, match=r"\(inputs, target\) or \(inputs, target, index\)"):
        fit(linear(), (x,), ce, device="cpu")
    with pytest.raises(InvalidParameterError, match="'call'"):
        fit(linear(), (x, y), ce, call="targets", device="cpu")
    with pytest.raises(InvalidParameterError, match="either teacher or ema_teacher"):
        fit(linear(), (x, y), KDLoss(), teacher=torch.zeros(10, 3), ema_teacher=0.9,
            device="cpu")
    with pytest.raises(InvalidParameterError, match="must be < 1"):
        fit(linear(), (x, y), ce, ema_teacher=1.0, device="cpu")
    with pytest.raises(InvalidParameterError, match="'epochs'"):
        fit(linear(), (x, y), ce, epochs=-1, device="cpu")
    with pytest.raises(InputError, match="fit needs a scalar"):
        fit(linear(), (x, y), nn.CrossEntropyLoss(reduction="none"), device="cpu")
    with pytest.raises(FloatingPointError, match="epoch 1, batch 0"):
        fit(linear(), (x, y), lambda z, t: z.sum() * math.nan, device="cpu")
    with pytest.raises(InvalidParameterError, match="torch.nn.Module"):
        fit(lambda v: v, (x, y), ce, device="cpu")
