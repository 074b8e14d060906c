#!/usr/bin/env bash
# The shared scaling check (../shared/checks/scaling.py) on ROME's URLs: SQLAlchemy Core queries on
# 1,000 and 50,000 rows; an index-driven engine costs the same at both sizes (growth <= 2, aim <= 1.3),
# and bulk insert is compared with sqlite's rows/s. Each run's last line is its verdict.
#
#   bash bench/run_checks.sh [SMALL LARGE]        (from the repository root or anywhere)
# Environment: PYTHON (default .venv/bin/python if present, else python3); ROME_SHARED (default
# <repo>/../shared, where the checks live next to the repository on CI and here).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${ROME_SHARED:-$ROOT/../shared}
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi
SCALING=$SHARED/checks/scaling.py
[[ -f $SCALING ]] || { echo "run_checks: $SCALING not found (set ROME_SHARED)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rome-checks.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
rc=0
verdicts=()
# scaling.py fills {n} (a fresh database per size); $TMP is absolute, so lmdb gets four slashes
for template in "rome+lmdb:///$TMP/scaling-{n}" "rome+memory:///scaling-{n}"; do
  echo "== scaling.py $template $*"
  out=$("$PYTHON" "$SCALING" "$template" "$@" 2>&1) || rc=1
  echo "$out"
  verdicts+=("$(echo "$out" | tail -n 1)")
done
echo
echo "== verdicts"
printf '  %s\n' "${verdicts[@]}"
exit $rc
