"""SoftLabelClassifier: the expansion, equivalence with hard labels, column order, errors and
scikit-learn's estimator checks."""

from __future__ import annotations

import inspect
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from softlabels import SoftLabels  # noqa: E402
from softlabels.core.errors import InputError, InvalidParameterError  # noqa: E402
from softlabels.train import SoftLabelClassifier, expand_soft_labels  # noqa: E402


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Tiny matrices: BLAS threads only fight over a busy machine's cores."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def data(n=60, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.normal(size=(n, 4)) + 2.0 * np.eye(k, 4)[y]
    probs = rng.dirichlet(np.ones(k), size=n) * 0.4
    probs[np.arange(n), y] += 0.6
    return x, y, probs


# --------------------------------------------------------------------------- expansion
def test_expansion_weights_are_the_probabilities():
    p = np.array([[0.6, 0.3, 0.1], [0.0, 1.0, 0.0], [0.25, 0.005, 0.745]])
    e = expand_soft_labels(p)
    assert e.rows.tolist() == [0, 0, 0, 1, 2, 2]
    assert e.labels.tolist() == [0, 1, 2, 1, 0, 2]
    np.testing.assert_array_equal(e.weights, p[e.rows, e.labels])
    # per item, the kept weights are the kept probabilities
    np.testing.assert_allclose(np.bincount(e.rows, e.weights), [1.0, 1.0, 0.995])


def test_expansion_threshold_sample_weight_and_kept_argmax():
    p = np.array([[0.5, 0.3, 0.2], [0.34, 0.33, 0.33]])
    e = expand_soft_labels(p, prune_threshold=0.3, sample_weight=[2.0, 0.5])
    assert list(zip(e.rows.tolist(), e.labels.tolist())) == [(0, 0), (1, 0), (1, 1), (1, 2)]
    np.testing.assert_allclose(e.weights, [1.0, 0.17, 0.165, 0.165])
    # nothing above the threshold: the most probable class stays
    e = expand_soft_labels([[0.3, 0.36, 0.34]], prune_threshold=0.5)
    assert e.labels.tolist() == [1] and e.weights.tolist() == [0.36]
    e = expand_soft_labels([[0.5, 0.0, 0.5]], prune_threshold=0.0)
    assert e.labels.tolist() == [0, 2]


def test_expansion_errors():
    with pytest.raises(InputError, match="rows do not sum to 1"):
        expand_soft_labels([[0.5, 0.6]])
    with pytest.raises(InvalidParameterError, match="'prune_threshold'.*< 1"):
        expand_soft_labels([[0.5, 0.5]], prune_threshold=1.0)
    with pytest.raises(InputError, match=r"sample_weight\[1\] = -1"):
        expand_soft_labels([[0.5, 0.5], [1.0, 0.0]], sample_weight=[1.0, -1.0])
    with pytest.raises(InputError, match=r"shape \(2,\)"):
        expand_soft_labels([[0.5, 0.5], [1.0, 0.0]], sample_weight=[1.0])


# --------------------------------------------------------------------------- equivalences
@pytest.mark.parametrize("estimator", [LogisticRegression(max_iter=500),
                                       DecisionTreeClassifier(random_state=0)])
def test_one_hot_soft_labels_give_the_hard_label_model(estimator):
    x, y, _ = data()
    one_hot = np.eye(3)[y]
    soft = SoftLabelClassifier(estimator).fit(x, one_hot)
    hard = clone(estimator).fit(x, y)
    assert soft.n_expanded_ == len(y)
    np.testing.assert_array_equal(soft.predict_proba(x), hard.predict_proba(x))
    np.testing.assert_array_equal(soft.predict(x), hard.predict(x))
    if hasattr(hard, "coef_"):
        np.testing.assert_array_equal(soft.estimator_.coef_, hard.coef_)


