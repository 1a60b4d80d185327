"""FedLabel's agreement-consistency loss against a loop reference in numpy, and its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from softlabels.core.errors import InputError, InvalidParameterError  # noqa: E402
from softlabels.train.nn import create_loss  # noqa: E402
from softlabels.train.nn.functional import agreement_consistency_loss  # noqa: E402


def softmax(z):
    e = [math.exp(v - max(z)) for v in z]
    return [v / sum(e) for v in e]


def kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q) if a > 0)


def reference(zs, zt, target, divergence):
    out = []
    for i, (a, b) in enumerate(zip(zs, zt)):
        ps, pt = softmax(a), softmax(b)
        agree = int(np.argmax(a)) == int(np.argmax(b))
        if target is not None:
            agree = agree and int(np.argmax(a)) == int(target[i])
        if not agree:
            out.append(0.0)
        elif divergence == "kl":
            out.append(kl(pt, ps))
        else:
            m = [(x + y) / 2 for x, y in zip(ps, pt)]
            out.append(0.5 * kl(pt, m) + 0.5 * kl(ps, m))
    return out


@pytest.mark.parametrize("divergence", ["kl", "js"])
@pytest.mark.parametrize("with_target", [False, True])
def test_matches_the_loop_reference(divergence, with_target):
    g = np.random.default_rng(0)
    zs, zt = g.normal(size=(2, 40, 4)) * 2
    zt[::2] = zs[::2] * 1.5  # make half the rows agree
    target = g.integers(0, 4, 40) if with_target else None
    target_t = None if target is None else torch.tensor(target)
    got = agreement_consistency_loss(torch.tensor(zs), torch.tensor(zt), target_t,
                                     divergence=divergence, reduction="none")
    want = reference(zs.tolist(), zt.tolist(), target, divergence)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    assert (got > 0).sum() >= 3
    mean = agreement_consistency_loss(torch.tensor(zs), torch.tensor(zt), target_t,
                                      divergence=divergence)
    assert math.isclose(float(mean), sum(want) / 40, rel_tol=1e-10)


def test_only_the_student_learns_and_agreement_at_equal_outputs_is_zero():
    zs = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    zt = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    create_loss("agreement-consistency")(zs, zt * 3).backward()
    assert zt.grad is None and zs.grad is not None
    same = agreement_consistency_loss(zs.detach(), zs.detach(), divergence="js")
    assert float(same) == pytest.approx(0.0, abs=1e-12)


def test_errors():
    z = torch.zeros(3, 4)
    with pytest.raises(InvalidParameterError, match="divergence"):
        agreement_consistency_loss(z, z, divergence="jsd")
    with pytest.raises(InputError, match="teacher_logits"):
        agreement_consistency_loss(z, torch.zeros(3, 5))
    with pytest.raises(InputError, match="target"):
        agreement_consistency_loss(z, z, torch.tensor([0, 1, 9]))
