"""Soft-label store: bytes per label against fidelity for every codec, and read speed.

No pretrained model can be downloaded here, so the teacher outputs are a synthetic
stand-in for a 1000-class image classifier on random crops: per item, logits
``-s * log(rank) + N(0, 0.4)`` over a random ranking of the classes (a Zipf-like tail,
exponent ``s ~ U(1, 2.2)``), the top class lifted by a heavy-tailed margin
(log-normal, median 1.5, sigma 0.9), divided by a temperature ``T ~ logU(0.7, 1.5)``,
then softmax. Their mean top-1 probability is 0.70 (10 % below 0.29, 10 % above 0.99),
the top 5 hold 82 % of the mass on average.

Read speed is measured from a store of ``--n-read`` labels: a full scan decoded to top-k
(indices, probabilities and the value of the other classes) and to dense float32 rows in
batches, cold (the store's pages evicted from the page cache with
``posix_fadvise(DONTNEED)`` after ``fsync``) and warm; and batches of random item ids.
The reference is recomputing the labels with a teacher: a ResNet-18 (random weights,
224 x 224, PyTorch on the same CPUs).

    python benchmarks/store_codecs.py --output benchmarks/_out/store_codecs.md
"""

from __future__ import annotations

import _one_thread  # noqa: F401  (one BLAS thread; before numpy)

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import environment, emit, markdown_table, parser

from softlabels import SoftLabels
from softlabels.store import Dense, LabelStore, LogQuant, Sparse, TopK, TopKPacked, fidelity
from softlabels.store.codecs import kl_rows

C = 1000
VIEW_EXTRA = 9  # float16 box (4 x 2 B) + flip byte per crop, as FKD stores them


def teacher_outputs(n: int, rng: np.random.Generator) -> np.ndarray:
    """Synthetic 1000-class teacher probabilities (see the module docstring)."""
    logrank = np.log(np.arange(1, C + 1))
    s = rng.uniform(1.0, 2.2, size=(n, 1))
    z = -s * logrank[None, :] + rng.normal(0, 0.4, size=(n, C))
    z[:, 0] += rng.lognormal(np.log(1.5), 0.9, size=n)
    z /= np.exp(rng.uniform(np.log(0.7), np.log(1.5), size=(n, 1)))
    z = rng.permuted(z, axis=1)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


CODECS = [
    ("dense fp32", Dense("float32")),
    ("dense fp16", Dense("float16")),
    ("dense bf16", Dense("bfloat16")),
    ("dense log 8-bit", LogQuant()),
    ("top-5 fp32, int32 idx (FKD fp32)", TopK(5, index="int32", values="float32")),
    ("**top-5 fp16, uint16 idx (FKD fp16, reference)**", TopK(5, values="float16")),
    ("top-5 fp16, renormalised (FKD marginal_renorm)", TopK(5, values="float16", fill="renorm")),
    ("top-10 fp16, uint16 idx", TopK(10, values="float16")),
    ("top-5 bf16, int16 idx", TopK(5, index="int16", values="bfloat16")),
    ("top-5 log8 + tail, uint16 idx", TopK(5, values="log8")),
    ("top-6 log8 + tail, uint16 idx", TopK(6, values="log8")),
    ("top-8 packed 10+6 bit", TopKPacked(8)),
    ("top-10 packed 10+6 bit", TopKPacked(10)),
    ("top-10 packed 10+6 bit, floor 1e-4", TopKPacked(10, floor=1e-4)),
    ("top-12 packed 10+6 bit", TopKPacked(12)),
    ("sparse fp32 (no zeros here)", Sparse()),
]


