"""The helpers of benchmarks/evidence_losses.py: the verdict rule of its Reading lines, the
within-data-set pairing of the fidelity loss, the Gaussian KL and the class-adding rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")


@pytest.mark.parametrize(("diffs", "higher", "expected"), [
    ([0.01, 0.02, 0.01, -0.005, 0.03], True, "yes"),      # one seed disagrees
    ([0.01, 0.02, -0.01, -0.005, 0.03], True, "partly"),  # two disagree, mean positive
    ([0.01, -0.02, -0.01, -0.005, 0.03], True, "no"),     # mean negative
    ([-0.01, -0.02, -0.01, 0.005, -0.03], False, "yes"),  # lower is better
    ([0.0, 0.0, 0.0], True, "no"),                        # ties are not wins
])
def test_verdict(ev, diffs, higher, expected):
    assert ev.verdict(diffs, higher) == expected


def test_said_counts_wins_in_the_claimed_direction(ev):
    res = {"a": {"m": [0.5, 0.7, 0.9]}, "b": {"m": [0.6, 0.6, 0.6]}}
    assert ev.said(res, "a", "b", "m") == "+0.100 (better in 2/3)"
    assert ev.said(res, "a", "b", "m", higher_is_better=False) == "+0.100 (better in 1/3)"


def test_partners_stay_within_their_group_and_permute_it(ev):
    torch.manual_seed(0)
    group = torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0, 2.0, 1.0])
    j = ev.partners(group)
    assert torch.equal(group[j], group)
    for g in (0.0, 1.0, 2.0):
        rows = torch.nonzero(group == g).squeeze(1)
        assert sorted(j[rows].tolist()) == rows.tolist()


def test_gaussian_kl_hand_computed(ev):
    one = np.array([1.0])
    assert ev.gaussian_kl(one, one, one, one)[0] == pytest.approx(0.0)
    # KL(N(0, 1) || N(1, 2^2)) = log 2 + (1 + 1) / 8 - 1/2
    got = ev.gaussian_kl(np.array([0.0]), one, one, 2 * one)[0]
    assert got == pytest.approx(math.log(2) + 0.25 - 0.5)


def test_predicted_moments_of_level_logits(ev):
    z = torch.log(torch.tensor([[0.0, 0.5, 0.0, 0.5, 0.0]]) + 1e-30)
    p, mean, std = ev.predicted_moments(z)
    assert mean.item() == pytest.approx(3.0)
    assert std.item() == pytest.approx(1.0)


def test_add_classes_keeps_the_old_logits_and_appends_prototypes(ev):
    from softlabels.train.nn import EBVHead

    model = ev.Encoded(0, lambda: EBVHead(32, 3, tau=0.5))
    x = torch.randn(6, 64)
    before = ev.logits_of(model, x)
    sx, sy = torch.randn(4, 64), torch.tensor([0, 1, 1, 0])
    predict = ev.add_classes(model, sx, sy, "prototype")
    after = ev.logits_of(predict, x)
    assert after.shape == (6, 5)
    assert torch.allclose(after[:, :3], before, atol=1e-6)
    with torch.no_grad():
        g = torch.nn.functional.normalize(model.encoder(sx), dim=1)
    expected = torch.nn.functional.normalize(g[sy == 1].mean(0), dim=0)
    assert torch.allclose(model.head.ebv[4], expected, atol=1e-6)


@pytest.mark.parametrize("rule", ["raw mean", "scaled mean"])
def test_add_classes_linear_rules(ev, rule):
    model = ev.Encoded(0, lambda: torch.nn.Linear(32, 3))
    x = torch.randn(5, 64)
    before = ev.logits_of(model, x)
    sx, sy = torch.randn(4, 64), torch.tensor([0, 0, 1, 1])
    with torch.no_grad():
        after = ev.add_classes(model, sx, sy, rule)(x)
        means = torch.stack([model.encoder(sx)[sy == c].mean(0) for c in (0, 1)])
    assert torch.allclose(after[:, :3], before, atol=1e-6)
    w = model.head.weight
    if rule == "raw mean":
        expected = model.encoder(x).detach() @ means.T
    else:
        rows = torch.nn.functional.normalize(means, dim=1) * w.norm(dim=1).mean()
        expected = model.encoder(x).detach() @ rows.T + model.head.bias.mean()
    assert torch.allclose(after[:, 3:], expected.detach(), atol=1e-5)