def test_hard_labels_are_accepted_directly():
    x, y, _ = data()
    names = np.array(["b", "c", "a"])[y]
    clf = SoftLabelClassifier(LogisticRegression()).fit(x, names)
    assert clf.classes_.tolist() == ["a", "b", "c"]
    ref = LogisticRegression().fit(x, names)
    np.testing.assert_allclose(clf.predict_proba(x), ref.predict_proba(x))


def test_logistic_regression_minimises_the_soft_cross_entropy():
    x, _, probs = data(n=90)
    clf = SoftLabelClassifier(LogisticRegression(C=1e8, max_iter=5000, tol=1e-10),
                              prune_threshold=0.0).fit(x, probs)
    p = clf.predict_proba(x)
    # stationarity of sum_i sum_k q_ik log p_k(x_i) in the weights and intercepts
    grad_w = x.T @ (p - probs)
    grad_b = (p - probs).sum(0)
    assert np.abs(grad_w).max() < 1e-3 and np.abs(grad_b).max() < 1e-3


def test_sample_weight_two_equals_duplicating_the_item():
    x, _, probs = data(n=30)
    w = np.ones(30)
    w[:5] = 2.0
    a = SoftLabelClassifier(LogisticRegression(tol=1e-10, max_iter=2000)).fit(x, probs,
                                                                             sample_weight=w)
    xd, pd_ = np.vstack([x, x[:5]]), np.vstack([probs, probs[:5]])
    b = SoftLabelClassifier(LogisticRegression(tol=1e-10, max_iter=2000)).fit(xd, pd_)
    np.testing.assert_allclose(a.predict_proba(x), b.predict_proba(x), atol=1e-6)


# --------------------------------------------------------------------------- classes
def test_predict_proba_columns_follow_the_soft_label_class_order():
    x, y, probs = data()
    # classes in a non-sorted order, and class "zz" (column 1) never above the threshold
    full = np.zeros((len(y), 4))
    full[:, [0, 2, 3]] = probs
    full[:, 1] = 0.0
    soft = SoftLabels(full, classes=["c", "zz", "a", "b"])
    clf = SoftLabelClassifier(LogisticRegression()).fit(x, soft)
    assert clf.classes_.tolist() == ["c", "zz", "a", "b"]
    pp = clf.predict_proba(x)
    assert pp.shape == (len(y), 4)
    assert np.all(pp[:, 1] == 0.0)
    np.testing.assert_allclose(pp.sum(1), 1.0)
    # the columns are the inner model's classes 0, 2, 3 in place
    np.testing.assert_array_equal(pp[:, [0, 2, 3]], clf.estimator_.predict_proba(x))
    assert set(clf.predict(x)) <= {"c", "a", "b"}
    truth = np.array(["c", "a", "b"])[y]
    assert (clf.predict(x) == truth).mean() > 0.8
    assert clf.score(x, soft) == pytest.approx((clf.predict(x) == truth).mean())
    assert np.isneginf(clf.predict_log_proba(x)[:, 1]).all()


def test_probability_matrix_classes_are_column_indices():
    x, _, probs = data()
    clf = SoftLabelClassifier(DecisionTreeClassifier(random_state=0)).fit(x, probs)
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.n_features_in_ == 4


def test_pipeline_gets_the_weights_on_its_last_step():
    x, _, probs = data()
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    clf = SoftLabelClassifier(pipe).fit(x, probs)
    assert clf.predict_proba(x).shape == (60, 3)


def test_estimator_without_predict_proba_still_predicts():
    x, y, probs = data()
    clf = SoftLabelClassifier(SVC(kernel="linear")).fit(x, probs)
    assert (clf.predict(x) == y).mean() > 0.8
    with pytest.raises(AttributeError, match="SVC has no predict_proba"):
        clf.predict_proba(x)


