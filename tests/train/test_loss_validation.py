"""Bad inputs raise ValueErrors (InputError / InvalidParameterError) that name the argument
and the shapes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from softlabels.core.errors import InputError, InvalidParameterError  # noqa: E402
from softlabels.train.nn import DLLPLoss, ELRLoss, MultiFocalLoss, create_loss  # noqa: E402
from softlabels.train.nn import functional as F  # noqa: E402

Z = torch.zeros(3, 4)
Y = torch.tensor([0, 1, 3])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: F.soft_cross_entropy(Z, torch.tensor([0, 1])),
         r"target holds class indices \(integer dtype\), so it must have shape \(3,\); got \(2,\)"),
        (lambda: F.soft_cross_entropy(Z, torch.zeros(3, 5)),
         r"target holds probabilities \(floating dtype\), so it must have shape \(3, 4\); "
         r"got \(3, 5\)"),
        (lambda: F.soft_cross_entropy(Z, torch.tensor([0, 4, 1])),
         r"target\[1\] = 4 is not a class index in \[0, 4\)"),
        (lambda: F.soft_cross_entropy(Z, torch.tensor([True, False, True])),
         "dtype torch.bool: pass class indices as an integer"),
        (lambda: F.soft_cross_entropy(torch.zeros(3, 4, dtype=torch.long), Y),
         "logits must be a floating tensor"),
        (lambda: F.soft_cross_entropy(torch.zeros(3), Y), r"logits must be 2-D; got shape \(3,\)"),
        (lambda: F.soft_cross_entropy(Z, Y, torch.ones(2)), r"weight must have shape \(3,\)"),
        (lambda: F.soft_cross_entropy(Z, Y, torch.tensor([1.0, -0.5, 1.0])),
         r"weight must be finite and non-negative; weight\[1\] = -0.5"),
        (lambda: F.soft_cross_entropy(Z, Y, torch.tensor([1.0, 1.0, float("nan")])),
         r"weight must be finite and non-negative; weight\[2\] = nan"),
        (lambda: F.kd_loss(Z, torch.zeros(3, 5)),
         r"teacher_logits must have the shape of student_logits \(3, 4\); got \(3, 5\)"),
        (lambda: F.dkd_loss(torch.zeros(3, 1), torch.zeros(3, 1), torch.zeros(3, dtype=torch.long)),
         "at least 2 classes"),
        (lambda: F.uskd_loss(Z, Y, torch.zeros(3, 5)), "weak_logits must have the shape"),
        (lambda: F.elr_loss(Z, Y, torch.zeros(2, 4)), "ema_target must have the shape"),
        (lambda: F.forward_correction_loss(Z, Y, torch.ones(3, 3) / 3),
         r"transition must have shape \(4, 4\)"),
        (lambda: F.forward_correction_loss(Z, Y, torch.ones(4, 4) / 3),
         "transition rows must sum to 1"),
        (lambda: F.ure_ga_loss(Z, Y, prior=torch.ones(3)), r"prior must have shape \(4,\)"),
        (lambda: F.dllp_loss(Z, torch.tensor([0, 0, 1]), torch.ones(3, 4) / 4),
         "bag 2 has no instance in this batch"),
        (lambda: F.dllp_loss(Z, torch.tensor([0, 0, 5]), torch.ones(3, 4) / 4),
         r"bag_index values must lie in \[0, 3\)"),
        (lambda: F.dllp_loss(Z, torch.tensor([0.0, 1.0, 2.0]), torch.ones(3, 4) / 4),
         r"bag_index must be an integer tensor of shape \(3,\)"),
        (lambda: F.dllp_loss(Z, torch.tensor([0, 1, 2]), torch.ones(3, 2) / 2),
         r"bag_proportions must have shape \(n_bags, 4\)"),
        (lambda: F.pu_mlc_loss(Z, torch.zeros(3, 5)), r"target must be a \(N, C\) label matrix"),
        (lambda: F.multi_focal_loss(Z, torch.zeros(3, 4), class_counts=[1, 2, 0, 4]),
         "class_counts must be positive"),
        (lambda: F.multi_focal_loss(Z, torch.zeros(3, 4), class_counts=[1, 2, 3]),
         r"class_counts must have shape \(4,\)"),
        (lambda: F.multi_focal_loss(Z, torch.tensor([[1, 0, -1, 0]] * 3), class_counts=[1] * 4),
         r"target\[0, 2\] = -1 is not a label in \[0, 1\]"),
        (lambda: F.multi_focal_loss(Z, torch.tensor([[1.0, float("nan"), 0, 0]] * 3),
                                    class_counts=[1] * 4),
         r"target\[0, 1\] = nan is not a label in \[0, 1\]"),
        (lambda: F.normalized_softmax_loss(torch.zeros(3, 2), torch.zeros(4, 3), Y),
         "features has 2 dimensions but weight has shape"),
        (lambda: F.decoupled_softmax_loss(Z, -torch.ones(3, 4)), "relevance values must be "),
        (lambda: F.decoupled_softmax_loss(Z, torch.tensor([[1.0, float("nan"), 0.0, 0.0]] * 3)),
         r"relevance values must be finite and >= 0"),
        (lambda: F.soft_top_k_loss(Z, torch.tensor([[1.0, float("inf"), 0.0, 0.0]] * 3), k=2),
         r"relevance values must be finite and >= 0"),
        (lambda: F.soft_top_k(Z, 4), "k must satisfy 0 < k < number of candidate labels"),
        (lambda: F.soft_top_k(Z, 2.5), "k must be an int"),
        (lambda: F.soft_top_k_loss(Z, torch.ones(3, 4), k=torch.tensor([1, 2, 3]),
                                   sample_positives=True), "needs an int k"),
        (lambda: F.thurstone_fidelity_loss(torch.zeros(3, 4), torch.zeros(3, 4), torch.ones(3)),
         "level logits have 4 columns but levels has 5 values"),
        (lambda: F.thurstone_fidelity_loss(torch.zeros(3), torch.zeros(3), torch.ones(3) * 2),
         r"target must hold preference probabilities in \[0, 1\]"),
        (lambda: F.thurstone_fidelity_loss(torch.zeros(3), torch.zeros(3),
                                           torch.tensor([0.5, float("nan"), 0.5])),
         r"target must hold preference probabilities in \[0, 1\]"),
        (lambda: F.thurstone_fidelity_loss(torch.zeros(3), torch.zeros(3), torch.ones(3),
                                           fixed_pred_std=False), "needs level logits"),
        (lambda: F.soft_teacher_ce_loss(Z, torch.zeros(3, 4), torch.ones(3)),
         "needs class indices"),
        (lambda: F.soft_teacher_ce_loss(Z, Y, torch.ones(3), bg_index=4), "bg_index must be"),
        (lambda: F.soft_teacher_ce_loss(Z, Y, torch.tensor([0.5, 0.5, float("nan")])),
         r"bg_score\[2\] = nan is not a probability"),
        (lambda: F.soft_teacher_ce_loss(Z, Y, torch.tensor([0.5, 0.5, 2.0])),
         r"bg_score\[2\] = 2 is not a probability"),
        (lambda: F.best_of_heads_loss(Z, Y), r"logits must be 3-D; got shape \(3, 4\)"),
        (lambda: F.uniform_transition(1), "n_classes must be an int >= 2"),
    ],
)
def test_input_errors_name_the_argument(call, match):
    with pytest.raises(InputError, match=match):
        call()


def test_input_errors_are_value_errors():
    assert issubclass(InputError, ValueError) and issubclass(InvalidParameterError, ValueError)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: F.soft_cross_entropy(Z, Y, reduction="avg"), "'reduction' parameter"),
        (lambda: F.kd_loss(Z, Z, temperature=-1.0), "'temperature' parameter of kd_loss"),
        (lambda: F.soft_cross_entropy(Z, Y, label_smoothing=1.5), "'label_smoothing'"),
        (lambda: F.uskd_loss(Z, Y, Z, rank_source="papr"), "Did you mean 'paper'"),
        (lambda: F.elr_loss(Z, Y, Z, clamp_eps=0.0), "'clamp_eps' parameter of elr_loss"),
        (lambda: F.pu_mlc_loss(Z, torch.zeros(3, 4), min_tau=2.0, max_tau=1.0),
         r"min_tau \(2.0\) must be <= max_tau \(1.0\)"),
    ],
)
def test_parameter_errors(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()


def test_elr_index_checks():
    loss = ELRLoss(num_examples=5, num_classes=4)
    with pytest.raises(InputError, match=r"index must be an integer tensor of shape \(3,\)"):
        loss(Z, Y, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(InputError, match=r"index values must lie in \[0, 5\)"):
        loss(Z, Y, torch.tensor([0, 1, 5]))
    with pytest.raises(InputError, match="repeated samples"):
        loss(Z, Y, torch.tensor([0, 1, 1]))
    with pytest.raises(InputError, match=r"logits must have shape \(N, 4\)"):
        loss(torch.zeros(3, 2), Y, torch.tensor([0, 1, 2]))
    assert loss.ema_target.abs().sum() == 0  # failed calls leave the state alone


def test_elr_bad_targets_leave_the_state_alone():
    loss = ELRLoss(num_examples=5, num_classes=4)
    index = torch.tensor([0, 1, 2])
    with pytest.raises(InputError, match=r"target holds probabilities .* shape \(3, 4\)"):
        loss(Z, torch.full((3, 5), 0.2), index)
    with pytest.raises(InputError, match="row 0 sums to 2"):
        loss(Z, torch.tensor([[1.0, 1.0, 0.0, 0.0]] * 3), index)
    with pytest.raises(InputError, match=r"target\[2\] = 4 is not a class index"):
        loss(Z, torch.tensor([0, 1, 4]), index)
    assert loss.ema_target.abs().sum() == 0


def test_uskd_module_names_the_features_and_the_head_size():
    """The features go through the loss's own head: a wrong width or class count names the
    constructor argument, not a matrix product or weak logits the caller never passed."""
    loss = create_loss("uskd", in_features=3, num_classes=4)
    with pytest.raises(InputError, match=r"features must have shape \(3, 3\) \(N, in_features"):
        loss(Z, Y, torch.zeros(3, 5))
    with pytest.raises(InputError, match=r"features must have shape \(3, 3\)"):
        loss(Z, Y, torch.zeros(2, 3))
    with pytest.raises(InputError, match="features must be a torch.Tensor; got list"):
        loss(Z, Y, [[0.0] * 3] * 3)
    with pytest.raises(InputError, match=r"logits has 5 classes but the head has num_classes=4"):
        loss(torch.zeros(3, 5), Y, torch.zeros(3, 3))


def test_module_checks():
    with pytest.raises(InputError, match="needs class_counts"):
        MultiFocalLoss(None)
    with pytest.raises(InvalidParameterError, match="'eps' parameter of DLLPLoss"):
        DLLPLoss(eps=0.9)
    with pytest.raises(InvalidParameterError, match="'num_examples' parameter of ELRLoss"):
        create_loss("elr", num_examples=0, num_classes=3)


def test_targets_are_never_guessed_from_values():
    """A floating target of integral values is still probabilities, never class indices."""
    z = torch.randn(3, 3)
    with pytest.raises(InputError, match="holds probabilities"):
        F.soft_cross_entropy(z, torch.tensor([0.0, 1.0, 2.0]))
    as_probs = F.soft_cross_entropy(z, torch.tensor([[0.0, 1.0, 0.0]] * 3), reduction="none")
    as_index = F.soft_cross_entropy(z, torch.tensor([1, 1, 1]), reduction="none")
    torch.testing.assert_close(as_probs, as_index)


#: Losses that read a floating target as one probability distribution per row.
_DISTRIBUTION_TARGETS = {
    "soft_cross_entropy": lambda q: F.soft_cross_entropy(Z, q),
    "kd_loss": lambda q: F.kd_loss(Z, Z, q),
    "z_loss": lambda q: F.z_loss(Z, q),
    "normalized_softmax_loss": lambda q: F.normalized_softmax_loss(Z, torch.eye(4), q),
    "best_of_heads_loss": lambda q: F.best_of_heads_loss(torch.zeros(3, 2, 4), q),
    "elr_loss": lambda q: F.elr_loss(Z, q, torch.full((3, 4), 0.25)),
    "scl_nl_loss": lambda q: F.scl_nl_loss(Z, q),
    "forward_correction_loss": lambda q: F.forward_correction_loss(Z, q),
    "uskd_loss": lambda q: F.uskd_loss(Z, q, Z),
}


@pytest.mark.parametrize("name", list(_DISTRIBUTION_TARGETS))
@pytest.mark.parametrize(
    "rows, match",
    [
        ([[2.0, 1.0, 1.0, 0.0]], r"row 0 sums to 4"),                # counts, not probabilities
        ([[0.5, 0.5, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]], r"row 1 sums to 2"),  # multi-hot
        ([[0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 0.0]], r"row 1 sums to 0"),
        ([[1.5, -0.5, 0.0, 0.0]], r"row 0 .*negative"),
        ([[float("nan"), 0.5, 0.5, 0.0]], r"row 0 .*non-finite"),
    ],
)
def test_probability_targets_must_be_distributions(name, rows, match):
    target = torch.tensor(rows + [[0.25] * 4] * (3 - len(rows)))
    with pytest.raises(InputError, match=r"target holds probabilities.*" + match):
        _DISTRIBUTION_TARGETS[name](target)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_rounded_probability_targets_are_accepted(dtype):
    """Probabilities stored in half precision do not sum to 1 exactly; they are still valid."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(8, 300, generator=g)
    q = torch.softmax(3 * torch.randn(8, 300, generator=g), dim=1).to(dtype)
    assert torch.isfinite(F.soft_cross_entropy(z, q))


