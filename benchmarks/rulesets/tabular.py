"""Threshold rules on single features of scikit-learn's bundled tables.

Every rule votes one class when a feature lies above (``">"``) or below (``"<"``) a
quantile of that feature over all items, or inside a quantile band (``"in"``), and
abstains otherwise. The direction of each rule is a documented prior about the
feature (the data sets' descriptions and textbook knowledge: malignant nuclei are
larger and more irregular; Barolo wines are strong and rich in proline, Barbera wines
deeply coloured and acidic, Grignolino wines light; setosa irises have small petals,
virginica large ones); the quantiles are of the unlabelled features. Some rules are
weak on purpose (features a user would guess matter less) and several are correlated
(radius, perimeter and area).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from softlabels.infer.rules import labeling_function

ABSTAIN = -1


def threshold(feature: str, how: str, q: float | tuple[float, float], label: int):  # type: ignore[no-untyped-def]
    """Vote ``label`` when ``feature`` is above/below its ``q`` quantile (or within the
    band of quantiles ``q = (low, high)`` for ``how="in"``)."""
    name = f"{feature.replace(' ', '_')}_{how}_{q}"

    def rule(col: pd.Series) -> np.ndarray:
        x = col.to_numpy(dtype=float)
        if how == ">":
            hit = x > np.quantile(x, q)
        elif how == "<":
            hit = x < np.quantile(x, q)
        else:
            lo, hi = np.quantile(x, q)
            hit = (x >= lo) & (x <= hi)
        return np.where(hit, label, ABSTAIN)

    return labeling_function(name=name, column=feature, vectorized=True)(rule)


# load_breast_cancer: 0 = malignant, 1 = benign
MALIGNANT, BENIGN = 0, 1
BREAST_CANCER = [
    threshold("mean radius", ">", 0.70, MALIGNANT),
    threshold("mean radius", "<", 0.40, BENIGN),
    threshold("mean perimeter", ">", 0.75, MALIGNANT),
    threshold("worst area", ">", 0.75, MALIGNANT),
    threshold("mean area", "<", 0.30, BENIGN),
    threshold("mean concave points", ">", 0.70, MALIGNANT),
    threshold("mean concave points", "<", 0.35, BENIGN),
    threshold("worst concavity", ">", 0.75, MALIGNANT),
    threshold("worst compactness", "<", 0.25, BENIGN),
    threshold("mean texture", ">", 0.75, MALIGNANT),
    threshold("mean smoothness", ">", 0.85, MALIGNANT),
    threshold("mean symmetry", ">", 0.85, MALIGNANT),
    threshold("mean fractal dimension", ">", 0.80, MALIGNANT),
]

# load_wine: 0 = Barolo, 1 = Grignolino, 2 = Barbera
BAROLO, GRIGNOLINO, BARBERA = 0, 1, 2
WINE = [
    threshold("alcohol", ">", 0.70, BAROLO),
    threshold("alcohol", "<", 0.30, GRIGNOLINO),
    threshold("proline", ">", 0.70, BAROLO),
    threshold("flavanoids", ">", 0.70, BAROLO),
    threshold("flavanoids", "<", 0.30, BARBERA),
    threshold("color_intensity", "<", 0.30, GRIGNOLINO),
    threshold("color_intensity", ">", 0.75, BARBERA),
    threshold("hue", "<", 0.25, BARBERA),
    threshold("malic_acid", ">", 0.75, BARBERA),
    threshold("od280/od315_of_diluted_wines", "<", 0.25, BARBERA),
    threshold("magnesium", "<", 0.30, GRIGNOLINO),
    threshold("ash", "<", 0.25, GRIGNOLINO),
]

# load_iris: 0 = setosa, 1 = versicolor, 2 = virginica
SETOSA, VERSICOLOR, VIRGINICA = 0, 1, 2
IRIS = [
    threshold("petal length (cm)", "<", 0.25, SETOSA),
    threshold("petal length (cm)", ">", 0.75, VIRGINICA),
    threshold("petal length (cm)", "in", (0.40, 0.60), VERSICOLOR),
    threshold("petal width (cm)", "<", 0.25, SETOSA),
    threshold("petal width (cm)", ">", 0.75, VIRGINICA),
    threshold("sepal width (cm)", ">", 0.80, SETOSA),
    threshold("sepal width (cm)", "<", 0.20, VERSICOLOR),
    threshold("sepal length (cm)", ">", 0.80, VIRGINICA),
    threshold("sepal length (cm)", "<", 0.20, SETOSA),
    threshold("sepal length (cm)", "in", (0.40, 0.60), VERSICOLOR),
]


def load(name: str) -> tuple[pd.DataFrame, np.ndarray, list, int]:
    """(features, truth, rules, n_classes) of ``"breast_cancer"``, ``"wine"`` or ``"iris"``."""
    from sklearn import datasets

    loader, rules = {
        "breast_cancer": (datasets.load_breast_cancer, BREAST_CANCER),
        "wine": (datasets.load_wine, WINE),
        "iris": (datasets.load_iris, IRIS),
    }[name]
    data = loader(as_frame=True)
    return data.data, data.target.to_numpy(), rules, len(data.target_names)
