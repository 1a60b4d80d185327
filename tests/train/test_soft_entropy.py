"""Happy's group-wise soft entropy regulariser against a naive float64 reference, the
hand-computed cases of its method notes, and its input errors."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from softlabels.core.errors import InputError, InvalidParameterError  # noqa: E402
from softlabels.train.nn import SoftEntropyLoss, create_loss  # noqa: E402
from softlabels.train.nn import functional as F  # noqa: E402

DT = torch.float64


def naive(logits, num_old, w_on, w_o, w_n, temperature):
    """The formula written out element by element (Happy's ``train_happy.py`` loss)."""
    n, c = logits.shape
    p = [[0.0] * c for _ in range(n)]
    for i in range(n):
        e = [math.exp(float(logits[i, k]) / temperature) for k in range(c)]
        s = sum(e)
        p[i] = [v / s for v in e]
    mean = [sum(p[i][k] for i in range(n)) / n for k in range(c)]

    def neg_entropy_gap(block):
        total = sum(block)
        q = [v / total for v in block]
        return math.log(len(q)) + sum(v * math.log(v) for v in q if v > 0)

    if num_old is None:
        return neg_entropy_gap(mean)
    m_o, m_n = sum(mean[:num_old]), sum(mean[num_old:])
    l_on = m_o * math.log(m_o) + m_n * math.log(m_n) + math.log(2)
    return (w_on * l_on + w_o * neg_entropy_gap(mean[:num_old])
            + w_n * neg_entropy_gap(mean[num_old:]))


@pytest.mark.parametrize("num_old, weights, temperature", [
    (2, (2.0, 1.0, 1.0), 0.1),
    (3, (1.0, 1.0, 1.0), 1.0),
    (1, (0.5, 2.0, 3.0), 0.5),
    (4, (1.0, 0.0, 2.0), 0.3),
    (None, (2.0, 1.0, 1.0), 0.7),
])
def test_matches_naive_formula(num_old, weights, temperature):
    z = torch.randn(7, 5, generator=torch.Generator().manual_seed(3), dtype=DT)
    got = F.soft_entropy_loss(z, num_old=num_old, old_new_weight=weights[0],
                              old_weight=weights[1], new_weight=weights[2],
                              temperature=temperature)
    assert float(got) == pytest.approx(naive(z, num_old, *weights, temperature), abs=1e-12)


def test_per_item_shares_average_to_the_loss_and_give_its_gradient():
    z = torch.randn(6, 5, generator=torch.Generator().manual_seed(0), dtype=DT,
                    requires_grad=True)
    shares = F.soft_entropy_loss(z, num_old=2, reduction="none")
    loss = F.soft_entropy_loss(z, num_old=2)
    torch.testing.assert_close(shares.mean(), loss, rtol=0, atol=1e-12)
    (g_shares,) = torch.autograd.grad(shares.mean(), z)
    (g_loss,) = torch.autograd.grad(loss, z)
    torch.testing.assert_close(g_shares, g_loss)
    torch.testing.assert_close(F.soft_entropy_loss(z, num_old=2, reduction="sum"), 6 * loss)


def test_uniform_mean_prediction_costs_nothing():
    z = torch.eye(4, dtype=DT) * 3.0  # each class predicted once: p̄ uniform
    for num_old in (None, 2):
        assert abs(float(F.soft_entropy_loss(z, num_old=num_old))) < 1e-12
    # an uneven split (1 known, 3 new) is not uniform over {old, new}: only L_on remains
    want = 0.25 * math.log(0.25) + 0.75 * math.log(0.75) + math.log(2)
    assert float(F.soft_entropy_loss(z, num_old=1, old_new_weight=1.0)) == pytest.approx(want)


def test_all_mass_on_known_classes_costs_log_2_for_the_split():
    z = torch.tensor([[9.0, 0.0, -9.0, -9.0], [0.0, 9.0, -9.0, -9.0]], dtype=DT)
    split = F.soft_entropy_loss(z, num_old=2, old_new_weight=1.0, old_weight=0.0,
                                new_weight=0.0, temperature=0.01)
    assert float(split) == pytest.approx(math.log(2), abs=1e-12)
    # the old classes are used evenly, so the within-old term is 0
    inside = F.soft_entropy_loss(z, num_old=2, old_new_weight=0.0, old_weight=1.0,
                                 new_weight=0.0, temperature=0.01)
    assert abs(float(inside)) < 1e-12
    assert torch.isfinite(F.soft_entropy_loss(z, num_old=2, temperature=0.01))


def test_gradient_moves_mass_towards_the_new_classes():
    z = torch.tensor([[2.0, 1.0, 0.0, 0.0], [1.0, 2.0, 0.0, 0.0]], dtype=DT,
                     requires_grad=True)
    F.soft_entropy_loss(z, num_old=2, old_weight=0.0, new_weight=0.0, temperature=1.0).backward()
    step = z.detach() - 0.5 * z.grad
    before = torch.softmax(z.detach(), dim=1)[:, 2:].sum()
    after = torch.softmax(step, dim=1)[:, 2:].sum()
    assert after > before
    assert (z.grad[:, 2:] < 0).all() and (z.grad[:, :2] > 0).all()


def test_plain_term_is_log_c_minus_entropy_of_the_mean():
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=DT)
    mean = torch.softmax(z / 0.1, dim=1).mean(dim=0)
    want = math.log(3) + float((mean * mean.log()).sum())
    assert float(F.soft_entropy_loss(z)) == pytest.approx(want, abs=1e-12)


def test_module_is_registered_and_equals_function():
    z = torch.randn(4, 6, generator=torch.Generator().manual_seed(2), dtype=DT)
    module = create_loss("soft-entropy", num_old=4, temperature=0.5)
    assert isinstance(module, SoftEntropyLoss)
    torch.testing.assert_close(module(z), F.soft_entropy_loss(z, num_old=4, temperature=0.5))


def test_bad_inputs_say_what_is_wrong():
    z = torch.zeros(3, 4)
    with pytest.raises(InputError, match="num_old=4 leaves no new class among the 4 columns"):
        F.soft_entropy_loss(z, num_old=4)
    with pytest.raises(InvalidParameterError, match="'num_old' parameter"):
        F.soft_entropy_loss(z, num_old=0)
    with pytest.raises(InvalidParameterError, match="'temperature' parameter"):
        SoftEntropyLoss(temperature=0.0)
    with pytest.raises(InvalidParameterError, match="'old_weight' parameter"):
        F.soft_entropy_loss(z, num_old=2, old_weight=-1.0)
    with pytest.raises(InputError, match="logits must be 2-D"):
        F.soft_entropy_loss(torch.zeros(4), num_old=2)
    with pytest.raises(InputError, match="floating tensor"):
        F.soft_entropy_loss(torch.zeros(3, 4, dtype=torch.long), num_old=2)