def fidelity_table(n: int, seed: int) -> tuple[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    p = teacher_outputs(n, rng)
    top1 = p.argmax(axis=1)
    rows, kls = [], {}
    for name, codec in CODECS:
        enc = codec.encode(p)
        q = codec.decode(enc, C)
        f = fidelity(p, q)
        per_label = codec.nbytes(enc) / n
        kl = kl_rows(p, q)
        finite = np.isfinite(kl)
        kls[name] = f.mean_kl
        rows.append([
            name, f"{per_label:g}", f"{per_label + VIEW_EXTRA:g}",
            "inf" if not np.isfinite(f.mean_kl) else f"{f.mean_kl:.4f}",
            f"{kl[finite].mean():.4f}" if finite.any() else "-",
            f"{100 * (~finite).mean():.2f} %",
            f"{f.max_abs_error:.4f}", f"{(q.argmax(axis=1) == top1).mean():.4f}",
        ])
    ps = np.sort(p, axis=1)[:, ::-1]
    stats = (
        f"{n:,} synthetic teacher outputs, C = {C}: mean top-1 probability {ps[:, 0].mean():.3f} "
        f"(10th/90th percentiles {np.quantile(ps[:, 0], 0.1):.3f}/{np.quantile(ps[:, 0], 0.9):.3f}), "
        f"mean top-5 mass {ps[:, :5].sum(axis=1).mean():.3f}, mean entropy "
        f"{(-(p * np.log(p)).sum(axis=1)).mean():.3f} nats."
    )
    table = markdown_table(
        ["codec", "bytes / label", "bytes / crop (+ fp16 box, flip)", "mean KL(p ‖ q)",
         "mean KL, finite rows", "rows with KL = inf", "max abs error", "top-1 kept"],
        rows,
    )
    return stats + "\n\n" + table, kls


def crowd_table(n: int, seed: int) -> str:
    """Vote-fraction soft labels: 3-7 votes per item over 1000 classes, few non-zero."""
    rng = np.random.default_rng(seed)
    votes = rng.integers(3, 8, size=n)
    counts = np.zeros((n, C))
    truth = rng.integers(0, C, size=n)
    for i in range(n):
        right = rng.random(votes[i]) < 0.7
        labels = np.where(right, truth[i], rng.integers(0, C, size=votes[i]))
        np.add.at(counts[i], labels, 1)
    p = counts / counts.sum(axis=1, keepdims=True)
    rows = []
    for name, codec in [
        ("sparse fp32, int16 idx", Sparse(index="int16")),
        ("sparse fp32, int32 idx", Sparse()),
        ("top-5 fp16 (FKD)", TopK(5, values="float16")),
        ("dense fp16", Dense("float16")),
    ]:
        enc = codec.encode(p)
        f = fidelity(p, codec.decode(enc, C))
        rows.append([name, f"{codec.nbytes(enc) / n:.1f}", f"{f.mean_kl:.2e}", f"{f.max_abs_error:.2e}"])
    return (
        f"{n:,} vote-fraction labels (3-7 votes each, 70 % on the true class), C = {C}, "
        f"{(p > 0).sum(axis=1).mean():.2f} non-zero classes per item on average.\n\n"
        + markdown_table(["codec", "bytes / label", "mean KL", "max abs error"], rows)
    )


def evict(path: Path) -> None:
    """Drop the store's file pages from the page cache (clean pages: fsync first)."""
    for f in path.iterdir():
        if f.is_file():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def build_stores(paths: dict[str, Path], codecs: dict[str, object], n: int, chunk: int, seed: int) -> dict[str, float]:
    """One store per codec from the same teacher outputs, written a chunk at a time
    (create, then appends); the seconds each store's writes took."""
    rng = np.random.default_rng(seed)
    classes = np.arange(C)
    seconds = dict.fromkeys(paths, 0.0)
    stores: dict[str, LabelStore] = {}
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        soft = SoftLabels(teacher_outputs(m, rng), classes, np.arange(start, start + m),
                          provenance={"teacher": "synthetic"})
        for name, path in paths.items():
            t0 = time.perf_counter()
            if name not in stores:
                stores[name] = LabelStore.create(path, soft, codecs[name], items_per_group=65536)
            else:
                stores[name].append(soft)
            seconds[name] += time.perf_counter() - t0
    return seconds


def scan_topk(store: LabelStore) -> int:
    n = 0
    for block in store.iter_encoded():
        idx, vals, tail = block.decode_topk()
        n += idx.shape[0]
    return n


def scan_dense(store: LabelStore, batch: int, limit: int) -> float:
    """Labels/s decoding the first ``limit`` labels to dense float32 rows in batches."""
    t0 = time.perf_counter()
    done = 0
    for block in store.iter_encoded():
        for lo in range(0, block.n_rows, batch):
            sub = {k: v[lo: lo + batch] for k, v in block.arrays.items()}
            block.codec.decode(sub, C, dtype=np.float32)
        done += block.n_rows
        if done >= limit:
            break
    return done / (time.perf_counter() - t0)


def throughput(n: int, seed: int, repeats: int) -> str:
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="store-bench-"))
    codecs = {
        "top-5 fp16 (FKD)": TopK(5, values="float16"),
        "top-6 log8 + tail": TopK(6, values="log8"),
        "top-10 packed 10+6 bit": TopKPacked(10),
    }
    paths = {name: tmp / f"s{i}" for i, name in enumerate(codecs)}
    try:
        write_s = build_stores(paths, codecs, n, 50_000, seed)
        for name, path in paths.items():
            store = LabelStore(path)
            evict(path)
            t0 = time.perf_counter()
            assert scan_topk(LabelStore(path)) == n
            cold = n / (time.perf_counter() - t0)
            warm = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                scan_topk(store)
                warm.append(n / (time.perf_counter() - t0))
            m = min(n, 200_000)
            evict(path)
            dense_cold = scan_dense(LabelStore(path), 1024, m)
            dense_warm = scan_dense(store, 1024, m)
            rng = np.random.default_rng(seed + 1)
            store.item_ids()  # the id index, built once
            t0 = time.perf_counter()
            got = 0
            for _ in range(20):
                block = store.read_encoded(ids=rng.choice(n, size=4096, replace=False))
                block.decode_topk()
                got += block.n_rows
            random_ids = got / (time.perf_counter() - t0)
            rows.append([
                name, f"{store.nbytes() / n:g}", f"{store.disk_bytes() / n:.1f}", f"{n / write_s[name]:,.0f}",
                f"{cold:,.0f}", f"{max(warm):,.0f}", f"{dense_cold:,.0f}", f"{dense_warm:,.0f}",
                f"{random_ids:,.0f}",
            ])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return (
        f"One store per codec of {n:,} labels (written as a create and appends of 50,000 each; C = {C}, row groups of 65,536 items, no compression, int64 item ids), "
        "one process, numpy on one thread. Labels per second; top-k = indices, probabilities "
        "and the value of the other classes, without dense rows; dense = float32 rows "
        "(n, 1000) in batches of 1024 (first 200,000 labels); random ids = batches of 4,096 "
        "random item ids read by id and decoded to top-k.\n\n"
        + markdown_table(
            ["codec", "label bytes / item", "disk bytes / item", "write (labels/s)",
             "scan top-k cold", "scan top-k warm", "dense cold", "dense warm", "random ids (top-k)"],
            rows,
        )
    )


