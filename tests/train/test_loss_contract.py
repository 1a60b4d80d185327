"""Registry-wide contract: every registered loss is created by name, its module equals its
function (hyper-parameters given explicitly to both), reductions agree, and it survives empty
batches, huge logits and half precision. The losses come from the registry, not a list here."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from _loss_cases import CASES, case, make, twin  # noqa: E402

from softlabels.core.errors import InvalidParameterError  # noqa: E402
from softlabels.train import LOSSES, loss_info  # noqa: E402
from softlabels.train._loss_index import loss_index  # noqa: E402
from softlabels.train.nn import create_loss, functional, list_losses, losses  # noqa: E402
from softlabels.train.nn.losses import REGISTERED, LossModule  # noqa: E402

NAMES = list_losses()
DISTILL = [n for n in NAMES if loss_info(n).call == "distill"]

#: The library's own losses, in their listing order.
DOCUMENTED = [
    "soft-cross-entropy", "kd", "dkd", "nkd", "uskd", "elr", "scl-nl", "scl-exp", "ure-ga",
    "forward-correction", "pc", "dllp", "pu-mlc", "multi-focal", "z-loss", "squared-hinge",
    "normalized-softmax", "decoupled-softmax", "soft-top-k", "thurstone-fidelity",
    "soft-teacher-ce", "best-of-heads", "agreement-consistency", "soft-entropy",
]


def _grads(args, c):
    return [args[i].grad for i in c.grad_args]


def _run(module, args, c, weights=None):
    for i in c.grad_args:
        args[i].grad = None
    out = module(*args)
    (out if weights is None else (out * weights).sum()).sum().backward()
    return out.detach(), [g.clone() for g in _grads(args, c)]


def test_registry_lists_the_documented_losses_in_order():
    assert [n for n in list_losses() if n in DOCUMENTED] == DOCUMENTED
    assert set(CASES) <= set(NAMES)


def test_source_index_equals_runtime_registry():
    """What listing reads from the files' source is what the decorators registered."""
    index = loss_index()
    assert list(index) == NAMES
    assert set(REGISTERED) == set(index)
    for name, info in index.items():
        cls = REGISTERED[name]
        assert cls.info == info
        assert LOSSES.get(name) is cls
        assert cls.function.__name__ == info.function
        assert LOSSES.summary(name) == info.summary


def test_every_registered_class_lives_in_losses_module():
    exported = {getattr(losses, n) for n in losses.__all__} - {LossModule, losses.register_loss}
    assert {LOSSES.get(name) for name in NAMES} == exported
    for name in NAMES:
        assert issubclass(LOSSES.get(name), LossModule)


def test_list_losses_pattern():
    assert list_losses("*kd") == ["kd", "dkd", "nkd", "uskd"]
    assert list_losses("nothing*") == []


