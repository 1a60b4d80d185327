"""Soft-label store: student accuracy with the labels of each codec against dense labels.

A real task, small enough for two CPU cores: scikit-learn's digits (1,797 images of
8 x 8 pixels, 10 classes), upsampled to 16 x 16 so that crops keep some detail. Per seed
the images are split at random into a teacher part (40 %), a student part (40 %) and a
test part (20 %). The teacher, an MLP (256-256-10, PyTorch), is trained on random crops
and flips of its part. It then labels ``--views`` random crops and flips of every
student image (crops as RandomResizedCrop draws them: 35-100 % of the area, aspect
3/4-4/3; flip with probability 1/2): per-view records ``ViewLabels(probs, item ids,
boxes, flips)``, stored once per codec in a :class:`LabelStore` (item ids shuffled, row
groups of 64 images).

For each codec a student (MLP 256-128-10, soft cross-entropy, Adam) is trained on the
stored views read back through :class:`TorchStoreDataset`, which joins each view to its
image by item id, replays the stored crop box and flip (bilinear, 16 x 16) and decodes
the label. Within a seed every student starts from the same weights and sees the
batches in the same order; only the labels differ. Reported: test accuracy on the
whole test images (mean ± sample std over seeds), the change against the dense fp32
labels (paired by seed, mean ± std), bytes per view (labels, and labels with the float16
box and flip byte), the store's bytes on disk per view, and KL(teacher ‖ decoded) of
the labels: its mean over the rows where it is finite, and the share of rows where a
class the teacher gives mass to decodes to 0 (KL infinite). "hard" is the teacher's
argmax as a one-hot label (stored dense), for scale.

    python benchmarks/store_student.py --output benchmarks/_out/store_student.md
"""

from __future__ import annotations

import _one_thread  # noqa: F401  (one BLAS thread; before numpy)

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import environment, emit, markdown_table, parser

from softlabels.store import (
    Dense,
    LabelStore,
    LogQuant,
    Sparse,
    TopK,
    TopKPacked,
    ViewLabels,
    encode,
    replay_view,
)
from softlabels.store.codecs import kl_rows

SIZE = 16
CODECS = [
    ("dense fp32 (reference)", Dense("float32")),
    ("dense fp16", Dense("float16")),
    ("dense bf16", Dense("bfloat16")),
    ("log 8-bit (LogQuant)", LogQuant()),
    ("FKD top-5 fp16, marginal", TopK(5, values="float16")),
    ("top-3 log8, marginal", TopK(3, values="log8")),
    ("top-3 packed (TopKPacked(3))", TopKPacked(3)),
    ("top-2 packed (TopKPacked(2))", TopKPacked(2)),
    ("top-1 fp16, renorm (argmax)", TopK(1, values="float16", fill="renorm")),
    ("sparse fp32", Sparse()),
]


def digits16() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    imgs = d.images.astype(np.float32) / 16.0
    return np.stack([replay_view(im, size=SIZE) for im in imgs]), d.target.astype(np.int64)


def random_boxes(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """RandomResizedCrop-style boxes (top, left, height, width) and flips."""
    area = rng.uniform(0.35, 1.0, n)
    aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3), n))
    h = np.clip(np.sqrt(area / aspect), 0.2, 1.0)
    w = np.clip(np.sqrt(area * aspect), 0.2, 1.0)
    top = rng.uniform(0, 1, n) * (1 - h)
    left = rng.uniform(0, 1, n) * (1 - w)
    return np.stack([top, left, h, w], axis=1), rng.random(n) < 0.5


