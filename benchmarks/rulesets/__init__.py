"""Rule sets for benchmarks/rules_suite.py: each is a list of labeling functions and
the labelled data it is scored on.

- :mod:`spam_keywords`, :mod:`spam_structure`: two independent YouTube comment spam
  rule sets (keyword rules; structural rules), written from general knowledge of
  comment spam and scored on each of the five YouTube Spam Collection files.
- :mod:`tabular`: threshold rules on single features of scikit-learn's bundled
  breast cancer, wine and iris tables; each rule's direction comes from a documented
  prior about the feature and its threshold from a feature quantile (labels unused).
"""
