"""Example labeling functions: YouTube comment spam (``SPAM = 1``, ``HAM = 0``).

Two rule sets for the comment text (a ``CONTENT`` column, as in the YouTube Spam
Collection of Alberto et al., 2015):

- :data:`SPAM_RULES`: twelve keyword, regex, length and link rules, vectorised;
- :data:`SPAM_RULES_SMALL`: six cruder single-keyword rules (fewer, noisier).

This file is also a valid ``--rules`` file for ``softlabels rules apply`` (its
``RULES`` list is :data:`SPAM_RULES`)::

    softlabels rules apply --rules examples.py --data comments.csv -o votes.csv
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from softlabels.infer.rules._functions import labeling_function

__all__ = ["HAM", "SPAM", "RULES", "SPAM_RULES", "SPAM_RULES_SMALL"]

ABSTAIN, HAM, SPAM = -1, 0, 1


def _matches(pattern: str, text: pd.Series) -> np.ndarray:
    return text.str.contains(pattern, flags=re.IGNORECASE, regex=True, na=False).to_numpy()


def _rule(name: str, pattern: str, label: int):  # type: ignore[no-untyped-def]
    """A vectorised rule voting ``label`` when the regex ``pattern`` occurs."""

    def rule(text: pd.Series) -> np.ndarray:
        return np.where(_matches(pattern, text), label, ABSTAIN)

    rule.__name__ = name
    return labeling_function(name=name, column="CONTENT", vectorized=True)(rule)


# ---------------------------------------------------------------------- main set
link = _rule("link", r"https?://|www\.|\.(?:com|net|org|ly)\b|youtu\.be|watch\?v=", SPAM)
check_out = _rule("check_out", r"\bcheck\s*(?:it\s*)?out\b|\bcheck (?:my|our)\b", SPAM)
subscribe = _rule("subscribe", r"subscri|\bsub (?:to|4|for)\b|\bsub back\b", SPAM)
my_stuff = _rule(
    "my_stuff",
    r"\bmy\s+(?:new\s+)?(?:channel|page|video|vids?|songs?|music|blog|site|website|"
    r"playlist|account|band|cover|profile)",
    SPAM,
)
request = _rule(
    "request",
    r"\b(?:please|plz|pls)\b.*\b(?:like|share|follow|visit|watch|help|support|view|add)\b|"
    r"\b(?:like|share|follow|add) (?:me|my|this comment)\b|thumbs up if",
    SPAM,
)
money = _rule(
    "money",
    r"\b(?:money|cash|earn|income|free|win|prize|gift ?card|dollars?|paypal|"
    r"work(?:ing)? from home|\$\d)",
    SPAM,
)
self_promo = _rule(
    "self_promo",
    r"\b(?:i'?m|i am) (?:a|an) (?:\d+ ?(?:yr|year)s? old )?(?:young )?(?:rapper|singer|"
    r"artist|producer|musician|youtuber)|\bmy (?:first|latest) (?:song|video|single)",
    SPAM,
)
views_talk = _rule(
    "views_talk", r"\b(?:views|billion|million)\b|\b\d{1,3}(?:[,.]\d{3}){2,}\b", HAM
)
laugh = _rule("laugh", r"\b(?:lol|lmao|haha\w*|xd)\b|:\)|:d\b|<3|&lt;3", HAM)
appreciation = _rule(
    "appreciation",
    r"\b(?:love|like|best|favou?rite|great|awesome|amazing|beautiful|catchy)\b.*"
    r"\b(?:song|music|video|track|voice|beat|dance)\b",
    HAM,
)


@labeling_function(name="short", column="CONTENT", vectorized=True)
def short(text: pd.Series) -> np.ndarray:
    """Ham when the comment has at most five words and no link."""
    few = text.str.split().str.len().fillna(0).to_numpy() <= 5
    return np.where(few & ~_matches(r"https?://|www\.|\.com\b", text), HAM, ABSTAIN)


@labeling_function(name="length", column="CONTENT", vectorized=True)
def length(text: pd.Series) -> np.ndarray:
    """Spam for long comments (over 40 words), ham for very short ones (at most 3)."""
    words = text.str.split().str.len().fillna(0).to_numpy()
    return np.where(words > 40, SPAM, np.where(words <= 3, HAM, ABSTAIN))


SPAM_RULES = [
    link,
    check_out,
    subscribe,
    my_stuff,
    request,
    money,
    self_promo,
    views_talk,
    laugh,
    appreciation,
    short,
    length,
]

# ---------------------------------------------------------------------- small, noisy set
kw_http = _rule("kw_http", r"http", SPAM)
kw_subscribe = _rule("kw_subscribe", r"subscribe", SPAM)
kw_my = _rule("kw_my", r"\bmy\b", SPAM)
kw_please = _rule("kw_please", r"\bplease\b|\bplz\b", SPAM)
kw_song = _rule("kw_song", r"\bsong\b", HAM)


@labeling_function(name="kw_short", column="CONTENT", vectorized=True)
def kw_short(text: pd.Series) -> np.ndarray:
    """Ham when the comment has fewer than five words."""
    return np.where(text.str.split().str.len().fillna(0).to_numpy() < 5, HAM, ABSTAIN)


SPAM_RULES_SMALL = [kw_http, kw_subscribe, kw_my, kw_please, kw_song, kw_short]

RULES = SPAM_RULES
