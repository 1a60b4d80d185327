"""Comment spam, keyword style: one rule per word family typical of comment spam
(self-promotion, requests, giveaways) or of ordinary comments on a music video
(the song, the singer, nostalgia). Written from general knowledge of comment spam, not
from the files it is scored on. SPAM = 1, HAM = 0."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from softlabels.infer.rules import labeling_function

ABSTAIN, HAM, SPAM = -1, 0, 1


def keyword(name: str, words: list[str], label: int):  # type: ignore[no-untyped-def]
    pattern = r"\b(?:" + "|".join(words) + r")\b"

    def rule(text: pd.Series) -> np.ndarray:
        hit = text.str.contains(pattern, flags=re.IGNORECASE, regex=True, na=False)
        return np.where(hit.to_numpy(), label, ABSTAIN)

    return labeling_function(name=name, column="CONTENT", vectorized=True)(rule)


RULES = [
    keyword("kw_subscribe", ["subscribe", "subscribers?", "sub4sub", "subs"], SPAM),
    keyword("kw_channel", ["channel", "channels"], SPAM),
    keyword("kw_check", ["check", "visit", "go to"], SPAM),
    keyword("kw_please", ["please", "plz", "pls"], SPAM),
    keyword("kw_giveaway", ["free", "win", "money", "gift", "cash", "earn", "offer"], SPAM),
    keyword("kw_follow", ["follow", "share", "twitter", "facebook", "instagram"], SPAM),
    keyword("kw_music_career", ["rapper", "singer", "producer", "my music", "my song", "cover"], SPAM),
    keyword("kw_song", ["song", "songs", "lyrics", "beat", "voice"], HAM),
    keyword("kw_love", ["love", "loved", "awesome", "amazing", "beautiful", "best"], HAM),
    keyword("kw_nostalgia", ["2014", "2015", "still", "remember", "years", "childhood"], HAM),
    keyword("kw_laugh", ["lol", "haha", "hahaha", "lmao", "funny"], HAM),
    keyword("kw_artist", ["psy", "katy", "perry", "eminem", "shakira", "lmfao", "rihanna"], HAM),
]