def test_probability_methods_exist_only_if_the_inner_estimator_has_them():
    """As scikit-learn's meta-estimators do: hasattr(clf, "predict_proba") says whether it can
    be called (model selection and the estimator checks rely on it), before and after fit."""
    x, _, probs = data()
    for est, has in ((SVC(kernel="linear"), False), (SVC(kernel="linear", probability=True), True),
                     (LogisticRegression(), True)):
        clf = SoftLabelClassifier(est)
        assert hasattr(clf, "predict_proba") is has
        assert hasattr(clf, "predict_log_proba") is has
        clf.fit(x, probs)
        assert hasattr(clf, "predict_proba") is has
        assert hasattr(clf, "predict_log_proba") is has
    assert SoftLabelClassifier.predict_proba.__doc__.startswith("Class probabilities")


# --------------------------------------------------------------------------- errors
def test_errors():
    x, _, probs = data()
    with pytest.raises(TypeError, match="KNeighborsClassifier.fit does not"):
        SoftLabelClassifier(KNeighborsClassifier()).fit(x, probs)
    with pytest.raises(TypeError, match="sample_weight"):
        SoftLabelClassifier(make_pipeline(StandardScaler(), KNeighborsClassifier())).fit(x, probs)
    with pytest.raises(InputError, match="X has 59 rows but the soft labels have 60"):
        SoftLabelClassifier(LogisticRegression()).fit(x[:59], probs)
    with pytest.raises(InputError, match="row 0 sums to"):
        SoftLabelClassifier(LogisticRegression()).fit(x, probs * 2)
    with pytest.raises(InvalidParameterError, match="'prune_threshold'"):
        SoftLabelClassifier(LogisticRegression(), prune_threshold=1.5).fit(x, probs)
    with pytest.raises(NotFittedError):
        SoftLabelClassifier(LogisticRegression()).predict(x)
    with pytest.raises(ValueError, match="requires y to be passed"):
        SoftLabelClassifier(LogisticRegression()).fit(x, None)


# --------------------------------------------------------------------------- sklearn protocol
def test_get_set_params_clone_and_repr():
    clf = SoftLabelClassifier(LogisticRegression(C=2.0), prune_threshold=0.05)
    params = clf.get_params()
    assert params["prune_threshold"] == 0.05 and params["estimator__C"] == 2.0
    assert set(clf.get_params(deep=False)) == {"estimator", "prune_threshold"}
    clf.set_params(estimator__C=0.5, prune_threshold=0.2)
    assert clf.estimator.C == 0.5 and clf.prune_threshold == 0.2
    c2 = clone(clf)
    assert c2.estimator is not clf.estimator and c2.estimator.C == 0.5
    assert repr(clf) == "SoftLabelClassifier(estimator=LogisticRegression(C=0.5), " \
                        "prune_threshold=0.2)"
    with pytest.raises(ValueError, match="Invalid parameter 'C'"):
        clf.set_params(C=1.0)


#: The weights reach a Pipeline's last step only (as documented): its transformers see the
#: expanded rows unweighted, so a weight of 2 is not the same as a repeated item for them.
_PIPELINE_DIFFERS = {
    "check_sample_weight_equivalence_on_dense_data":
        "sample_weight goes to the pipeline's last step only",
}

with warnings.catch_warnings():  # "does not inherit from BaseEstimator": on purpose, so that
    warnings.simplefilter("ignore", UserWarning)  # importing softlabels never loads sklearn
    ESTIMATORS = [SoftLabelClassifier(LogisticRegression(max_iter=200)),
                  SoftLabelClassifier(SVC(kernel="linear"))]
    XFAIL: dict = {}
    if "expected_failed_checks" in inspect.signature(parametrize_with_checks).parameters:
        PIPE = make_pipeline(StandardScaler(), LogisticRegression())
        ESTIMATORS.append(SoftLabelClassifier(PIPE))
        XFAIL["expected_failed_checks"] = lambda est: (
            _PIPELINE_DIFFERS if hasattr(est.estimator, "steps") else {})  # scikit-learn >= 1.6
    CHECKS = parametrize_with_checks(ESTIMATORS, **XFAIL)


@CHECKS
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_import_does_not_load_sklearn():
    code = ("import sys, softlabels.train.sklearn, softlabels.train as t\n"
            "t.SoftLabelClassifier\nprint('sklearn' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
