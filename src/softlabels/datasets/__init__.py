"""Data for examples, tests and benchmarks: synthetic crowds with known truth, and a
real crowd data set bundled with the package."""

from softlabels.datasets.sample import load_adult3
from softlabels.datasets.synthetic import make_crowd

__all__ = ["load_adult3", "make_crowd"]
