"""Distil several teachers into one student: pool the teachers' probabilities into soft
labels for unlabelled items, fit a scikit-learn student on them, and compare it with a
student fitted on the teachers' hard votes.

Run: python examples/distill_from_teachers.py   (needs scikit-learn)
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier

from softlabels.infer.teachers import teacher_soft_labels
from softlabels.train import SoftLabelClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
order = np.random.default_rng(0).permutation(len(y))
teach, unlabelled, test = order[:300], order[300:500], order[500:]

# Three teachers, each trained on its own 100 labelled digits.
teachers = [LogisticRegression(max_iter=2000), GaussianNB(), KNeighborsClassifier(5)]
outputs = np.stack([
    t.fit(X[part], y[part]).predict_proba(X[unlabelled])
    for t, part in zip(teachers, np.array_split(teach, 3))
])  # (n_teachers, n_items, n_classes)
soft = teacher_soft_labels(outputs, inputs="probs")  # the mean of the teachers

student = SoftLabelClassifier(LogisticRegression(max_iter=2000)).fit(X[unlabelled], soft)
hard = LogisticRegression(max_iter=2000).fit(X[unlabelled], soft.hard())
for name, model in (("soft labels", student), ("hard labels", hard)):
    print(f"student on {name}: test accuracy {(model.predict(X[test]) == y[test]).mean():.3f}")
print("teachers alone: " + ", ".join(f"{(t.predict(X[test]) == y[test]).mean():.3f}" for t in teachers))
