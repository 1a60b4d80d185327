"""Print "=== name" and the diff of every survivor in results_raw.txt, in one process.

Usage (in the mutmut work folder, with the interpreter that has mutmut):
    python diffs.py RESULTS_RAW > diffs.txt
(`mutmut show NAME` starts a new interpreter per mutant: minutes for a few hundred.)
"""

from __future__ import annotations

import sys

from mutmut.mutation.diff_apply import find_mutant
from mutmut.mutation.diff_apply import get_diff_for_mutant  # noqa: E402


def main(raw: str) -> None:
    for line in open(raw, encoding="utf-8"):
        name, _, status = line.strip().rpartition(": ")
        if status != "survived":
            continue
        print(f"=== {name}")
        print(get_diff_for_mutant(name, path=find_mutant(name).path))


if __name__ == "__main__":
    main(sys.argv[1])
