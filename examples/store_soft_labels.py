"""Store teacher soft labels for many crops compactly, read a slice back, and feed the
crops with their labels to a training loop.

Run: python examples/store_soft_labels.py
"""

import tempfile
from pathlib import Path

import numpy as np

from softlabels import SoftLabels
from softlabels.store import Dense, LabelStore, StoreDataset, TopKPacked, ViewLabels, encode

rng = np.random.default_rng(0)
n_images, views, n_classes = 200, 4, 100
images = rng.random((n_images, 32, 32, 3)).astype(np.float32)
image_ids = [f"img{i}" for i in range(n_images)]

# A teacher's outputs for 4 random crops (top, left, height, width as fractions) and
# flips of every image: peaked logits, as a trained classifier gives.
logits = rng.normal(size=(n_images * views, n_classes))
logits[np.arange(len(logits)), rng.integers(0, n_classes, len(logits))] += 6.0
probs = np.exp(logits - logits.max(axis=1, keepdims=True))
probs /= probs.sum(axis=1, keepdims=True)
size = rng.uniform(0.4, 1.0, (len(probs), 2))
boxes = np.column_stack([rng.uniform(0, 1 - size[:, 0]), rng.uniform(0, 1 - size[:, 1]), size])
labels = ViewLabels(probs, classes=np.arange(n_classes), item_ids=np.repeat(image_ids, views),
                    boxes=boxes, flips=rng.random(len(probs)) < 0.5)

soft = SoftLabels(probs, classes=np.arange(n_classes))
for codec in (Dense("float32"), Dense("float16"), TopKPacked(10)):
    fid = encode(soft, codec).fidelity(soft)
    print(f"{codec!r}: {codec.bytes_per_label(n_classes):.0f} B/label, mean KL {fid.mean_kl:.2e}")

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "views.store"
    store = LabelStore.create(path, labels, TopKPacked(10), items_per_group=256)
    print(f"stored {len(probs):,} views")
    part = store.read(0, 8)                   # the first 8 images: all their views, decoded
    print(f"first 8 images: {part.n_views} views; first view's top class:", int(part.probs[0].argmax()))
    data = StoreDataset(path, images, input_ids=image_ids, size=(24, 24))
    x, y = data[0]                            # the crop replayed (box, flip) and its label
    print(f"record 0: input {x.shape}, label sums to {y.sum():.3f}")
