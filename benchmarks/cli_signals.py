"""Stress loop: stop signals sent to `softlabels aggregate` at random moments just after
the answers file is opened (the window in which pyarrow's CSV reader threads start).

Counts the outcomes: stopped cleanly (128 + signal, one line, no temporary file, good
output kept), finished before the signal, or crashed (killed by a signal such as
SIGSEGV, or anything else). The checks themselves are those of
``tests/test_cli_robustness_signals.py``.

    python benchmarks/cli_signals.py --tries 20 --signal SIGINT [--src /other/checkout/src]
"""

from __future__ import annotations

import argparse
import collections
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_cli_robustness_signals as harness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=20)
    parser.add_argument("--signal", default="SIGINT", choices=["SIGINT", "SIGTERM", "SIGHUP"])
    parser.add_argument("--max-delay", type=float, default=0.05, help="seconds after opening")
    parser.add_argument("--items", type=int, default=200_000, help="items (5 answers each)")
    parser.add_argument("--src", default=None, help="the softlabels source folder to run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="print the stderr of failures")
    args = parser.parse_args()
    if args.src:
        harness.SRC = args.src
    signum = getattr(signal, args.signal)
    rng = np.random.default_rng(args.seed)
    outcomes: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        answers = harness.write_answers(folder / "answers.csv", args.items)
        for _ in range(args.tries):
            output = folder / "out.csv"
            output.write_text(harness.GOOD)
            proc = harness.start(folder, answers, output, "-m", "majority-vote")
            code, err = harness.signal_after_reading(proc, signum, rng.uniform(0, args.max_delay))
            try:
                stopped = harness.check_outcome(folder, output, signum, code, err)
                outcomes["stopped cleanly" if stopped else "finished first"] += 1
            except AssertionError:
                what = signal.Signals(-code).name if code < 0 else f"exit {code}"
                outcomes[f"failed ({what})"] += 1
                if args.verbose:
                    print(f"--- {what}:\n{err}", file=sys.stderr)
                for p in folder.glob(".*.tmp"):
                    p.unlink()
    for outcome, count in sorted(outcomes.items()):
        print(f"{args.signal}: {count:3d} / {args.tries} {outcome}")


if __name__ == "__main__":
    main()
