#!/usr/bin/env bash
# Mutation testing of the core modules with mutmut (outside CI).
#
# Usage (from the repository root):  benchmarks/mutation/run.sh [python-with-mutmut]
# Default interpreter: /work/bench-venv/bin/python (pip install mutmut into it).
# The repository is copied to a scratch folder so that mutmut's mutants/ tree and cache
# never touch the checkout; the survivors are printed and written to survivors.txt here.
set -euo pipefail
PY=${1:-/work/bench-venv/bin/python}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${MUTATION_WORKDIR:-$(mktemp -d /tmp/softlabels-mutation.XXXXXX)}
MODULES="src/softlabels/core/soft.py src/softlabels/core/validation.py src/softlabels/core/annotations.py"
TESTS="tests/core/test_soft.py tests/core/test_validation.py tests/core/test_annotations.py tests/core/test_core_pins.py"

mkdir -p "$WORK"
(cd "$ROOT" && tar --exclude=.git --exclude=mutants --exclude='*.egg-info' --exclude=__pycache__ \
  --exclude=.venv -cf - src tests pyproject.toml) | tar -xf - -C "$WORK"
cd "$WORK"
# mutmut calls test methods through its own wrapper: hypothesis must not object, and
# derandomized examples make a kill reproducible (scratch copy only)
cat >> tests/conftest.py <<'PY'

from hypothesis import HealthCheck, settings as _mut_settings
_mut_settings.register_profile("mutation", derandomize=True, deadline=None,
                               suppress_health_check=[HealthCheck.differing_executors])
_mut_settings.load_profile("mutation")
PY
{
  echo "[mutmut]"
  echo "paths_to_mutate="
  for m in $MODULES; do echo "    $m"; done
  echo "tests_dir="
  for t in $TESTS; do echo "    $t"; done
  echo "pytest_add_cli_args_test_selection="
  for t in $TESTS; do echo "    $t"; done
  echo "also_copy="
  echo "    tests/"
  echo "    src/softlabels/"
} > setup.cfg
BIN=$(dirname "$PY")
export PATH="$BIN:$PATH"
"$BIN/mutmut" run --max-children "${MUTATION_JOBS:-2}" || true
"$BIN/mutmut" results --all true > "$HERE/results_raw.txt" 2>&1 || true
echo "killed:   $(grep -c ': killed' "$HERE/results_raw.txt" || true)"
echo "survived: $(grep -c ': survived' "$HERE/results_raw.txt" || true)"
echo "other:    $(grep -vcE ': (killed|survived)' "$HERE/results_raw.txt" || true)"
echo "work folder: $WORK (mutmut show <name> there shows a mutant's diff)"
