"""Compare crowd label models on a synthetic crowd whose truth is known.

Run: python examples/compare_crowd_models.py
"""

import numpy as np

import softlabels
from softlabels.datasets import make_crowd

answers, truth = make_crowd(n_items=2000, n_workers=60, n_classes=4, answers_per_item=5,
                            accuracy=(0.35, 0.9), random_state=0)
print(f"{len(answers):,} answers on {truth.size:,} items by 60 workers\n")
print(f"{'method':<22}{'accuracy':>9}{'NLL':>8}")
for method in softlabels.list_methods():
    if method == "kos":  # binary only
        continue
    soft = softlabels.aggregate(answers, method=method)
    order = np.argsort(soft.item_ids)  # items in id order, like truth
    probs, labels = soft.probs[order], soft.hard()[order]
    p_true = probs[np.arange(truth.size), truth.to_numpy()]
    nll = -np.log(np.clip(p_true, 1e-12, 1.0)).mean()
    print(f"{method:<22}{(labels == truth.to_numpy()).mean():>9.3f}{nll:>8.3f}")
