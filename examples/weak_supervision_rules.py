"""Label comments with labeling rules instead of annotators: apply the rules, look at
how they vote, and fit a label model that turns the votes into soft labels.

Run: python examples/weak_supervision_rules.py
"""

import pandas as pd

from softlabels.infer.rules import LabelModel, analyze_rules, apply_rules, labeling_function
from softlabels.infer.rules.examples import HAM, SPAM, SPAM_RULES

comments = pd.DataFrame({"CONTENT": [
    "Check out my channel http://example.com/videos please subscribe!!",
    "This song never gets old <3",
    "I love this song so much",
    "subscribe to me and I will sub back",
    "lol the dance at 2:10",
    "Earn money from home, visit www.example.net",
    "who is still listening in 2025?",
    "My new video is up, please like and share",
    "best music video ever",
    "Wow",
    "please check my cover of this song, I'm a young singer",
    "Amazing voice, amazing song",
]})


@labeling_function(name="question", column="CONTENT")
def question(text):
    """A question about the video is usually a fan talking (ham)."""
    return HAM if text.strip().endswith("?") else -1


rules = [*SPAM_RULES, question]
votes = apply_rules(rules, comments, classes=2)  # one column per rule, -1 = abstain
print(analyze_rules(votes).round(2).to_string())

model = LabelModel().fit(votes)  # per-rule accuracies pooled towards a shared one
soft = model.soft_labels_
table = comments.assign(spam=soft.probs[:, SPAM].round(3), votes=soft.support.astype(int))
print("\nfitted rule accuracies")
print(model.reliability_frame().round(3).to_string(index=False))
print(f"P(spam) of a comment no rule votes on: {model.uncovered_probs_[SPAM]:.3f}")
print(table.to_string(index=False, max_colwidth=50))
