"""Forward + backward time of the softlabels.train.nn losses on one GPU, next to PyTorch's own
``F.cross_entropy(logits, probs)`` and ``torch.compile`` of the naive soft cross-entropy,
and the time of a knowledge-distillation training step.

Shapes (N samples x C classes): 65536 x 10, 65536 x 1000, 16384 x 32000, in float32 and
bfloat16 (logits and targets in that dtype; our losses compute in float32 inside). Times are
medians over ``--repeats`` runs after ``--warmup`` runs, measured with CUDA events around
``loss(...).backward()`` (on the CPU with ``time.perf_counter``). Losses whose uniform
transition matrix is a dense C x C matrix (forward correction, URE-GA) are skipped above
C = 4096, and PC (whose pairwise form builds an (N, C, C) tensor) above N C^2 = 2^31.

Run (GPU, a few minutes):  python benchmarks/gpu_train.py [--output benchmarks/_out/gpu_train.md]
Smoke run on the CPU:      python benchmarks/gpu_train.py --device cpu --small
Reference, one H100, soft cross-entropy fp32 at N=16384, C=32000: PyTorch 9.9 ms, compiled
naive formula 5.3 ms.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from _common import emit, markdown_table, parser
from torch import nn

from softlabels.train import fit
from softlabels.train.nn import (
    DecoupledSoftmaxLoss,
    DKDLoss,
    DLLPLoss,
    ELRLoss,
    ForwardCorrectionLoss,
    KDLoss,
    MultiFocalLoss,
    NKDLoss,
    PCLoss,
    PUMLCLoss,
    SCLEXPLoss,
    SCLNLLoss,
    SoftCrossEntropy,
    SoftTopKLoss,
    SquaredHingeLoss,
    UREGALoss,
    ZLoss,
)

FULL_SHAPES = [(65536, 10), (65536, 1000), (16384, 32000)]
SMALL_SHAPES = [(1024, 10), (1024, 100), (256, 1000)]
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
DENSE_TRANSITION_MAX_C = 4096
PAIRWISE_MAX_ELEMENTS = 2**31  # pc_loss materialises an (N, C, C) tensor


# --------------------------------------------------------------------------- timing
def median_ms(fn: Callable[[], Any], device: torch.device, warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        for _ in range(repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize(device)
            times.append(start.elapsed_time(end))
    else:
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        return f"{torch.cuda.get_device_name(device)} ({p.total_memory / 2**30:.0f} GiB)"
    return f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


# --------------------------------------------------------------------------- the losses
def naive_soft_ce(z: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return -(q * F.log_softmax(z.float(), dim=-1)).sum(dim=-1).mean()


def loss_cases(n: int, c: int, dtype: torch.dtype, device: torch.device, seed: int = 0
               ) -> dict[str, tuple[Callable[..., torch.Tensor], tuple[Any, ...]]]:
    """name -> (callable, args after the logits)."""
    g = torch.Generator(device=device).manual_seed(seed)
    y = torch.randint(0, c, (n,), generator=g, device=device)
    comp = (y + torch.randint(1, c, (n,), generator=g, device=device)) % c
    probs = torch.softmax(torch.randn(n, c, generator=g, device=device), dim=1).to(dtype)
    teacher = torch.randn(n, c, generator=g, device=device).to(dtype)
    multi = (torch.rand(n, c, generator=g, device=device) < min(5.0 / c, 0.3)).to(dtype)
    multi[:, 0] = 1.0
    bags = max(n // 16, 1)
    bag_index = torch.arange(n, device=device) // 16
    props = torch.softmax(torch.randn(bags, c, generator=g, device=device), dim=1)
    counts = multi.float().sum(0).clamp_min(1.0)
    cases: dict[str, tuple[Callable[..., torch.Tensor], tuple[Any, ...]]] = {
        "PyTorch F.cross_entropy(logits, probs)": (F.cross_entropy, (probs,)),
        "soft-cross-entropy": (SoftCrossEntropy(), (probs,)),
        "kd (T 4, alpha 0.9)": (KDLoss(), (teacher, y)),
        "dkd": (DKDLoss(), (teacher, y)),
        "nkd": (NKDLoss(), (teacher, y)),
        "elr": (ELRLoss(n, c).to(device), (y, torch.arange(n, device=device))),
        "scl-nl": (SCLNLLoss(), (comp,)),
        "scl-exp": (SCLEXPLoss(), (comp,)),
        "dllp (bags of 16)": (DLLPLoss(), (bag_index, props)),
        "z-loss": (ZLoss(), (y,)),
        "squared-hinge": (SquaredHingeLoss(), (y,)),
        "pu-mlc": (PUMLCLoss(), (multi,)),
        "multi-focal": (MultiFocalLoss(counts).to(device), (multi,)),
        "decoupled-softmax": (DecoupledSoftmaxLoss(), (multi,)),
        "soft-top-k (k 5, 32 iterations)": (SoftTopKLoss(k=min(5, c - 1)), (multi,)),
    }
    if n * c * c <= PAIRWISE_MAX_ELEMENTS:
        cases["pc"] = (PCLoss(), (comp,))
    if c <= DENSE_TRANSITION_MAX_C:
        cases["forward-correction (uniform Q)"] = (ForwardCorrectionLoss(), (comp,))
        cases["ure-ga"] = (UREGALoss(), (comp,))
    return cases


def bench_losses(shapes: list[tuple[int, int]], device: torch.device, args: Any
                 ) -> list[str]:
    parts = []
    compiled = None
    if not args.no_compile:
        compiled = torch.compile(naive_soft_ce)
    for n, c in shapes:
        results: dict[str, dict[str, str]] = {}
        for dname, dtype in DTYPES.items():
            g = torch.Generator(device=device).manual_seed(1)
            z = torch.randn(n, c, generator=g, device=device).to(dtype).requires_grad_(True)
            cases = loss_cases(n, c, dtype, device)
            if compiled is not None:
                probs = cases["PyTorch F.cross_entropy(logits, probs)"][1]
                t0 = time.perf_counter()
                try:
                    compiled(z, *probs).backward()
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    cases = {**dict(list(cases.items())[:1]),
                             "torch.compile(naive soft CE)": (compiled, probs),
                             **dict(list(cases.items())[1:])}
                    print(f"  compiled for {n}x{c} {dname} in {time.perf_counter() - t0:.1f} s",
                          flush=True)
                except Exception as err:  # no compiler toolchain, unsupported backend...
                    results.setdefault("torch.compile(naive soft CE)", {})[dname] = \
                        f"n/a ({type(err).__name__})"
            for name, (loss, extra) in cases.items():
                def step(loss: Callable[..., torch.Tensor] = loss, extra: tuple = extra) -> None:
                    z.grad = None
                    loss(z, *extra).backward()

                try:
                    ms = median_ms(step, device, args.warmup, args.repeats)
                    results.setdefault(name, {})[dname] = f"{ms:.3f}" if ms < 1 else f"{ms:.2f}"
                except torch.cuda.OutOfMemoryError:
                    results.setdefault(name, {})[dname] = "OOM"
                    torch.cuda.empty_cache()
            print(f"  {n}x{c} {dname} done", flush=True)
            del z, cases
            if device.type == "cuda":
                torch.cuda.empty_cache()
        rows = [[name, r.get("fp32", "–"), r.get("bf16", "–")] for name, r in results.items()]
        if n * c * c > PAIRWISE_MAX_ELEMENTS:
            rows.append(["pc", "skipped: (N, C, C) intermediate", ""])
        if c > DENSE_TRANSITION_MAX_C:
            rows.append(["forward-correction, ure-ga", "skipped: dense C x C transition", ""])
        parts += ["", f"### N = {n}, C = {c}: forward + backward, median ms", "",
                  markdown_table(["loss", "fp32", "bf16"], rows)]
    return parts


# --------------------------------------------------------------------------- a KD step
def mlp(d_in: int, hidden: int, c: int) -> nn.Module:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, c))


def bench_kd_step(device: torch.device, args: Any) -> list[str]:
    b, d, c = (256, 64, 100) if args.small else (8192, 1024, 1000)
    hs, ht = (128, 256) if args.small else (2048, 4096)
    torch.manual_seed(0)
    student, teacher = mlp(d, hs, c).to(device), mlp(d, ht, c).to(device).eval()
    x = torch.randn(b, d, device=device)
    y = torch.randint(0, c, (b,), device=device)
    with torch.no_grad():
        t_pre = teacher(x)
    opt = torch.optim.AdamW(student.parameters(), lr=1e-4)
    kd, ce = KDLoss(temperature=4.0, alpha=0.9), nn.CrossEntropyLoss()
    rows = []
    for dname, autocast in [("fp32", False), ("bf16 autocast", True)]:
        def run(kind: str, autocast: bool = autocast) -> None:
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                s = student(x)
                if kind == "ce":
                    loss = ce(s, y)
                else:
                    if kind == "kd-online":
                        with torch.no_grad():
                            t = teacher(x)
                    else:
                        t = t_pre
                    loss = kd(s, t, y)
            loss.backward()
            opt.step()

        for kind, label in [("ce", "CE step (hard labels)"),
                            ("kd-pre", "KD step, precomputed teacher logits"),
                            ("kd-online", "KD step, teacher forward included")]:
            ms = median_ms(lambda kind=kind: run(kind), device, args.warmup, args.repeats)
            rows.append([label, dname, f"{ms:.2f}"])
    # the same KD step through softlabels.train.fit (one epoch of 8 batches)
    n_batches = 8
    xs = torch.randn(b * n_batches, d, device=device)
    ys = torch.randint(0, c, (b * n_batches,), device=device)
    with torch.no_grad():
        ts = teacher(xs)
    fit(student, (xs, ys), kd, epochs=1, teacher=ts, batch_size=b, device=device)  # warm-up
    h = fit(student, (xs, ys), kd, epochs=3, teacher=ts, batch_size=b, device=device)
    per = statistics.median(r["seconds"] for r in h.records) / n_batches * 1e3
    rows.append(["KD step inside fit() (precomputed logits, index lookup, loss sync)", "fp32",
                 f"{per:.2f}"])
    return ["", f"### Knowledge-distillation training step: batch {b}, MLP student "
                f"{d}-{hs}-{hs}-{c}, teacher {d}-{ht}-{ht}-{c}, AdamW", "",
            markdown_table(["step", "precision", "median ms"], rows)]


def main() -> None:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    p.add_argument("--small", action="store_true", help="small shapes, for a CPU smoke run")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile baseline")
    p.add_argument("--only", default="losses,kd")
    args = p.parse_args()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32
    shapes = SMALL_SHAPES if args.small else FULL_SHAPES
    start = time.perf_counter()
    parts = ["## softlabels.train.nn on one device: loss and distillation-step timings", "",
             f"- Device: {device_name(device)}; torch {torch.__version__}"
             + (f", CUDA {torch.version.cuda}" if device.type == "cuda" else ""),
             f"- Medians of {args.repeats} runs after {args.warmup} warm-up runs"
             + (" (CUDA events)" if device.type == "cuda" else " (perf_counter)")
             + "; TF32 off. Reference on one H100, soft CE fp32 at 16384 x 32000: PyTorch "
               "9.9 ms, compiled naive 5.3 ms."]
    if "losses" in args.only:
        parts += bench_losses(shapes, device, args)
    if "kd" in args.only:
        parts += bench_kd_step(device, args)
    parts += ["", f"Total run time {time.perf_counter() - start:.0f} s."]
    emit("\n".join(parts), args.output)


if __name__ == "__main__":
    main()
