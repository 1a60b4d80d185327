"""The loss tests use tiny tensors: one intra-op thread avoids thread-pool overhead that
dominates (and varies wildly) on busy machines."""

from __future__ import annotations

try:
    import torch
except ImportError:  # the tests here skip themselves without torch
    torch = None

if torch is not None:
    torch.set_num_threads(1)
