"""Stop signals in real processes: SIGINT, SIGTERM and SIGHUP end a command with exit
status 128 + the signal number and one line, leave no temporary file and overwrite no
good output, whenever they arrive (while reading, fitting or writing). A longer stress
loop: ``benchmarks/cli_signals.py``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
GOOD = "item,label\nkeep,me\n"

#: Runs the command line with two hooks: "reading" on stdout as the answers file is
#: opened, and, with SOFTLABELS_TEST_KILL_AT_WRITE set, the process signals itself once
#: a temporary output holds its first bytes (the moment a partial file exists).
WRAPPER = r"""
import os, signal, sys
import softlabels.core.io as io

check_readable = io.check_readable
def marked(path):
    sys.stdout.write("reading\n"); sys.stdout.flush()
    return check_readable(path)
io.check_readable = marked

kill_at_write = os.environ.get("SOFTLABELS_TEST_KILL_AT_WRITE")
if kill_at_write:
    import pandas as pd
    to_csv = pd.DataFrame.to_csv
    def half_then_signal(self, path, *args, **kwargs):
        with open(path, "w") as fh:
            fh.write("item,label\n" * 1000)
        os.kill(os.getpid(), getattr(signal, kill_at_write))
        return to_csv(self, path, *args, **kwargs)
    pd.DataFrame.to_csv = half_then_signal

from softlabels.cli import run
sys.argv = ["softlabels", *sys.argv[1:]]
run()
"""


def write_answers(path: Path, n_items: int, seed: int = 0) -> Path:
    """Answers with integer item ids (read through pyarrow as well as pandas)."""
    rng = np.random.default_rng(seed)
    n = n_items * 5
    pd.DataFrame({
        "item": np.repeat(np.arange(n_items), 5),
        "worker": rng.integers(0, 200, n),
        "label": rng.choice(["cat", "dog", "bird"], n),
    }).to_csv(path, index=False)
    return path


def start(folder: Path, answers: Path, output: Path, *extra: str, env: dict[str, str] | None = None
          ) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRAPPER, "aggregate", str(answers), "-o", str(output),
         "--workers-out", str(folder / "workers.csv"), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=os.environ | {"PYTHONPATH": SRC} | (env or {}), cwd=folder,
    )


def signal_after_reading(proc: subprocess.Popen[str], signum: int, delay: float) -> tuple[int, str]:
    """Wait for the "reading" mark, sleep ``delay`` seconds, send ``signum``; the exit
    status and stderr."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line == "reading\n", (line, proc.stderr.read() if proc.stderr else "")
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def check_outcome(folder: Path, output: Path, signum: int, code: int, err: str) -> bool:
    """Either the command finished before the signal (exit 0, outputs written) or it
    stopped cleanly. No crash, no traceback, no temporary file, the good output kept.
    Returns whether the signal stopped it."""
    assert code >= 0, f"killed by signal {-code}: {err}"
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    if code == 0:
        assert output.read_text() != GOOD
        return False
    name = signal.Signals(signum).name
    assert code == 128 + signum, err
    assert err == f"error: interrupted by {name}.\n"
    assert output.read_text() == GOOD
    return True


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_while_writing_removes_the_partial_file(tmp_path, signum):
    answers = write_answers(tmp_path / "answers.csv", 200)
    output = tmp_path / "out.csv"
    output.write_text(GOOD)
    proc = start(tmp_path, answers, output, "-m", "majority-vote",
                 env={"SOFTLABELS_TEST_KILL_AT_WRITE": signal.Signals(signum).name})
    _, err = proc.communicate(timeout=60)
    assert check_outcome(tmp_path, output, signum, proc.returncode, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.csv", "out.csv"]


@pytest.mark.parametrize(
    ("signum", "delays"),
    [
        (signal.SIGINT, (0.0, 0.002, 0.01, 0.03)),  # while the file is opened and read
        (signal.SIGTERM, (0.0, 0.05, 0.3)),
        (signal.SIGHUP, (0.01, 0.2)),
    ],
)
def test_signal_at_various_moments_stops_cleanly(tmp_path, signum, delays):
    answers = write_answers(tmp_path / "answers.csv", 40_000)
    stopped = 0
    for delay in delays:
        output = tmp_path / "out.csv"
        output.write_text(GOOD)
        proc = start(tmp_path, answers, output, "-m", "dawid-skene", "--n-iter", "3000", "--tol", "0")
        code, err = signal_after_reading(proc, signum, delay)
        stopped += check_outcome(tmp_path, output, signum, code, err)
    assert stopped == len(delays)  # 3000 EM iterations on 200,000 answers outlast every delay
