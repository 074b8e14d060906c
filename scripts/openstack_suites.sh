#!/usr/bin/env bash
# Keystone 30 and Nova 34 on ROME (issue 8): their own SQL test suites, unmodified, on sqlite and on
# ROME side by side, and the project's tests that need them (tests/openstack). What CI runs for it.
#
#   scripts/openstack_suites.sh                       every step below
#   scripts/openstack_suites.sh suites                only these steps (names: suites, tests)
#   scripts/openstack_suites.sh venv                  only build (or check) the venv
#   scripts/openstack_suites.sh suites -- ARGS...     ARGS go to scripts/openstack/suites.py, e.g.
#       -- --suites keystone,nova --backends sqlite,rome+memory --failures /tmp/failures.md
#
# Steps (each a separate process; a failing step does not stop the others):
#   suites  scripts/openstack/suites.py: each suite on sqlite, rome+memory and rome+lmdb (a fresh
#           folder), under python -m subunit.run (unittest, as stestr: Nova's base TestCase removes
#           attributes pytest sets), split by class over ROME_OPENSTACK_JOBS processes. ROME gets the
#           engines through oslo.db only: scripts/openstack/sitecustomize.py wraps oslo.db's
#           create_engine (each sqlite:// engine a fresh ROME store); no service file is touched.
#           Suites: keystone (its 15 SQL backend test files), keystone-migrations (test_sql_upgrade,
#           test_sql_banned_operations, common/sql/test_upgrades), nova (db/main/test_api,
#           db/api/test_api, db/test_models, db/test_utils), nova-migrations (db/main and db/api
#           test_migrations, db/test_migration). A suite fails when a test that passes on sqlite does
#           not pass on a ROME backend (tests failing on sqlite as well are listed, not counted).
#   tests   the project's tests/openstack (oslo.db provisioning, iterdump/executescript through
#           Nova's Database fixture, rome keystone serve with openstacksdk and Glance) in this venv
#
# CI (ROME_OPENSTACK_SUBSET, default in CI: 'keystone/sqlite=2,keystone/rome+memory=2,rome+lmdb=6,
# nova/sqlite=2,nova/rome+memory=2'): the migration suites in full on sqlite and rome+memory; Keystone's
# and Nova's SQL suites on every second test class there; every sixth class on rome+lmdb. Classes are
# taken in sorted order (deterministic); the comparison covers the tests run on both sides. This keeps
# CI within its 45 minutes on 2 cores; ROME_OPENSTACK_SUBSET='' is the full run everywhere (default
# outside CI).
#
# The venv (.openstack-venv, or $OPENSTACK_VENV) is reused when it has Keystone 30.0.0, Nova 34.0.0,
# Glance 33.0.0, their test requirements and the project installed (-e) from this checkout; otherwise it
# is built (a few minutes; python-ldap builds from source: Debian's libldap2-dev and libsasl2-dev).
#
# Environment: OPENSTACK_VENV, ROME_OPENSTACK_JOBS (processes per run, default 2),
# ROME_OPENSTACK_TIMEOUT (seconds per suite and backend, default 1800), ROME_OPENSTACK_TOTAL_TIMEOUT
# (the whole suites step; in CI 1800), ROME_OPENSTACK_SUBSET, ROME_OPENSTACK_TESTS_TIMEOUT (tests step,
# default 1800).
# Exit status 0 only when every step passed; last line:
#   'openstack_suites.sh: N steps, K ok, F failed in Ss'
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${OPENSTACK_VENV:-.openstack-venv}
[[ $VENV == /* ]] || VENV=$ROOT/$VENV
JOBS=${ROME_OPENSTACK_JOBS:-2}
T_SUITE=${ROME_OPENSTACK_TIMEOUT:-1800}
T_TESTS=${ROME_OPENSTACK_TESTS_TIMEOUT:-1800}
# the whole suites step: in CI 30 minutes (the rest of scripts/test.sh takes about 11), else 12 runs' worth
if [[ ${CI:-} == true ]]; then T_ALL=${ROME_OPENSTACK_TOTAL_TIMEOUT:-1800}
else T_ALL=${ROME_OPENSTACK_TOTAL_TIMEOUT:-$((T_SUITE * 12))}
fi
if [[ -n ${ROME_OPENSTACK_SUBSET+set} ]]; then SUBSET=$ROME_OPENSTACK_SUBSET
elif [[ ${CI:-} == true ]]; then SUBSET='keystone/sqlite=2,keystone/rome+memory=2,rome+lmdb=6,nova/sqlite=2,nova/rome+memory=2'
else SUBSET=''
fi

STEPS=() EXTRA=()
while [[ $# -gt 0 ]]; do
  case $1 in
    suites|tests|venv) STEPS+=("$1") ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    *) echo "openstack_suites.sh: unknown step $1 (suites, tests, venv)" >&2; exit 2 ;;
  esac
  shift
done
[[ ${#STEPS[@]} -gt 0 ]] || STEPS=(suites tests)
want() { local s; for s in "${STEPS[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

START=$SECONDS
NAMES=() STATUS=() LINES=() TIMES=()
FAILED=0

# run_step NAME TIMEOUT COMMAND...: runs COMMAND (killed after TIMEOUT seconds), records its status and
# its last output line
run_step() {
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS rc log
  log=$(mktemp "${TMPDIR:-/tmp}/rome-openstack-step.XXXXXX")
  echo
  echo "################ $name: $*"
  timeout --kill-after=30 "$limit" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  [[ $rc == 124 || $rc == 137 ]] && echo "openstack_suites.sh: $name: killed after ${limit}s" | tee -a "$log"
  local line
  line=$(grep -E '^(openstack_suites: .*|=+ .*(passed|failed|error).* =+)$' "$log" | tail -n 1 \
         | sed -E 's/^=+ //; s/ =+$//')
  [[ -n "$line" ]] || line=$(tail -n 1 "$log")
  rm -f "$log"
  if [[ $rc == 0 ]]; then STATUS+=("ok"); else STATUS+=("FAILED (exit $rc)"); FAILED=$((FAILED + 1)); fi
  NAMES+=("$name") LINES+=("$line") TIMES+=($((SECONDS - t0)))
}

# ---- the venv -------------------------------------------------------------------------------------------
PACKAGES=(keystone==30.0.0 nova==34.0.0 glance==33.0.0
  # Keystone's and Nova's test requirements (test-requirements.txt of each, without linters/coverage)
  python-ldap ldappool 'oslo.db[fixtures]' stestr python-subunit freezegun fixtures lxml oslotest WebTest
  testtools testresources testscenarios ddt requests requests-mock osprofiler wsgi-intercept
  python-barbicanclient
  # rome keystone serve / rome glance serve and their clients
  gunicorn openstacksdk python-glanceclient
  pytest pytest-xdist redis hiredis)

venv_ok() {
  [[ -x $VENV/bin/python ]] || return 1
  "$VENV/bin/python" - "$ROOT" <<'EOF' 2>/dev/null
import os, sys
from importlib.metadata import version
import glance, gunicorn, keystone, ldap, nova, openstack, oslotest, pytest, subunit, testresources  # noqa
import rome
for name, want in (("keystone", "30.0.0"), ("nova", "34.0.0"), ("glance", "33.0.0")):
    assert version(name) == want, (name, version(name))
root = os.path.realpath(sys.argv[1])
assert os.path.realpath(rome.__file__).startswith(root + os.sep), rome.__file__  # this checkout, -e
EOF
}

echo "################ OpenStack venv: $VENV"
t0=$SECONDS
if venv_ok; then
  echo "reusing $VENV"
else
  echo "building $VENV (Keystone 30.0.0, Nova 34.0.0, Glance 33.0.0 and their test requirements; minutes)"
  python3 -m venv "$VENV" && "$VENV/bin/python" -m pip install -q --upgrade pip \
    && "$VENV/bin/python" -m pip install -q -e "$ROOT" "${PACKAGES[@]}"
  if ! venv_ok; then
    echo "openstack_suites.sh: could not build the venv $VENV" >&2
    echo "openstack_suites.sh: 0 steps, 0 ok, 1 failed in $((SECONDS - START))s"
    exit 1
  fi
fi
"$VENV/bin/python" -m pip list 2>/dev/null | grep -iE '^(keystone|nova|glance|rome|sqlalchemy|alembic|oslo\.db) ' || true
echo "(venv ready in $((SECONDS - t0))s)"
PY=$VENV/bin/python
if [[ ${STEPS[*]} == venv ]]; then
  echo "openstack_suites.sh: venv ready in $((SECONDS - START))s"
  exit 0
fi

# ---- the steps ----------------------------------------------------------------------------------------
if want suites; then
  ARGS=(--jobs "$JOBS" --timeout "$T_SUITE")
  [[ -n $SUBSET ]] && ARGS+=(--subset "$SUBSET")
  run_step "keystone and nova suites on sqlite and ROME" "$T_ALL" \
    "$PY" scripts/openstack/suites.py "${ARGS[@]}" "${EXTRA[@]}"
fi
if want tests; then
  XDIST=(-n "$JOBS")
  [[ $JOBS == 0 || $JOBS == 1 ]] && XDIST=()
  # Nova's test package monkey-patches with eventlet when imported, which deadlocks pytest-xdist's
  # workers: its Database fixture test runs in a process of its own, without xdist.
  NOVA_FIXTURE=tests/openstack/test_nova_database_fixture.py
  run_step "tests/openstack" "$T_TESTS" "$PY" -m pytest -p no:cacheprovider tests/openstack \
    --ignore="$NOVA_FIXTURE" "${XDIST[@]}" -q -rfE
  run_step "tests/openstack (Nova's Database fixture)" "$T_TESTS" "$PY" -m pytest -p no:cacheprovider \
    -p no:xdist "$NOVA_FIXTURE" -q -rfE
fi

echo
echo "################ summary"
for i in "${!NAMES[@]}"; do
  printf '  %-44s %-16s %5ss  %s\n' "${NAMES[$i]}" "${STATUS[$i]}" "${TIMES[$i]}" "${LINES[$i]}"
done
echo "openstack_suites.sh: ${#NAMES[@]} steps, $((${#NAMES[@]} - FAILED)) ok, $FAILED failed in $((SECONDS - START))s"
[[ $FAILED == 0 ]]
