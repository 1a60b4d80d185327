"""The direction of each documented result, on scikit-learn's digits with small MLPs and a
few epochs (benchmarks/train_evidence.py runs the full versions over 5 seeds).

Each test is seeded and runs in a few seconds on one CPU thread (see conftest.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from torch import nn  # noqa: E402

import softlabels  # noqa: E402
from softlabels.train import SoftLabelClassifier, fit  # noqa: E402
from softlabels.train.nn import (  # noqa: E402
    DKDLoss,
    DLLPLoss,
    ELRLoss,
    ForwardCorrectionLoss,
    KDLoss,
    NKDLoss,
    PCLoss,
    SCLEXPLoss,
    SCLNLLoss,
    UREGALoss,
)

K = 10


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Tiny matrices: BLAS threads only fight over a busy machine's cores."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def digits(seed):
    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x / 16.0, y, test_size=0.3, stratify=y,
                                              random_state=seed)
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-6
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return t((x_tr - mu) / sd), torch.tensor(y_tr), t((x_te - mu) / sd), torch.tensor(y_te)


def mlp(seed, hidden=128):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, K))


@torch.no_grad()
def acc(model, x, y):
    model.eval()
    return float((model(x).argmax(-1) == y).float().mean())


def train(model, data, loss, **kw):
    kw.setdefault("lr", 3e-3)
    fit(model, data, loss, device="cpu", **kw)
    return model


def test_elr_resists_40_percent_symmetric_noise():
    """WEAK_NOISY 1.5: CE memorises the flipped labels, ELR (beta 0.7, lambda 3) does not."""
    x, y, xt, yt = digits(0)
    g = torch.Generator().manual_seed(0)
    flip = torch.randperm(len(y), generator=g)[: round(0.4 * len(y))]
    noisy = y.clone()
    noisy[flip] = (y[flip] + torch.randint(1, K, (len(flip),), generator=g)) % K
    kw = {"epochs": 30, "lr": 1e-2, "batch_size": 128, "seed": 0}
    ce = acc(train(mlp(0), (x, noisy), nn.CrossEntropyLoss(), **kw), xt, yt)
    elr_loss = ELRLoss(len(y), K, lam=3.0, beta=0.7)
    elr = acc(train(mlp(0), (x, noisy), elr_loss, **kw), xt, yt)
    assert elr > 0.85
    assert elr > ce + 0.15
    # the EMA targets flag the flipped items (the official detection rule)
    flagged = elr_loss.flag_noisy(noisy)
    truly = torch.zeros(len(y), dtype=torch.bool)
    truly[flip] = True
    assert (flagged & truly).sum() / flagged.sum() > 0.9  # precision
    assert (flagged & truly).sum() / truly.sum() > 0.7  # recall


class PlusCE(nn.Module):
    def __init__(self, distill):
        super().__init__()
        self.distill = distill

    def forward(self, s, t, y):
        return nn.functional.cross_entropy(s, y) + self.distill(s, t, y)


def test_distillation_beats_hard_labels_with_limited_data():
    """DISTILLATION 5 and 16: a 16-unit student on 10% of the data, teacher on all of it."""
    scores = {"ce": [], "kd": [], "nkd": [], "dkd": []}
    for seed in (0, 1):
        x, y, xt, yt = digits(seed)
        teacher = train(mlp(seed + 1000), (x, y), nn.CrossEntropyLoss(), epochs=15,
                        batch_size=128, seed=seed)
        assert acc(teacher, xt, yt) > 0.95
        rows = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:125]
        with torch.no_grad():
            t_logits = teacher(x[rows])
        kw = {"epochs": 60, "batch_size": 32, "seed": seed}
        data = (x[rows], y[rows])
        for name, loss, extra in [
            ("ce", nn.CrossEntropyLoss(), {}),
            ("kd", KDLoss(temperature=4.0, alpha=0.9), {"teacher": t_logits}),
            ("nkd", PlusCE(NKDLoss()), {"teacher": t_logits, "call": "distill"}),
            ("dkd", PlusCE(DKDLoss()), {"teacher": t_logits, "call": "distill"}),
        ]:
            scores[name].append(acc(train(mlp(seed, 16), data, loss, **kw, **extra), xt, yt))
    mean = {k: np.mean(v) for k, v in scores.items()}
    for name in ("kd", "nkd", "dkd"):
        assert mean[name] > mean["ce"] + 0.02, mean


def test_complementary_labels_alone_learn_far_above_chance():
    """WEAK_NOISY 5: one uniformly drawn wrong class per item; chance is 0.10."""
    x, y, xt, yt = digits(0)
    comp = (y + torch.randint(1, K, y.shape, generator=torch.Generator().manual_seed(0))) % K
    assert not bool((comp == y).any())
    kw = {"epochs": 30, "batch_size": 128, "weight_decay": 1e-4, "seed": 0}
    got = {name: acc(train(mlp(0), (x, comp), loss, **kw), xt, yt)
           for name, loss in [("scl-nl", SCLNLLoss()), ("scl-exp", SCLEXPLoss()),
                              ("ure-ga", UREGALoss()), ("forward", ForwardCorrectionLoss()),
                              ("pc", PCLoss())]}
    assert min(got.values()) > 0.4, got
    assert min(got["scl-nl"], got["scl-exp"], got["forward"]) > 0.75, got
    # forward correction with the uniform Q has SCL-NL's gradient (Chou et al. 2020)
    assert abs(got["forward"] - got["scl-nl"]) <= 0.01


def test_dllp_with_bags_of_16_is_close_to_supervised():
    x, y, xt, yt = digits(0)
    g = torch.Generator().manual_seed(0)
    n_bags = len(y) // 16
    bags = torch.randperm(len(y), generator=g)[: n_bags * 16].reshape(n_bags, 16)
    props = nn.functional.one_hot(y[bags], K).float().mean(1)
    sup = acc(train(mlp(0), (x[bags.flatten()], y[bags.flatten()]), nn.CrossEntropyLoss(),
                    epochs=20, batch_size=64, seed=0), xt, yt)
    dllp = acc(train(mlp(0), (x[bags], props), DLLPLoss(), epochs=20, batch_size=4, seed=0),
               xt, yt)
    assert dllp > 0.9
    assert dllp > sup - 0.05


def crowd(y, seed, n_workers=30, per_item=3):
    """Biased workers: right with p ~ U(0.35, 0.8), else a worker-specific wrong class."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    accuracy = rng.uniform(0.35, 0.8, size=n_workers)
    wrong = rng.dirichlet(np.ones(K - 1), size=(n_workers, K))
    workers = np.argsort(rng.random((len(y), n_workers)), axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(len(y)), per_item)
    truth = y[items]
    right = rng.random(items.size) < accuracy[workers]
    cum = np.cumsum(wrong[workers, truth], axis=1)
    offset = 1 + np.minimum((rng.random(items.size)[:, None] > cum).sum(1), K - 2)
    labels = np.where(right, truth, (truth + offset) % K)
    return pd.DataFrame({"item": items, "worker": workers, "label": labels})


def nll(p, y):
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())


def test_crowd_soft_labels_give_a_lower_test_nll_than_majority_vote():
    x, y, xt, yt = (t.numpy().astype(np.float64) if t.is_floating_point() else t.numpy()
                    for t in digits(0))
    answers = crowd(y, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = softlabels.aggregate(answers, "dawid-skene", classes=list(range(K)))
        mv = softlabels.aggregate(answers, "majority-vote", classes=list(range(K)))
    mv_labels = (mv.probs + np.random.default_rng(0).random(mv.probs.shape) * 1e-6).argmax(1)
    hard = LogisticRegression(C=0.1, max_iter=1000).fit(x, mv_labels)  # ties broken at random
    soft = SoftLabelClassifier(LogisticRegression(C=0.1, max_iter=1000)).fit(x, ds)
    assert nll(soft.predict_proba(xt), yt) < nll(hard.predict_proba(xt), yt) - 0.05
