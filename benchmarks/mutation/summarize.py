"""Turn `mutmut show` diffs of the survivors into RESULTS.md's survivor table.

Usage: python summarize.py DIFFS RESULTS_RAW > survivors.md, where DIFFS holds, per
survivor, a line "=== name" followed by the -/+ lines of `mutmut show name`.
Each survivor gets a one-line reason from the kind of change (heuristic; "review" marks
the ones no rule explains).
"""

from __future__ import annotations

import re
import sys


def reason(old: str, new: str) -> str:
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
        print(f"| {short} | {change} | {reason(old, new)} |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
