#!/usr/bin/env bash
# Glance 33 on ROME (issue 3): the shared Glance suites, and the project's own Glance tests, in the peers
# virtualenv (Glance 33.0.0, its test requirements, real clients). What CI runs for the Glance work.
#
#   scripts/glance_suites.sh              every step below
#   scripts/glance_suites.sh db api       only these steps (names: db, api, tests)
#
# Steps (each a separate process; a failing step does not stop the others):
#   db     ../shared/checks/glance_db_suite.py on rome+memory://, on rome+lmdb (a fresh folder) and on
#          rome+etcd (a throwaway 3-member cluster, tests/etcd_cluster.py, when etcd is installed):
#          Glance's DB functional suite, 252 tests, all must pass
#   api    ../shared/checks/glance_api_suite.py 'rome+lmdb:///{dir}/rome' --expect-failures
#          ../shared/checks/glance_api_sqlite_failures.txt: Glance's v2 API functional suite with its
#          schema made by Glance's migrations on ROME; every test that passes on sqlite must pass
#   tests  the project's tests/glance (rome glance serve driven by openstacksdk, the glance CLI and raw
#          HTTP; glance-manage against sqlite; rome copy; oslo.db filters) on ROME's LMDB, xdist
#
# The peers venv (.peers-venv, or $PEERS_VENV) is reused when it has Glance 33.0.0, the clients and the
# project installed (-e) from this checkout; otherwise ../shared/checks/peers-venv.sh builds it (a few
# minutes). pytest and pytest-xdist are then installed into it if missing.
#
# Environment: SHARED (default ../shared, relative to the repository root), PEERS_VENV (default
# .peers-venv), ROME_GLANCE_JOBS (xdist workers for 'tests', default 2), and time limits per step in
# seconds: ROME_GLANCE_DB_TIMEOUT (480, each DB suite; ROME_GLANCE_DB_ETCD_TIMEOUT 900 on etcd),
# ROME_GLANCE_API_TIMEOUT (900),
# ROME_GLANCE_TESTS_TIMEOUT (600). Typical times on 2 cores: DB suites 1-1.5 min each, API suite 4-6
# min, tests/glance 2-2.5 min, building the peers venv a few minutes.
# Exit status 0 only when every step passed; last line:
#   'glance_suites.sh: N steps, K ok, F failed in Ss'
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${SHARED:-$ROOT/../shared}
CHECKS=$(cd "$SHARED/checks" 2>/dev/null && pwd) || { echo "glance_suites.sh: no $SHARED/checks (set SHARED)" >&2; exit 2; }
VENV=${PEERS_VENV:-.peers-venv}
[[ $VENV == /* ]] || VENV=$ROOT/$VENV
JOBS=${ROME_GLANCE_JOBS:-2}
# per-step time limits, seconds (about 3x what each takes on 2 busy cores: a hung or retrying suite must
# not eat the CI budget)
T_DB=${ROME_GLANCE_DB_TIMEOUT:-480}
T_DB_ETCD=${ROME_GLANCE_DB_ETCD_TIMEOUT:-900}   # every commit replicated by Raft: about twice LMDB's time
T_API=${ROME_GLANCE_API_TIMEOUT:-900}
T_TESTS=${ROME_GLANCE_TESTS_TIMEOUT:-600}

STEPS=("$@")
[[ ${#STEPS[@]} -gt 0 ]] || STEPS=(db api tests)
for s in "${STEPS[@]}"; do
  case $s in
    db|api|tests) ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "glance_suites.sh: unknown step $s (db, api, tests)" >&2; exit 2 ;;
  esac
done
want() { local s; for s in "${STEPS[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

START=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rome-glance-suites.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
NAMES=() STATUS=() LINES=() TIMES=()
FAILED=0

# run_step NAME DIR TIMEOUT COMMAND...: runs COMMAND in DIR (killed after TIMEOUT seconds), records its
# status and its last output line
run_step() {
  local name=$1 dir=$2 limit=$3; shift 3
  local log="$WORK/step-${#NAMES[@]}.log" t0=$SECONDS rc
  echo
  echo "################ $name: (cd $dir && $*)"
  (cd "$dir" && exec timeout --kill-after=30 "$limit" "$@") > "$log" 2>&1
  rc=$?
  [[ $rc == 124 || $rc == 137 ]] && printf '\nglance_suites.sh: %s: killed after %ss\n' "$name" "$limit" >> "$log"
  # the suites report on stdout and write unittest's progress and many warnings on stderr: on success
  # show the summary lines, on failure the end of the log without the warnings
  if [[ $rc == 0 ]]; then
    grep -E '^(Ran [0-9]+ tests|OK|glance-(db|api)-suite|=+ .* =+$|[0-9]+ passed)' "$log" | tail -n 5
  else
    grep -vE 'Warning|warn\(|^\s*$|ventlet|framework|we strongly recommend|__import__|^setup plugin' "$log" \
      | tail -n 120
  fi
  local line
  line=$(grep -E '^(glance-(db|api)-suite .*passed|=+ .*(passed|failed|error).* =+)$' "$log" | tail -n 1 \
         | sed -E 's/^=+ //; s/ =+$//')
  [[ -n "$line" ]] || line=$(tail -n 1 "$log")
  if [[ $rc == 0 ]]; then STATUS+=("ok"); else STATUS+=("FAILED (exit $rc)"); FAILED=$((FAILED + 1)); fi
  NAMES+=("$name") LINES+=("$line") TIMES+=($((SECONDS - t0)))
}

# ---- the peers venv ---------------------------------------------------------------------------------
venv_ok() {
  [[ -x $VENV/bin/python && -e $VENV/run/glance ]] || return 1
  "$VENV/bin/python" - "$ROOT" <<'EOF' 2>/dev/null
import os, sys
from importlib.metadata import version
import glance, gunicorn, openstack, glanceclient, oslotest  # noqa: F401
import rome
assert version("glance") == "33.0.0", version("glance")
root = os.path.realpath(sys.argv[1])
assert os.path.realpath(rome.__file__).startswith(root + os.sep), rome.__file__  # this checkout, -e
EOF
}

echo "################ peers venv: $VENV"
t0=$SECONDS
if venv_ok; then
  echo "reusing $VENV"
else
  echo "building $VENV with $CHECKS/peers-venv.sh (Glance 33.0.0 and its test requirements; minutes)"
  if ! bash "$CHECKS/peers-venv.sh" "$VENV" || ! venv_ok; then
    echo "glance_suites.sh: could not build the peers venv $VENV" >&2
    echo "glance_suites.sh: 0 steps, 0 ok, 1 failed in $((SECONDS - START))s"
    exit 1
  fi
fi
if ! "$VENV/bin/python" -c "import pytest, xdist" 2>/dev/null; then
  "$VENV/bin/python" -m pip install -q pytest pytest-xdist || { echo "glance_suites.sh: cannot install pytest" >&2; exit 1; }
fi
if command -v etcd >/dev/null 2>&1 && ! "$VENV/bin/python" -c "import etcd3gw" 2>/dev/null; then
  "$VENV/bin/python" -m pip install -q etcd3gw || { echo "glance_suites.sh: cannot install etcd3gw" >&2; exit 1; }
fi
"$VENV/bin/python" -m pip list 2>/dev/null | grep -iE '^(glance|rome-sql|sqlalchemy|alembic|oslo\.db|pytest) ' || true
echo "(peers venv ready in $((SECONDS - t0))s)"
PY=$VENV/bin/python

# ---- the steps ----------------------------------------------------------------------------------------
if want db; then
  run_step "glance DB suite on rome+memory" "$VENV/run" "$T_DB" "$PY" "$CHECKS/glance_db_suite.py" 'rome+memory://'
  mkdir -p "$WORK/db-lmdb"
  run_step "glance DB suite on rome+lmdb" "$VENV/run" "$T_DB" "$PY" "$CHECKS/glance_db_suite.py" \
    "rome+lmdb:///$WORK/db-lmdb/rome"
  if command -v etcd >/dev/null 2>&1; then
    run_step "glance DB suite on rome+etcd" "$VENV/run" "$T_DB_ETCD" "$PY" "$ROOT/tests/etcd_cluster.py" -- "$PY" \
      "$CHECKS/glance_db_suite.py" 'rome+etcd://127.0.0.1:{port}/?{endpoints}&prefix=glance&max_txn_ops=10000&max_request_bytes=8388608'
  fi
fi
if want api; then
  run_step "glance API suite on rome+lmdb" "$VENV/run" "$T_API" "$PY" "$CHECKS/glance_api_suite.py" \
    'rome+lmdb:///{dir}/rome' --expect-failures "$CHECKS/glance_api_sqlite_failures.txt"
fi
if want tests; then
  XDIST=(-n "$JOBS")
  [[ $JOBS == 0 || $JOBS == 1 ]] && XDIST=()
  run_step "tests/glance on rome+lmdb" "$ROOT" "$T_TESTS" env ROME_GLANCE_URL='rome+lmdb:///{dir}/rome' \
    "$PY" -m pytest -p no:cacheprovider tests/glance "${XDIST[@]}" -q -rfE
fi

echo
echo "################ summary"
for i in "${!NAMES[@]}"; do
  printf '  %-36s %-16s %5ss  %s\n' "${NAMES[$i]}" "${STATUS[$i]}" "${TIMES[$i]}" "${LINES[$i]}"
done
echo "glance_suites.sh: ${#NAMES[@]} steps, $((${#NAMES[@]} - FAILED)) ok, $FAILED failed in $((SECONDS - START))s"
[[ $FAILED == 0 ]]
