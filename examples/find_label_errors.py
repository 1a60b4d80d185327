"""Find wrong labels with out-of-sample model probabilities, then check calibration and
conformal sets, on a synthetic data set where the wrong labels are known.

Run: python examples/find_label_errors.py
"""

import numpy as np

from softlabels import audit

rng = np.random.default_rng(0)
n, k, dim = 3000, 4, 5
means = rng.normal(scale=1.0, size=(k, dim))
truth = rng.integers(0, k, n)
X = means[truth] + rng.normal(size=(n, dim))
given = truth.copy()
flipped = rng.random(n) < 0.08  # 8 % of the labels are wrong
given[flipped] = (truth[flipped] + rng.integers(1, k, flipped.sum())) % k

# Out-of-sample probabilities: a Gaussian classifier fitted on the other fold (the
# given, noisy labels are all it sees), as a cross-validated model would give them.
fold = np.arange(n) % 2
pred_probs = np.empty((n, k))
for f in (0, 1):
    train, test = fold != f, fold == f
    centres = np.stack([X[train & (given == c)].mean(axis=0) for c in range(k)])
    logits = -0.5 * ((X[test, None, :] - centres[None]) ** 2).sum(axis=2)
    logits -= logits.max(axis=1, keepdims=True)
    pred_probs[test] = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

table = audit.audit_labels(given, pred_probs)  # one row per item, in input order
found = table["is_issue"].to_numpy()
print(f"flagged {found.sum()} of {n} items; {flipped.sum()} labels are really wrong")
print(f"precision {flipped[found].mean():.3f}, recall {found[flipped].mean():.3f}")
print(table.sort_values("score").head(5).to_string(index=False))

calib, test = fold == 0, fold == 1
report = audit.calibration_report(pred_probs[test], truth[test])
print(f"\nECE {report['ece']:.4f}, NLL {report['nll']:.4f} (against the true labels)")
cp = audit.SplitConformalClassifier("aps", alpha=0.1, randomized=True, random_state=0)
sets = cp.fit(pred_probs[calib], given[calib]).predict_sets(pred_probs[test])
print(f"conformal sets (alpha 0.1): coverage of the given labels "
      f"{audit.coverage(sets, given[test]):.3f}, mean size {audit.mean_set_size(sets):.2f}")