def views_of(imgs: np.ndarray, boxes: np.ndarray, flips: np.ndarray, per: int) -> np.ndarray:
    return np.stack([
        replay_view(imgs[i // per], boxes[i], bool(flips[i]), SIZE) for i in range(len(boxes))
    ])


def mlp(hidden: int):  # type: ignore[no-untyped-def]
    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(SIZE * SIZE, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def train(model, x, y, *, epochs: int, seed: int, lr: float = 2e-3, batch: int = 128):  # type: ignore[no-untyped-def]
    """Soft cross-entropy (``y`` probability rows), Adam; batch order from ``seed``."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for lo in range(0, n, batch):
            idx = order[lo : lo + batch]
            loss = -(y[idx] * model(x[idx]).log_softmax(1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def accuracy(model, x, y) -> float:  # type: ignore[no-untyped-def]
    import torch

    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def read_back(path: Path, images: np.ndarray, ids: np.ndarray):  # type: ignore[no-untyped-def]
    """Every stored view through TorchStoreDataset and a DataLoader: inputs, labels."""
    import torch
    from torch.utils.data import DataLoader

    from softlabels.store import TorchStoreDataset

    data = TorchStoreDataset(path, images, input_ids=ids, size=SIZE, return_index=True)
    xs, ys, rows = [], [], []
    for x, y, r in DataLoader(data, batch_size=1024, num_workers=0):
        xs.append(x)
        ys.append(y)
        rows.append(r)
    order = torch.argsort(torch.cat(rows))
    return torch.cat(xs)[order], torch.cat(ys)[order]


def one_seed(seed: int, imgs: np.ndarray, target: np.ndarray, args, tmp: Path) -> dict:  # type: ignore[no-untyped-def]
    import torch

    rng = np.random.default_rng(seed)
    n = len(imgs)
    perm = rng.permutation(n)
    t_idx, s_idx, test_idx = np.split(perm, [int(0.4 * n), int(0.8 * n)])
    per = args.views

    # teacher on random crops and flips of its part
    tb, tf = random_boxes(len(t_idx) * per, rng)
    tx = torch.from_numpy(views_of(imgs[t_idx], tb, tf, per))
    ty = torch.nn.functional.one_hot(torch.from_numpy(np.repeat(target[t_idx], per)), 10).float()
    torch.manual_seed(seed)
    teacher = train(mlp(256), tx, ty, epochs=args.teacher_epochs, seed=seed)
    teacher_acc = accuracy(teacher, imgs[test_idx], target[test_idx])

    # the teacher labels views of the student images (item ids in shuffled order)
    items = rng.permutation(s_idx)
    boxes, flips = random_boxes(len(items) * per, rng)
    vx = views_of(imgs[items], boxes, flips, per)
    with torch.no_grad():
        probs = torch.softmax(teacher(torch.from_numpy(vx)) / args.temperature, 1).double().numpy()
    probs /= probs.sum(1, keepdims=True)
    ids = np.repeat(items, per)
    views = ViewLabels(probs, np.arange(10), ids, boxes=boxes, flips=flips,
                       provenance={"teacher": "mlp-256", "seed": seed})
    hard = ViewLabels(np.eye(10)[probs.argmax(1)], np.arange(10), ids, boxes=boxes, flips=flips)

    out: dict = {"teacher": teacher_acc, "rows": {}, "entropy": float(
        -(probs * np.log(np.maximum(probs, 1e-300))).sum(1).mean()),
        "top1": float(probs.max(1).mean()), "n_views": len(ids)}
    for name, codec, labels in [*[(nm, c, views) for nm, c in CODECS], ("hard (teacher argmax)", Dense("float32"), hard)]:
        path = tmp / f"s{seed}-{len(out['rows'])}"
        store = LabelStore.create(path, labels, codec, items_per_group=64)
        enc = encode(labels, codec)
        x, y = read_back(path, imgs, np.arange(n))
        torch.manual_seed(seed + 1)
        student = train(mlp(128), x, y.float(), epochs=args.student_epochs, seed=seed + 1)
        if labels is views:
            kl = kl_rows(probs, store.read().probs)
            inf = float(np.isinf(kl).mean())
            finite = np.isfinite(kl)
            kl = float(kl[finite].mean()) if finite.any() else float("nan")
        else:
            kl = inf = float("nan")
        out["rows"][name] = {
            "acc": accuracy(student, imgs[test_idx], target[test_idx]),
            "label_bytes": codec.nbytes(enc.arrays) / len(ids),
            "view_bytes": enc.nbytes() / len(ids),
            "disk_bytes": store.disk_bytes() / len(ids),
            "kl": kl,
            "inf": inf,
        }
        shutil.rmtree(path, ignore_errors=True)
    return out


def pm(values: list[float], scale: float = 100.0, digits: int = 2) -> str:
    a = np.asarray(values) * scale
    sd = a.std(ddof=1) if len(a) > 1 else 0.0
    return f"{a.mean():.{digits}f} ± {sd:.{digits}f}"


def main() -> None:
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--views", type=int, default=8, help="views labelled per student image")
    ap.add_argument("--teacher-epochs", type=int, default=15)
    ap.add_argument("--student-epochs", type=int, default=30)
    ap.add_argument("--temperature", type=float, default=1.0, help="teacher softmax temperature")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    imgs, target = digits16()
    tmp = Path(tempfile.mkdtemp(prefix="store_student_"))
    try:
        runs = [one_seed(s, imgs, target, args, tmp) for s in range(args.seeds)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - start

    names = list(runs[0]["rows"])
    ref = [r["rows"][CODECS[0][0]]["acc"] for r in runs]
    rows = []
    for name in names:
        acc = [r["rows"][name]["acc"] for r in runs]
        diff = [a - b for a, b in zip(acc, ref)]
        first = runs[0]["rows"][name]
        kl = np.mean([r["rows"][name]["kl"] for r in runs])
        inf = np.mean([r["rows"][name]["inf"] for r in runs])
        rows.append([
            name, pm(acc), "—" if name == CODECS[0][0] else pm(diff),
            f"{first['label_bytes']:.3g}", f"{first['view_bytes']:.3g}", f"{first['disk_bytes']:.1f}",
            "—" if np.isnan(kl) else f"{kl:.2e}", "—" if np.isnan(inf) else f"{100 * inf:.1f}",
        ])
    teacher = [r["teacher"] for r in runs]
    text = "\n".join([
        "## Soft-label store: student accuracy per codec (digits crops)",
        "",
        environment(),
        f"- PyTorch {torch.__version__}, one thread; {args.seeds} seeds, {args.views} views per "
        f"student image ({runs[0]['n_views']:,} stored views per seed), teacher "
        f"{args.teacher_epochs} epochs, student {args.student_epochs} epochs, teacher "
        f"temperature {args.temperature:g}; {elapsed:.0f} s in all",
        "",
        __doc__.split("\n\n    python")[0].split("\n", 2)[2].strip(),
        "",
        f"Teacher test accuracy {pm(teacher)} %. Stored labels: mean top-1 probability "
        f"{np.mean([r['top1'] for r in runs]):.3f}, mean entropy "
        f"{np.mean([r['entropy'] for r in runs]):.3f} nats (ln 10 = 2.303).",
        "",
        markdown_table(
            ["labels", "student test acc. (%)", "Δ vs dense fp32 (points, paired)",
             "label B / view", "with box + flip B / view", "disk B / view", "mean KL(teacher ‖ decoded), finite rows",
             "rows with KL = ∞ (%)"],
            rows,
        ),
        "",
        "Per seed (test accuracy, %):",
        "",
        markdown_table(["labels", *[f"seed {s}" for s in range(args.seeds)]],
                       [[n, *[f"{100 * r['rows'][n]['acc']:.2f}" for r in runs]] for n in names]),
    ])
    emit(text, args.output)


if __name__ == "__main__":
    main()
