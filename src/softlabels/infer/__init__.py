"""Inference: turn imperfect supervision into SoftLabels."""

from softlabels.infer.registry import create_method, list_methods

__all__ = ["create_method", "list_methods"]
