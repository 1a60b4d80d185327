"""Turn `mutmut show` diffs of the survivors into RESULTS.md's survivor table.

Usage: python summarize.py DIFFS RESULTS_RAW > survivors.md, where DIFFS holds, per
survivor, a line "=== name" followed by the -/+ lines of `mutmut show name`.
Each survivor gets a one-line reason from the kind of change (heuristic; "review" marks
the ones no rule explains).
"""

from __future__ import annotations

import re
import sys


#: Survivors reviewed one by one and found equivalent: no observable behaviour changes.
EQUIVALENT = {
    "soft.x.SoftLabels.__repr____mutmut_3": "default None instead of '': both falsy, the method part is left out either way",
    "soft.x.SoftLabels.__repr____mutmut_5": "default None instead of '': both falsy, the method part is left out either way",
    "soft.x.SoftLabels.to_parquet__mutmut_3": "preserve_index=None keeps a RangeIndex as metadata only: same columns, same frame read back",
    "soft.x.SoftLabels.to_parquet__mutmut_5": "preserve_index=None (the default) keeps a RangeIndex as metadata only: same columns, same frame read back",
    "soft.x.SoftLabels.to_parquet__mutmut_9": "without pandas' metadata the columns (int/str ids, floats) read back with the same dtypes",
    "soft.x.SoftLabels.read_parquet__mutmut_19": "default format version 1 instead of 0: both <= the current version",
    "soft.x.SoftLabels.to_csv__mutmut_4": "index=None is falsy: pandas writes no index either way",
    "soft.x.SoftLabels.to_csv__mutmut_7": "float_format=None is pandas' default",
    "soft.x.SoftLabels.read_csv__mutmut_5": "read_table infers csv from the extension; any other extension is also read as CSV text",
    "soft.x.SoftLabels.read_csv__mutmut_8": "read_table infers csv from the extension; any other extension is also read as CSV text",
    "validation.x_suggest__mutmut_8": "n=3 is difflib's default",
    "validation.x_check_random_state__mutmut_13": "randint(high) draws from [0, high) like randint(0, high)",
    "validation.x_check_random_state__mutmut_20": "differs only when the masked draw is exactly 2**31 - 2 (probability 2**-31)",
    "validation.x_check_probs__mutmut_63": "slack is read only when repairing",
    "validation.x_check_probs__mutmut_64": "slack is read only when repairing",
    "annotations.x__index_dtype__mutmut_3": "at n = 2**31 - 1 the codes (<= n - 1) fit int32 either way",
    "annotations.x__sort_order__mutmut_2": "sorts unique values of one type (classes, ids): no ties, so stability cannot matter",
    "annotations.x__sort_order__mutmut_4": "sorts unique values of one type (classes, ids): no ties, so stability cannot matter",
    "annotations.x__first_missing__mutmut_28": "the position is read only when a value is missing",
    "annotations.x__first_missing__mutmut_29": "the position is read only when a value is missing",
}
for _n in (101, 103, 107, 109):
    EQUIVALENT[f"annotations.x.Annotations.from_frame__mutmut_{_n}"] = "sort=False is pd.factorize's default (None is falsy)"
for _n in range(167, 189):
    EQUIVALENT[f"annotations.x.Annotations.from_frame__mutmut_{_n}"] = "astype copy flag: the codes are fresh arrays, a copy changes nothing observable"


def reason(old: str, new: str, name: str = "") -> str:
    if name in EQUIVALENT:
        return "equivalent: " + EQUIVALENT[name]
    strip = lambda s: re.sub(r"(['\"])(?:\\.|(?!\1).)*\1", "S", s)  # noqa: E731
    if strip(old) == strip(new):
        if "XX" in new or new.lower() != new and old.lower() == new.lower() or old.lower() == new.lower():
            return "message text only: tests match part of the error message, not its wording/case"
        return "string literal changed: message text, or a name only shown in messages"
    if re.search(r"name=None|, \)", new) and "name" in old:
        return "name argument dropped: it only appears in error messages"
    if "stacklevel" in old or "stacklevel" in new:
        return "warning stacklevel: tests do not check which line a warning points to"
    if re.search(r"\bdtype\b", old):
        return "dtype change with equal values: tests compare values, not dtypes"
    if "repr(None)" in new or "__repr__" in old:
        return "repr text: tests check parts of the repr only"
    return "review: behaviour change not covered by the fast subset"


def main(diffs: str, raw: str) -> None:
    entries, name, minus, plus = [], None, [], []
    for line in open(diffs, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("=== "):
            if name:
                entries.append((name, " ".join(minus), " ".join(plus)))
            name, minus, plus = line[4:], [], []
        elif line.startswith("- "):
            minus.append(line[1:].strip())
        elif line.startswith("+ "):
            plus.append(line[1:].strip())
    if name:
        entries.append((name, " ".join(minus), " ".join(plus)))
    print("| mutant | change | why it survives |")
    print("| --- | --- | --- |")
    for n, old, new in entries:
        short = n.replace("softlabels.core.", "").replace("ǁ", ".")
        change = f"`{old[:70]}` → `{new[:70]}`".replace("|", "\\|")
        print(f"| {short} | {change} | {reason(old, new, short)} |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
