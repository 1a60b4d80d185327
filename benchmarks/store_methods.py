"""Students trained on the label representations of four distillation methods, against the
dense per-view teacher labels they replace, on scikit-learn's digits (8x8 images).

A teacher (the mean logits of three MLPs trained on half of the images and their random
crops) labels the training views of a small student set. Every view is a random resized
crop with a random horizontal flip (and, in the Mixup regime, mixed with another item's
view of the same epoch, lam ~ Beta(0.8, 0.8)). The student (a numpy MLP) sees the same
stored views in every arm; only its labels change:

* dense: the teacher's softmax on each exact view, float32 (the reference);
* hard: the item's class (the two classes weighted by lam under Mixup);
* ReLabel: a 4x4 map of the teacher's logits on windows of the item, top-k per cell stored
  in float16, pooled over each view's box (LabelPooling), then softmax (mixed in
  probability space under Mixup);
* INFER static: the teacher's logits on the un-augmented item, float16, once per item,
  interpolated in logit space under Mixup (and, for comparison, in probability space);
* NRR-DD: two float16 distances per view (-log p of the item's class and of the mixed-in
  class), decoded to a soft label by spreading the rest uniformly;
* HeLlO-style projector: a rank-4 head (float16) over a frozen random-feature encoder,
  fitted to the teacher's labels and applied to every view on the fly.

Bytes are per student item: the labels themselves, plus the view parameters that must be
stored so that views can be replayed (only for labels tied to a specific view).

Run: python benchmarks/store_methods.py [--seeds 5] [--epochs 60] [--quick]
     [--output benchmarks/_out/store_methods.md]
"""

from __future__ import annotations

import _one_thread  # noqa: F401  (before numpy: one BLAS thread)

import time
import warnings
from dataclasses import dataclass

import numpy as np
from _common import emit, environment, markdown_table, parser
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from softlabels.core.soft import softmax
from softlabels.store.distance import dbr_decode, dbr_encode
from softlabels.store.projector import LabelProjector
from softlabels.store.relabel import LabelMap, label_pool
from softlabels.store.static import StaticLabels

C = 10
SIDE = 8
PAD = 4
SCALE = (0.35, 1.0)  # area fraction of a crop
MAP = 4  # label-map side (cells)
WINDOW = 0.75  # side of the window behind each map cell, as a fraction of the image side
#: ReLabel arms: name -> (top-k per cell, centre the stored scores)
RELABEL = {"ReLabel map, top-5 raw": (5, False), "ReLabel map, top-5 centred": (5, True),
           "ReLabel map, top-2 centred": (2, True)}
RANK = 4
N_FEATURES = 256
BYTES_CROP = 4 * 2 + 1  # box as 4 float16 + flip byte
BYTES_MIX = 4 + 2  # partner index (int32) + lam (float16)


