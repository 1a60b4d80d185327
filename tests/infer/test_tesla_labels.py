"""TESLA's soft-label assignment against a hand-written softmax, chunking, torch models
without gradient, learnable labels, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.infer.teachers import tesla_soft_labels


def _naive_softmax(z, t):
    out = []
    for row in z:
        e = [np.exp(v / t) for v in row]
        out.append([v / sum(e) for v in e])
    return np.array(out)


@pytest.mark.parametrize("chunk", [1, 3, 7, 50])
@pytest.mark.parametrize("t", [0.5, 1.0, 4.0])
def test_matches_a_naive_softmax_for_any_chunk(chunk, t):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 4))
    x = rng.normal(size=(13, 5))
    calls = []

    def teacher(xb):
        calls.append(len(xb))
        return xb @ w

    soft = tesla_soft_labels(teacher, x, temperature=t, chunk=chunk)
    np.testing.assert_allclose(soft.probs, _naive_softmax(x @ w, t), rtol=1e-6, atol=1e-7)
    assert sum(calls) == 13 and max(calls) <= chunk
    assert soft.provenance["method"] == "tesla-soft-labels"
    assert soft.classes.tolist() == [0, 1, 2, 3]


def test_hand_computed_case_with_names():
    soft = tesla_soft_labels(lambda x: np.log(x), [[0.2, 0.8], [0.5, 0.5]],
                             classes=["cat", "dog"], item_ids=["s0", "s1"])
    np.testing.assert_allclose(soft.probs, [[0.2, 0.8], [0.5, 0.5]])
    assert soft.hard().tolist() == ["dog", "cat"]
    assert soft.item_ids.tolist() == ["s0", "s1"]


def test_torch_teacher_runs_without_gradient_and_matches_softmax():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 3)
    x = torch.randn(11, 6, requires_grad=True)
    seen = []

    def teacher(xb):
        out = model(xb)
        seen.append(out.requires_grad)
        return out

    soft = tesla_soft_labels(teacher, x, chunk=4)
    expected = torch.softmax(model(x), dim=1).detach().numpy()
    np.testing.assert_allclose(soft.probs, expected, rtol=1e-5, atol=1e-6)
    assert seen == [False, False, False]


def test_learnable_labels_start_at_the_teacher_and_learn():
    torch = pytest.importorskip("torch")
    from softlabels.train.nn import LearnableSoftLabels

    z = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    labels = LearnableSoftLabels(z, temperature=2.0)
    np.testing.assert_allclose(labels().detach().numpy(),
                               _naive_softmax(z.numpy(), 2.0), rtol=1e-6)
    np.testing.assert_allclose(labels(torch.tensor([1])).detach().numpy(), [[1 / 3] * 3],
                               rtol=1e-6)
    back = LearnableSoftLabels.from_probs([[0.7, 0.2, 0.1]], temperature=3.0)
    np.testing.assert_allclose(back().detach().numpy(), [[0.7, 0.2, 0.1]], rtol=1e-5)
    # a gradient step towards class 2 moves the labels there
    opt = torch.optim.SGD(labels.parameters(), lr=1.0)
    for _ in range(50):
        opt.zero_grad()
        (-torch.log(labels()[:, 2])).sum().backward()
        opt.step()
    assert (labels().argmax(dim=1) == 2).all()
    assert "n_items=2, n_classes=3" in repr(labels)


def test_errors():
    x = np.ones((4, 2))
    with pytest.raises(InputError, match="teacher must be a callable"):
        tesla_soft_labels("model", x)
    with pytest.raises(InvalidParameterError, match="'temperature'.*> 0"):
        tesla_soft_labels(lambda b: b, x, temperature=0)
    with pytest.raises(InvalidParameterError, match="'chunk'.*>= 1"):
        tesla_soft_labels(lambda b: b, x, chunk=0)
    with pytest.raises(InputError, match="at least one item"):
        tesla_soft_labels(lambda b: b, np.ones((0, 2)))
    with pytest.raises(InputError, match=r"logits of shape \(2, n_classes >= 2\) on "
                                         r"images\[0:2\]; got shape \(2, 1\)"):
        tesla_soft_labels(lambda b: b[:, :1], x, chunk=2)
    x_bad = np.ones((4, 2))
    x_bad[3, 0] = np.nan
    with pytest.raises(InputError, match="non-finite logits on images\\[2:4\\]"):
        tesla_soft_labels(lambda b: b, x_bad, chunk=2)
    with pytest.raises(InputError, match="different numbers of classes"):
        tesla_soft_labels(lambda b: np.ones((len(b), 2 + (len(b) == 1))), np.ones((3, 2)),
                          chunk=2)
    with pytest.raises(InputError, match="returned str"):
        tesla_soft_labels(lambda b: "oops", x)


def test_learnable_label_errors():
    torch = pytest.importorskip("torch")
    from softlabels.train.nn import LearnableSoftLabels

    with pytest.raises(InputError, match="init_logits must have shape"):
        LearnableSoftLabels(torch.zeros(3))
    with pytest.raises(InputError, match="init_logits must be finite"):
        LearnableSoftLabels(torch.tensor([[0.0, float("inf")]]))
    with pytest.raises(InvalidParameterError, match="'temperature'"):
        LearnableSoftLabels(torch.zeros(2, 2), temperature=-1.0)
    with pytest.raises(InputError, match="probs must be a 2-D array of probabilities"):
        LearnableSoftLabels.from_probs([[1.5, -0.5]])
    # the floor names itself: 0 would take log(0) and blame init_logits, 1 or more would
    # floor every probability to the same value and give uniform labels without a word
    for eps in (0.0, -1e-3, 1.0, 2.0):
        with pytest.raises(InvalidParameterError, match="'eps' parameter of LearnableSoftLabels"):
            LearnableSoftLabels.from_probs([[1.0, 0.0]], eps=eps)
