"""Comment spam, structural style: links, length, capitals, exclamation marks,
"check out", channel mentions and other surface features. Written from general
knowledge of comment spam, not from the files it is scored on. SPAM = 1, HAM = 0.

Many comments of the collection carry a byte-order mark (U+FEFF) at the end; the rules
strip it first (seen from the rules' coverage, which needs no labels: with it an
end-of-text rule never fired)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from softlabels.infer.rules import labeling_function

ABSTAIN, HAM, SPAM = -1, 0, 1


def vectorised(name: str):  # type: ignore[no-untyped-def]
    def wrap(func):  # type: ignore[no-untyped-def]
        def rule(text: pd.Series) -> np.ndarray:
            return func(text.str.replace("\ufeff", "", regex=False).str.strip())

        rule.__name__ = func.__name__
        return labeling_function(name=name, column="CONTENT", vectorized=True)(rule)

    return wrap


def has(pattern: str, text: pd.Series) -> np.ndarray:
    return text.str.contains(pattern, flags=re.IGNORECASE, regex=True, na=False).to_numpy()


def pattern(name: str, regex: str, label: int):  # type: ignore[no-untyped-def]
    """A rule voting ``label`` where ``regex`` occurs (case-insensitive)."""

    def rule(text: pd.Series) -> np.ndarray:
        return np.where(has(regex, text), label, ABSTAIN)

    rule.__name__ = name
    return vectorised(name)(rule)


url = pattern("url", r"https?://|www\.|\.com\b|\.ly/", SPAM)
check_out = pattern("check_out", r"check\s+(?:it\s+)?out|check my", SPAM)
my_channel = pattern("my_channel", r"\bmy\s+(?:\w+\s+)?(?:channel|video|page)", SPAM)
emoticon = pattern("emoticon", r"[:;]-?[)(dp]\b|<3|&lt;3", HAM)
#: phone numbers, prices, counts of followers
digits_run = pattern("digits_run", r"\d{4,}|\$\s?\d", SPAM)
second_person_request = pattern(
    "second_person_request", r"\b(?:you|u)\s+(?:should|can|will|need)\b|\bif you\b", SPAM
)


def n_words(text: pd.Series) -> np.ndarray:
    return text.str.split().str.len().fillna(0).to_numpy()


@vectorised("long")
def long(text: pd.Series) -> np.ndarray:
    return np.where(n_words(text) > 30, SPAM, ABSTAIN)


@vectorised("very_short")
def very_short(text: pd.Series) -> np.ndarray:
    return np.where(n_words(text) <= 4, HAM, ABSTAIN)


@vectorised("medium_short")
def medium_short(text: pd.Series) -> np.ndarray:
    words = n_words(text)
    return np.where((words > 4) & (words <= 10), HAM, ABSTAIN)


@vectorised("shouting")
def shouting(text: pd.Series) -> np.ndarray:
    letters = text.str.count(r"[A-Za-z]").to_numpy()
    caps = text.str.count(r"[A-Z]").to_numpy()
    return np.where((letters >= 20) & (caps > 0.5 * letters), SPAM, ABSTAIN)


@vectorised("exclamations")
def exclamations(text: pd.Series) -> np.ndarray:
    return np.where(text.str.count("!").to_numpy() >= 3, SPAM, ABSTAIN)


@vectorised("question")
def question(text: pd.Series) -> np.ndarray:
    """A question about the video reads like a viewer, not an advertiser."""
    return np.where(has(r"\?\s*$", text) & (n_words(text) <= 15), HAM, ABSTAIN)


RULES = [url, check_out, my_channel, long, very_short, medium_short, shouting, exclamations,
         question, emoticon, digits_run, second_person_request]
