"""softlabels stays torch-free; softlabels.train.nn says which extra to install."""

from __future__ import annotations

import subprocess
import sys

from softlabels.train._loss_index import loss_index


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_import_softlabels_and_listing_losses_do_not_load_torch():
    out = _run(
        "import sys, softlabels, softlabels.train as t\n"
        "names = t.list_losses()\n"
        "print(len(names), t.loss_summary('kd')[:5], 'torch' in sys.modules)"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(len(loss_index())), "Hinto", "False"]


SHIM = "import sys\nsys.modules['torch'] = None\n"


def test_train_nn_without_torch_names_the_extra():
    out = _run(SHIM + "import softlabels.train.nn")
    assert out.returncode != 0
    assert "ImportError: 'torch' is required here: pip install 'softlabels[torch]'" in out.stderr


def test_create_loss_without_torch_names_the_extra():
    out = _run(SHIM + "from softlabels.train import create_loss\ncreate_loss('kd')")
    assert out.returncode != 0
    assert "pip install 'softlabels[torch]'" in out.stderr
    out = _run(SHIM + "from softlabels.train import create_loss\ncreate_loss('kdd')")
    assert "Did you mean 'kd'" in out.stderr  # unknown names fail before any import


def test_fit_and_sklearn_wrapper_without_torch_name_the_extra():
    out = _run(SHIM + "from softlabels.train import fit")
    assert out.returncode != 0
    assert "ImportError: 'torch' is required here: pip install 'softlabels[torch]'" in out.stderr