def teacher_speed() -> str:
    try:
        import torch
        from torch import nn
    except ImportError:
        return "PyTorch is not installed: no teacher timing."
    torch.set_num_threads(len(os.sched_getaffinity(0)))

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):  # type: ignore[no-untyped-def]
            y = torch.relu(self.b1(self.c1(x)))
            y = self.b2(self.c2(y))
            return torch.relu(y + (x if self.down is None else self.down(x)))

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, C)]
    model = nn.Sequential(*layers).eval()
    x = torch.randn(32, 3, 224, 224)
    with torch.inference_mode():
        torch.softmax(model(x), dim=1)
        t0 = time.perf_counter()
        for _ in range(3):
            torch.softmax(model(x), dim=1)
        rate = 3 * 32 / (time.perf_counter() - t0)
    return (
        f"Recomputing the labels instead: a ResNet-18 teacher (random weights, 224 x 224, batch 32, "
        f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads) gives **{rate:,.0f} labels/s** "
        "on the same CPUs, before any image decoding or cropping (FKD's teacher, EfficientNet-L2 at "
        "475 x 475, is far slower)."
    )


def main() -> None:
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument("--n-fidelity", type=int, default=20_000)
    ap.add_argument("--n-read", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    fid, _ = fidelity_table(args.n_fidelity, args.seed)
    parts = [
        "## Soft-label store: bytes per label against fidelity, and read speed",
        "",
        environment(),
        "",
        "### Bytes per label against KL(original ‖ decoded), C = 1000",
        "",
        fid,
        "",
        "Per crop, FKD's fp16 layout is 20 B of labels + 8 B box + 1 B flip = 29 B. "
        "`log8 + tail`: 8-bit log-scale values from 1e-7 to 1, where the first slot holds the mass "
        "outside the top k and the top value is recovered as 1 - tail - the others. `packed 10+6 bit`: "
        "one 16-bit word per entry, the class index in 10 bits and a 6-bit log-scale value code "
        "(floor 1e-6 unless stated) in the rest, with the same tail slot. "
        "Renormalised top-k gives classes with mass a probability of 0, so its KL is infinite.",
        "",
        "### Sparse codec on crowd soft labels",
        "",
        crowd_table(20_000, args.seed),
        "",
        "### Read throughput from the container",
        "",
        throughput(args.n_read, args.seed, args.repeats),
        "",
        teacher_speed(),
    ]
    emit("\n".join(parts), args.output)


if __name__ == "__main__":
    main()
