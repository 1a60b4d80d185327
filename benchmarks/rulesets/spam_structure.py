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


def n_words(text: pd.Series) -> np.ndarray:
    return text.str.split().str.len().fillna(0).to_numpy()


@vectorised("url")
def url(text: pd.Series) -> np.ndarray:
    return np.where(has(r"https?://|www\.|\.com\b|\.ly/", text), SPAM, ABSTAIN)


@vectorised("check_out")
def check_out(text: pd.Series) -> np.ndarray:
    return np.where(has(r"check\s+(?:it\s+)?out|check my", text), SPAM, ABSTAIN)


@vectorised("my_channel")
def my_channel(text: pd.Series) -> np.ndarray:
    return np.where(has(r"\bmy\s+(?:\w+\s+)?(?:channel|video|page)", text), SPAM, ABSTAIN)


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


@vectorised("emoticon")
def emoticon(text: pd.Series) -> np.ndarray:
    return np.where(has(r"[:;]-?[)(dp]\b|<3|&lt;3", text), HAM, ABSTAIN)


@vectorised("digits_run")
def digits_run(text: pd.Series) -> np.ndarray:
    """Phone numbers, prices, counts of followers."""
    return np.where(has(r"\d{4,}|\$\s?\d", text), SPAM, ABSTAIN)


@vectorised("second_person_request")
def second_person_request(text: pd.Series) -> np.ndarray:
    return np.where(has(r"\b(?:you|u)\s+(?:should|can|will|need)\b|\bif you\b", text), SPAM, ABSTAIN)


RULES = [url, check_out, my_channel, long, very_short, medium_short, shouting, exclamations,
         question, emoticon, digits_run, second_person_request]