# --------------------------------------------------------------------------- views
def sample_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random resized crops (x1, y1, x2, y2), normalised, inside the image."""
    area = rng.uniform(*SCALE, n)
    logr = rng.uniform(np.log(3 / 4), np.log(4 / 3), n)
    w = np.minimum(np.sqrt(area * np.exp(logr)), 1.0)
    h = np.minimum(np.sqrt(area / np.exp(logr)), 1.0)
    x1, y1 = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
    return np.stack([x1, y1, x1 + w, y1 + h], axis=1)


def render(images: np.ndarray, items: np.ndarray, boxes: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """Bilinear resize of each box of ``images[items]`` to 8x8 (zero outside the image),
    flipped left-right where ``flips``; returns ``(n, 64)``."""
    padded = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD)))
    grid = (np.arange(SIDE) + 0.5) / SIDE

    def coords(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = (lo[:, None] + grid[None] * (hi - lo)[:, None]) * SIDE - 0.5 + PAD
        pos = np.clip(pos, 0, SIDE + 2 * PAD - 1.000001)
        low = np.floor(pos).astype(int)
        return low, low + 1, pos - low

    y0, y1, fy = coords(boxes[:, 1], boxes[:, 3])
    x0, x1, fx = coords(boxes[:, 0], boxes[:, 2])
    it = items[:, None, None]
    img = padded[it, y0[:, :, None], x0[:, None, :]] * (1 - fy)[:, :, None] * (1 - fx)[:, None, :]
    img += padded[it, y0[:, :, None], x1[:, None, :]] * (1 - fy)[:, :, None] * fx[:, None, :]
    img += padded[it, y1[:, :, None], x0[:, None, :]] * fy[:, :, None] * (1 - fx)[:, None, :]
    img += padded[it, y1[:, :, None], x1[:, None, :]] * fy[:, :, None] * fx[:, None, :]
    img = np.where(flips[:, None, None], img[:, :, ::-1], img)
    return img.reshape(len(items), SIDE * SIDE)


def random_views(rng: np.random.Generator, images: np.ndarray, items: np.ndarray) -> np.ndarray:
    return render(images, items, sample_boxes(rng, len(items)), rng.random(len(items)) < 0.5)


# --------------------------------------------------------------------------- teacher
@dataclass
class Teacher:
    mlps: list[MLPClassifier]

    def logits(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), C))
        for m in self.mlps:
            h = np.maximum(x @ m.coefs_[0] + m.intercepts_[0], 0)
            out += h @ m.coefs_[1] + m.intercepts_[1]
        return out / len(self.mlps)


def fit_teacher(rng: np.random.Generator, images: np.ndarray, y: np.ndarray, n_views: int) -> Teacher:
    mlps = []
    n = len(y)
    for k in range(3):
        items = np.tile(np.arange(n), n_views)
        x = np.vstack([images.reshape(n, -1), random_views(rng, images, items)])
        yy = np.concatenate([y, y[items]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = MLPClassifier((128,), alpha=1e-3, max_iter=60, random_state=int(rng.integers(2**31)))
            mlps.append(m.fit(x, yy))
    return Teacher(mlps)


# --------------------------------------------------------------------------- student
def train_student(rng: np.random.Generator, x: np.ndarray, targets: np.ndarray, epochs: int,
                  hidden: int = 128, batch: int = 32, lr: float = 3e-3, wd: float = 1e-4) -> list[np.ndarray]:
    """A 64-hidden-10 ReLU MLP trained with soft cross-entropy and Adam.

    ``x`` and ``targets`` are ``(epochs, n_items, ...)``: epoch ``e`` uses view ``e``."""
    d = x.shape[-1]
    params = [rng.normal(0, np.sqrt(2 / d), (d, hidden)), np.zeros(hidden),
              rng.normal(0, np.sqrt(1 / hidden), (hidden, C)), np.zeros(C)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = 0
    n = x.shape[1]
    for e in range(epochs):
        order = rng.permutation(n)
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            xb, tb = x[e, idx], targets[e, idx]
            w1, b1, w2, b2 = params
            h_pre = xb @ w1 + b1
            h = np.maximum(h_pre, 0)
            g = (softmax(h @ w2 + b2) - tb) / len(idx)
            gh = (g @ w2.T) * (h_pre > 0)
            grads = [xb.T @ gh + wd * w1, gh.sum(0), h.T @ g + wd * w2, g.sum(0)]
            step += 1
            for p, gr, mm, vv in zip(params, grads, m, v):
                mm *= 0.9
                mm += 0.1 * gr
                vv *= 0.999
                vv += 0.001 * gr * gr
                p -= lr * (mm / (1 - 0.9**step)) / (np.sqrt(vv / (1 - 0.999**step)) + 1e-8)
    return params


def accuracy(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    w1, b1, w2, b2 = params
    return float(((np.maximum(x @ w1 + b1, 0) @ w2 + b2).argmax(1) == y).mean())


# --------------------------------------------------------------------------- encoder (projector)
@dataclass
class Encoder:
    """Frozen stand-in for a public foundation encoder: PCA-32 then random ReLU features."""

    mean: np.ndarray
    proj: np.ndarray
    bias: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.maximum((x - self.mean) @ self.proj + self.bias, 0)


def make_encoder(rng: np.random.Generator, x: np.ndarray) -> Encoder:
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    pca = vt[:32].T / (s[:32] / np.sqrt(len(x)))  # whitened PCA-32
    r = rng.normal(0, 1 / np.sqrt(32), (32, N_FEATURES)) * 2.0
    return Encoder(mean, pca @ r, rng.uniform(-1, 1, N_FEATURES))


# --------------------------------------------------------------------------- one seed
ARMS_CROP = ["dense (per view, fp32)", "hard", *RELABEL,
             "INFER static", "NRR-DD distances", "HeLlO projector", "HeLlO projector, zero init",
             f"HeLlO projector, rank {C}"]
ARMS_MIX = ["dense (per view, fp32)", "hard", *RELABEL,
            "INFER static, logit mix", "INFER static, prob mix", "NRR-DD distances",
            "HeLlO projector", "HeLlO projector, zero init", f"HeLlO projector, rank {C}"]


def kl(p: np.ndarray, q: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1)
    q = np.clip(q, 1e-12, 1)
    return float((p * (np.log(p) - np.log(q))).sum(-1).mean())


def run_seed(seed: int, epochs: int, n_student: int, teacher_views: int) -> dict:
    rng = np.random.default_rng(seed)
    digits = load_digits()
    images = digits.images / 16.0
    y = digits.target
    order = rng.permutation(len(y))
    half = len(y) // 2
    t_idx, s_idx, test_idx = order[:half], order[half:half + n_student], order[half + n_student:]
    teacher = fit_teacher(rng, images[t_idx], y[t_idx], teacher_views)

    x_test = images[test_idx].reshape(len(test_idx), -1)
    x_test_crop = random_views(rng, images, test_idx)
    out: dict = {"teacher": (float((teacher.logits(x_test).argmax(1) == y[test_idx]).mean()),
                             float((teacher.logits(x_test_crop).argmax(1) == y[test_idx]).mean()))}

    n = n_student
    ys = y[s_idx]
    # stored views: epoch e, item i -> box, flip; mixup partner and lam
    boxes = sample_boxes(rng, epochs * n).reshape(epochs, n, 4)
    flips = (rng.random((epochs, n)) < 0.5)
    partner = np.stack([rng.permutation(n) for _ in range(epochs)])
    lam = rng.beta(0.8, 0.8, (epochs, n))
    items = np.tile(s_idx, epochs)
    crops = render(images, items, boxes.reshape(-1, 4), flips.ravel()).reshape(epochs, n, -1)
    rows = np.arange(n)

    # ---- the representations, computed once per item or once per view
    static = StaticLabels.from_teachers(teacher.logits(images[s_idx].reshape(n, -1)))
    starts = np.linspace(0, 1 - WINDOW, MAP)
    win = np.array([[x0, y0, x0 + WINDOW, y0 + WINDOW] for y0 in starts for x0 in starts])  # (y, x) row-major
    win_x = render(images, np.repeat(s_idx, len(win)), np.tile(win, (n, 1)), np.zeros(n * len(win), bool))
    maps_z = teacher.logits(win_x).reshape(n, MAP, MAP, C).transpose(0, 3, 1, 2)
    pooled = {}
    nbytes_map = {}
    for name, (k, centre) in RELABEL.items():
        item_maps = [LabelMap.from_dense(mz, k=k, centre=centre) for mz in maps_z]
        pooled[name] = np.stack([label_pool(item_maps, boxes[e]) for e in range(epochs)])
        nbytes_map[name] = item_maps[0].nbytes()
    encoder = make_encoder(rng, images[t_idx].reshape(len(t_idx), -1))
    # the projector is fitted on views it can compute anyway (fresh crops, and mixed crops)
    fit_items = np.concatenate([np.tile(t_idx, 3), np.tile(s_idx, 6)])
    fx = random_views(rng, images, fit_items)
    mix_partner = rng.permutation(len(fx))
    lam_fit = rng.beta(0.8, 0.8, len(fx))[:, None]
    fx = np.vstack([fx, lam_fit * fx + (1 - lam_fit) * fx[mix_partner]])
    fz = teacher.logits(fx)
    projectors = {
        "HeLlO projector": LabelProjector(rank=RANK, init="class_means", max_iter=150, dtype=np.float16).fit(encoder(fx), logits=fz),
        "HeLlO projector, zero init": LabelProjector(rank=RANK, max_iter=150, dtype=np.float16).fit(encoder(fx), logits=fz),
        f"HeLlO projector, rank {C}": LabelProjector(rank=C, init="class_means", max_iter=150,
                                                    dtype=np.float16).fit(encoder(fx), logits=fz),
    }
    for regime, arms in (("crops", ARMS_CROP), ("mixup", ARMS_MIX)):
        if regime == "mixup":
            lam3 = lam[:, :, None]
            x_in = lam3 * crops + (1 - lam3) * crops[np.arange(epochs)[:, None], partner]
        else:
            x_in = crops
        y2 = ys[partner] if regime == "mixup" else np.broadcast_to(ys, (epochs, n))
        lam_r = lam if regime == "mixup" else np.ones((epochs, n))
        flat = x_in.reshape(epochs * n, -1)
        z_view = teacher.logits(flat)
        dense = softmax(z_view).astype(np.float32).astype(np.float64).reshape(epochs, n, C)
        onehot = np.eye(C)
        labels: dict[str, np.ndarray] = {}
        labels["dense (per view, fp32)"] = dense
        labels["hard"] = lam_r[..., None] * onehot[ys][None] + (1 - lam_r[..., None]) * onehot[y2]
        for name, pool in pooled.items():
            labels[name] = (lam_r[..., None] * pool
                            + (1 - lam_r[..., None]) * pool[np.arange(epochs)[:, None], partner])
        idx = np.broadcast_to(rows, (epochs, n)).ravel()
        if regime == "mixup":
            pidx = partner.ravel()
            labels["INFER static, logit mix"] = static.mix(idx, pidx, lam.ravel()).reshape(epochs, n, C)
            labels["INFER static, prob mix"] = static.mix(idx, pidx, lam.ravel(), space="probs").reshape(epochs, n, C)
        else:
            labels["INFER static"] = static.probs(idx).reshape(epochs, n, C)
        yo, ya = np.broadcast_to(ys, (epochs, n)).ravel(), y2.ravel()
        dist = dbr_encode(z_view, yo, ya)
        labels["NRR-DD distances"] = dbr_decode(dist, yo, ya, C).reshape(epochs, n, C)
        feats = encoder(flat)
        for name, pr in projectors.items():
            labels[name] = pr.predict_proba(feats).reshape(epochs, n, C)

        replay = epochs * (BYTES_CROP + (BYTES_MIX if regime == "mixup" else 0))
        nbytes = {
            "dense (per view, fp32)": (epochs * C * 4, replay),
            "hard": (1, 0),
            **{name: (b, 0) for name, b in nbytes_map.items()},
            "INFER static": (static.nbytes() / n, 0),
            "INFER static, logit mix": (static.nbytes() / n, 0),
            "INFER static, prob mix": (static.nbytes() / n, 0),
            "NRR-DD distances": (epochs * dist.itemsize * 2, replay),
            **{name: (pr.state_bytes() / n, 0) for name, pr in projectors.items()},
        }
        for arm in arms:
            t0 = time.perf_counter()
            params = train_student(np.random.default_rng(seed + 1000), x_in, labels[arm], epochs)
            out[(regime, arm)] = {
                "acc": accuracy(params, x_test, y[test_idx]),
                "acc_crop": accuracy(params, x_test_crop, y[test_idx]),
                "kl": kl(dense, labels[arm]),
                "agree": float((labels[arm].argmax(-1) == dense.argmax(-1)).mean()),
                "bytes": nbytes[arm],
                "seconds": time.perf_counter() - t0,
            }
    return out


# --------------------------------------------------------------------------- report
def mean_std(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    a = np.asarray(values) * scale
    return f"{a.mean():.{digits}f} ± {a.std(ddof=1) if len(a) > 1 else 0.0:.{digits}f}"


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--n-student", type=int, default=200)
    p.add_argument("--teacher-views", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="2 seeds, 20 epochs")
    args = p.parse_args()
    if args.quick:
        args.seeds, args.epochs = 2, 20
    start = time.perf_counter()
    runs = []
    for s in range(args.seeds):
        t0 = time.perf_counter()
        runs.append(run_seed(s, args.epochs, args.n_student, args.teacher_views))
        print(f"seed {s}: {time.perf_counter() - t0:.1f} s", flush=True)
    t_clean = [r["teacher"][0] for r in runs]
    t_crop = [r["teacher"][1] for r in runs]
    lines = [
        "## Soft-label representations: student accuracy and stored bytes (digits)",
        "",
        f"Teacher: mean logits of 3 MLPs (128 hidden) trained on {len(load_digits().target) // 2} images and "
        f"{args.teacher_views} random crops of each; test accuracy {mean_std(t_clean)} % on whole images, "
        f"{mean_std(t_crop)} % on random crops. Student: a numpy MLP (128 hidden, Adam) trained on "
        f"{args.n_student} other images for {args.epochs} epochs, one stored view per image and epoch "
        f"(random resized crop, area {SCALE[0]}–{SCALE[1]}, random flip), the same views in every arm; "
        f"tested on the remaining {len(load_digits().target) - len(load_digits().target) // 2 - args.n_student} "
        f"images, whole and as one random crop each. {args.seeds} seeds (split, teacher, views, student), "
        "mean ± std over seeds; Δ is paired with the dense arm.",
        "",
        "Bytes per student item: *label* is what the representation stores (the projector's "
        "parameters, the label map, the static logits are divided by the number of items); *replay* is "
        f"the view parameters that must also be stored when a label belongs to one exact view "
        f"({BYTES_CROP} B per crop: box as 4 float16 and a flip byte; +{BYTES_MIX} B under Mixup: partner "
        "int32 and lam float16). KL is the mean KL(dense ‖ label) over the training views; top-1 = dense is how often the label's most probable class is the dense label's.",
        "",
    ]
    for regime, arms in (("crops", ARMS_CROP), ("mixup", ARMS_MIX)):
        title = ("Crops and flips" if regime == "crops"
                 else "Crops and flips, then Mixup with another item's view of the same epoch (lam ~ Beta(0.8, 0.8))")
        lines += [f"### {title}", ""]
        rows = []
        dense = [r[(regime, ARMS_CROP[0])]["acc"] for r in runs]
        for arm in arms:
            res = [r[(regime, arm)] for r in runs]
            lb, rb = res[0]["bytes"]
            acc = [x["acc"] for x in res]
            delta = [a - d for a, d in zip(acc, dense)]
            rows.append([
                arm, f"{lb:.1f}", f"{rb:.0f}", f"{lb + rb:.1f}",
                f"{np.mean([x['kl'] for x in res]):.3f}", f"{100 * np.mean([x['agree'] for x in res]):.1f}",
                mean_std(acc), "—" if arm == ARMS_CROP[0] else mean_std(delta),
                mean_std([x["acc_crop"] for x in res]),
            ])
        lines.append(markdown_table(
            ["labels", "label B/item", "replay B/item", "total B/item", "KL to dense", "top-1 = dense %",
             "test acc % (whole)", "Δ vs dense (pp)", "test acc % (crops)"], rows))
        lines.append("")
    lines += [
        f"Settings: ReLabel map = {MAP}x{MAP} cells, cell (i, j) holding the teacher's logits on a window of "
        f"{WINDOW:.0%} of the image side whose position steps across the image with (i, j) (a stand-in for a "
        "classifier's last feature map, whose cells see large receptive fields); top-k in float16 with uint8 "
        "indices, raw (ReLabel's storage: absent classes count as 0) or centred on the mean of the absent "
        "classes (`LabelMap.from_dense(centre=True)`); pooled with `label_pool` over each view's box; under "
        "Mixup the pooled labels are mixed in probability space. INFER static = teacher logits on the un-augmented image, "
        "float16. NRR-DD = `dbr_encode` float16 (y_aug = the partner's class under Mixup, the item's own class "
        f"otherwise), decoded by `dbr_decode`. HeLlO projector = `LabelProjector(rank={RANK})` in float16 "
        f"(also at rank {C}: a full-rank head) over "
        f"a frozen encoder (whitened PCA-32 of the teacher's images, then {N_FEATURES} random ReLU features; not "
        "counted, as HeLlO does not count its public CLIP encoder), fitted by KL on fresh crops and mixed "
        "crops of the teacher's and the student's images; its bytes include the class-mean head W0 "
        "(W0 is absent with zero init).",
        "",
        f"Total time {time.perf_counter() - start:.0f} s.",
        "",
        environment(),
    ]
    emit("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