def test_unknown_name_suggests_close_matches():
    with pytest.raises(KeyError, match=r"Unknown loss 'nkdd'\. Did you mean 'nkd'"):
        create_loss("nkdd")
    with pytest.raises(KeyError, match="list_losses"):
        create_loss("zzzzzz")


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(InvalidParameterError, match=r"kd: .*temperature, alpha, t2_scale"):
        create_loss("kd", temprature=2.0)


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("kd", {"temperature": 0.0}, "'temperature' parameter of KDLoss must be > 0"),
        ("kd", {"alpha": 1.5}, "'alpha' parameter of KDLoss must be <= 1"),
        ("kd", {"t2_scale": 1}, "'t2_scale' parameter of KDLoss must be True or False"),
        ("soft-cross-entropy", {"reduction": "avg"}, "must be one of"),
        ("uskd", {"in_features": 0, "num_classes": 3}, "'in_features' parameter of USKDLoss"),
        ("soft-top-k", {"n_iter": 0}, "'n_iter' parameter of SoftTopKLoss"),
        ("soft-teacher-ce", {"normalize": "both"}, "'normalize' parameter"),
    ],
)
def test_bad_parameter_values_are_rejected_at_construction(name, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        create_loss(name, **params)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_module_equals_function(name, reduction):
    module, args = make(name, reduction=reduction)
    expected = twin(name, module, args, reduction)  # does not touch the module's state
    torch.testing.assert_close(module(*args), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_reductions_agree(name):
    module, args = make(name, n=5, reduction="none")
    per_sample = module(*args)
    expected_len = 3 if loss_info(name).call == "bags" else 5  # bag losses reduce over bags
    assert per_sample.shape == (expected_len,)
    module, args = make(name, n=5, reduction="mean")
    torch.testing.assert_close(module(*args), per_sample.mean(), rtol=1e-12, atol=1e-12)
    module, args = make(name, n=5, reduction="sum")
    torch.testing.assert_close(module(*args), per_sample.sum(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_are_finite_and_reach_inputs(name):
    c = case(name)
    module, args = make(name, n=6)
    value, grads = _run(module, args, c)
    assert torch.isfinite(value).all()
    for g in grads:
        assert g is not None and torch.isfinite(g).all()
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", DISTILL)
def test_teacher_receives_no_gradient(name):
    module, args = make(name)
    module(*args).backward()
    assert args[0].grad is not None and args[1].grad is None


@pytest.mark.parametrize("name", NAMES)
def test_empty_batch_mean_is_zero_and_differentiable(name):
    c = case(name)
    for reduction, shape in [("mean", ()), ("sum", ()), ("none", (0,))]:
        module, args = make(name, n=0, reduction=reduction)
        out = module(*args)
        assert out.shape == shape
        assert torch.isfinite(out).all()
        if reduction != "none":
            assert float(out.detach()) == 0.0
            out.backward()
            for i in c.grad_args:
                assert args[i].grad is None or args[i].grad.numel() == 0


@pytest.mark.parametrize("name", NAMES)
def test_huge_logits_give_finite_loss_and_gradients(name):
    c = case(name)
    for dtype in (torch.float32, torch.float64):
        module, args = make(name, n=6, scale=1e4, dtype=dtype)
        value, grads = _run(module, args, c)
        assert torch.isfinite(value).all(), (name, dtype, value)
        for g in grads:
            assert torch.isfinite(g).all(), (name, dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32(name, half):
    module, args = make(name, n=6, dtype=half, reduction="none")
    module32, _ = make(name, n=6, dtype=torch.float32, reduction="none")
    module32.load_state_dict(module.state_dict())
    upcast = tuple(
        a.detach().float().requires_grad_(a.requires_grad) if torch.is_tensor(a)
        and a.is_floating_point() else a for a in args
    )
    out = module(*args)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, module32(*upcast), rtol=1e-6, atol=1e-6)
    out.sum().backward()
    for i in case(name).grad_args:
        assert args[i].grad.dtype == half


@pytest.mark.parametrize("name", NAMES)
def test_float64_in_float64_out(name):
    module, args = make(name)
    assert module(*args).dtype == torch.float64


@pytest.mark.parametrize("name", NAMES)
def test_functional_module_exports_every_loss(name):
    fn = getattr(functional, loss_info(name).function)
    assert fn is LOSSES.get(name).function


def test_modules_carry_state_and_parameters():
    elr = create_loss("elr", num_examples=7, num_classes=3)
    assert "ema_target" in dict(elr.named_buffers())
    assert elr.state_dict()["ema_target"].shape == (7, 3)
    uskd = create_loss("uskd", in_features=4, num_classes=3)
    assert {n for n, _ in uskd.named_parameters()} == {"head.weight", "head.bias"}
    ns = create_loss("normalized-softmax", in_features=4, num_classes=3)
    assert [n for n, _ in ns.named_parameters()] == ["weight"]
    assert "temperature=2.0" in repr(create_loss("kd", temperature=2.0))


def test_register_loss_refuses_duplicates_and_non_modules():
    with pytest.raises(ValueError, match="'kd' is already registered by .*kd.KDLoss"):
        losses.register_loss("kd", function=functional.kd_loss, summary="again")(
            type("KD2", (LossModule,), {}))
    with pytest.raises(TypeError, match="decorates a LossModule subclass"):
        losses.register_loss("new-one", function=functional.kd_loss, summary="s")(object)
    with pytest.raises(ValueError, match="call must be one of"):
        losses.register_loss("new-one", function=functional.kd_loss, summary="s", call="x")
    assert "new-one" not in REGISTERED
