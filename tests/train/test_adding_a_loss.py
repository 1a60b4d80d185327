"""Adding a loss is one new file: the worked example of CONTRIBUTING.md, executed.

CONTRIBUTING.md's ``brier.py`` (a Brier-score loss with its function, module and registration) is
dropped into a copy of the package's ``train/nn/losses/``; nothing else is edited. In a fresh
interpreter that imports the copy, the loss is then listed and summarised without importing
torch, created by name, equal to a hand-written formula, and covered by the registry-wide
contract tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import softlabels
from softlabels.train import list_losses

HERE = Path(__file__).resolve().parent
GUIDE = Path(__file__).resolve().parents[2] / "CONTRIBUTING.md"


def guide_file(path: str) -> str:
    """The text of the file ``path`` as CONTRIBUTING.md gives it."""
    text = GUIDE.read_text(encoding="utf-8")
    return re.search(rf"<!-- file: {re.escape(path)} -->\n```python\n(.*?)^```", text,
                     re.MULTILINE | re.DOTALL).group(1)


@pytest.fixture(scope="module")
def package_with_brier(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("src")
    src = Path(softlabels.__file__).resolve().parent
    shutil.copytree(src, root / "softlabels", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "softlabels" / "train" / "nn" / "losses" / "brier.py").write_text(
        guide_file("src/softlabels/train/nn/losses/brier.py"), encoding="utf-8")
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=root, timeout=300)


LISTING = """
import sys, softlabels.train as t
assert softlabels.train.__file__.startswith(sys.argv[1]), softlabels.train.__file__
info = t.loss_info("brier")
print(t.list_losses("b*"), len(t.list_losses()), t.loss_summary("brier"))
print(info.call, info.class_name, info.function, info.module)
print("torch" in sys.modules)
"""


def test_new_loss_file_is_listed_without_importing_torch(package_with_brier):
    out = _run(package_with_brier, "-c", "import softlabels\n" + LISTING, str(package_with_brier))
    assert out.returncode == 0, out.stderr
    n_listed = len(list_losses()) + 1  # the package's losses and brier
    assert out.stdout.splitlines() == [
        f"['best-of-heads', 'brier'] {n_listed} "
        "Brier score: squared error between softmax and target probabilities",
        "target BrierLoss brier_loss softlabels.train.nn.losses.brier",
        "False",
    ]


CREATED = """
import numpy as np, torch
from softlabels.train import create_loss, fit
from softlabels.train.nn import BrierLoss, functional
from softlabels.train.loop import loss_call_mode

z = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 3.0]])
y = np.array([0, 1])
p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
by_hand = ((p - np.eye(3)[y]) ** 2).sum(axis=1)

loss = create_loss("brier", reduction="none")
assert type(loss) is BrierLoss, type(loss)
got = loss(torch.tensor(z), torch.tensor(y))
np.testing.assert_allclose(got.numpy(), by_hand, rtol=1e-12)
soft = torch.tensor([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]], dtype=torch.float64)
q = soft.numpy()
np.testing.assert_allclose(functional.brier_loss(torch.tensor(z), soft).item(),
                           ((p - q) ** 2).sum(axis=1).mean(), rtol=1e-12)
assert loss_call_mode(create_loss("brier")) == "target"
print("ok", round(float(by_hand.mean()), 6))
"""


def test_new_loss_is_created_by_name_and_matches_the_formula(package_with_brier):
    pytest.importorskip("torch")
    out = _run(package_with_brier, "-c", CREATED)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "0.909427"]  # (0.07823 + 1.74062) / 2, worked by hand


@pytest.mark.slow  # about 4 s: a fresh interpreter imports torch and runs pytest
def test_new_loss_gets_the_contract_tests(package_with_brier):
    """The registry-wide tests pick the new loss up by its call convention, with no table
    edited (here run from the copied package)."""
    pytest.importorskip("torch")
    out = _run(package_with_brier, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--rootdir", str(HERE), str(HERE / "test_loss_contract.py"), "-k", "brier")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "11 passed" in out.stdout, out.stdout[-1000:]