def test_relevance_and_multi_hot_targets_need_not_sum_to_one():
    """Graded relevance (ranking losses) and one-vs-rest signs (squared hinge) are not
    distributions."""
    relevance = torch.tensor([[3.0, 1.0, 0.0, 0.0], [0.0, 2.0, 2.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    assert torch.isfinite(F.decoupled_softmax_loss(Z, relevance))
    assert torch.isfinite(F.soft_top_k_loss(Z, relevance, k=2))
    assert torch.isfinite(F.squared_hinge_loss(Z, (relevance > 0).float()))


@pytest.mark.parametrize(
    "rho, match",
    [
        ([[3.0, 1.0, 0.0, 0.0], [0.25] * 4], r"row 0 sums to 4"),       # counts per bag
        ([[0.25] * 4, [0.0] * 4], r"row 1 sums to 0"),
        ([[0.25] * 4, [float("nan"), 0.5, 0.5, 0.0]], r"row 1 has a non-finite value"),
    ],
)
def test_bag_proportions_must_be_distributions(rho, match):
    with pytest.raises(InputError, match=r"bag_proportions holds probabilities.*" + match):
        F.dllp_loss(Z, torch.tensor([0, 0, 1]), torch.tensor(rho))


def test_soft_teacher_reads_bg_score_of_background_samples_only():
    """Foreground entries of bg_score are not read, so any placeholder there is fine."""
    r = torch.tensor([float("nan"), 7.0, 0.25])
    assert torch.isfinite(F.soft_teacher_ce_loss(Z, Y, r))  # Y[2] = 3 is the background
