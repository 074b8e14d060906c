#!/usr/bin/env bash
# The test command (README: "Set up", second command). Runs every suite of the project as separate pytest sessions and
# ends with one pytest-style line.
#
#   scripts/test.sh            the full run (what CI runs through .ci/run)
#   scripts/test.sh --quick    the dev subset: project tests without the slow ones, a smaller
#                              differential run, stop at the first failure (a minute or two)
#
# Steps of the full run:
#   1. project tests      tests/ (unit tests per layer, engine, ORM program, differential on
#                         rome+memory, Glance unit tests), in parallel (xdist); without tests/sqla
#                         and tests/concurrency
#   2. differential lmdb  the differential test again on rome+lmdb (fewer examples)
#   2b. rome+redis        the differential and the sqla compliance suites on a throwaway redis-server
#   2c. rome+etcd         the differential, the sqla compliance suites and the concurrency tests on a
#                         throwaway 3-member etcd cluster (tests/etcd_cluster.py); the etcd store's own
#                         tests (tests/etcd: faults included) run in step 1
#   3. concurrency        tests/concurrency: processes on rome+lmdb, threads on rome+memory (serial)
#   4. sqla compliance    SQLAlchemy's and alembic's dialect suites (tests/sqla, wired in setup.cfg)
#   5. glance suites      scripts/glance_suites.sh: Glance's DB and v2 API suites on ROME, tests/glance
#   6. openstack suites   scripts/openstack_suites.sh: Keystone's and Nova's SQL suites on sqlite and
#                         ROME, compared test by test; tests/openstack (rome keystone serve, ...)
#
# Environment: PYTHON (default: .venv/bin/python if present, else python3), ROME_TEST_JOBS (xdist
# workers, default auto), and the knobs of each suite (ROME_DIFF_EXAMPLES, ROME_CONC_TX, ...).
# pytest's exit status 5 (no tests collected) counts as "no tests", not as a failure.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi
JOBS=${ROME_TEST_JOBS:-auto}
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/rome-tests.XXXXXX")
START=$SECONDS
NAMES=() STATUS=() LINES=() TIMES=()
FAILED=0

# run_step NAME COMMAND...: runs a pytest (or other) command, records its outcome and summary line
run_step() {
  local name=$1; shift
  local log="$LOGDIR/${#NAMES[@]}.log" t0=$SECONDS rc
  echo
  echo "################ $name: $*"
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E '^=+ .*(passed|failed|error|skipped|no tests ran|deselected).* =+$' "$log" | tail -n 1 \
         | sed -E 's/^=+ //; s/ =+$//')
  [[ -n "$line" ]] || line=$(tail -n 1 "$log")
  case $rc in
    0) STATUS+=("ok") ;;
    5) STATUS+=("no tests") ;;
    *) STATUS+=("FAILED (exit $rc)"); FAILED=$((FAILED + 1)) ;;
  esac
  NAMES+=("$name") LINES+=("$line") TIMES+=($((SECONDS - t0)))
  return $rc
}

skip_step() {
  NAMES+=("$1") STATUS+=("skipped") LINES+=("$2") TIMES+=(0)
  echo
  echo "################ $1: skipped ($2)"
}

PYTEST=("$PYTHON" -m pytest -p no:cacheprovider)
XDIST=(-n "$JOBS")
"$PYTHON" -c "import xdist" 2>/dev/null || XDIST=()

if [[ $QUICK == 1 ]]; then
  ROME_DIFF_EXAMPLES=${ROME_DIFF_EXAMPLES:-15} run_step "quick: project tests (not slow)" \
    "${PYTEST[@]}" tests "${XDIST[@]}" -x -m "not slow and not glance" --ignore=tests/sqla \
    --ignore=tests/openstack
else
  run_step "project tests" \
    "${PYTEST[@]}" tests "${XDIST[@]}" --ignore=tests/sqla --ignore=tests/concurrency --ignore=tests/glance \
      --ignore=tests/openstack

  # {tmp}: the harness puts each pytest (xdist) worker's LMDB in its own temporary folder
  ROME_TEST_URL='rome+lmdb:///{tmp}/diff' ROME_DIFF_EXAMPLES=${ROME_DIFF_LMDB_EXAMPLES:-25} \
    run_step "differential on rome+lmdb" "${PYTEST[@]}" tests/differential "${XDIST[@]}"

  # rome+redis: the same differential and compliance suites against a throwaway redis-server
  # (tests/redis_server.py starts it on a free port and fills in {port}); serial: one shared database.
  if command -v redis-server >/dev/null 2>&1 && "$PYTHON" -c "import redis" 2>/dev/null; then
    ROME_DIFF_EXAMPLES=${ROME_DIFF_REDIS_EXAMPLES:-25} run_step "differential on rome+redis" \
      "$PYTHON" tests/redis_server.py --env 'ROME_TEST_URL=rome+redis://127.0.0.1:{port}/0?prefix=diff' \
      -- "${PYTEST[@]}" tests/differential
    run_step "sqla compliance on rome+redis" "$PYTHON" tests/redis_server.py \
      -- "${PYTEST[@]}" tests/sqla --dburi 'rome+redis://127.0.0.1:{port}/0?prefix=sqla'
  else
    skip_step "rome+redis suites" "redis-server or the redis client is not installed"
  fi

  # rome+etcd: the same suites and the concurrency test on a throwaway 3-member cluster ({port}: the
  # first member's client port, {endpoints}: the others); each suite's database under its own prefix.
  if command -v etcd >/dev/null 2>&1 && "$PYTHON" -c "import etcd3gw" 2>/dev/null; then
    ETCD_URL='rome+etcd://127.0.0.1:{port}/?{endpoints}&max_txn_ops=10000&max_request_bytes=8388608'
    ROME_DIFF_EXAMPLES=${ROME_DIFF_ETCD_EXAMPLES:-25} run_step "differential on rome+etcd" \
      "$PYTHON" tests/etcd_cluster.py --env "ROME_TEST_URL=$ETCD_URL&prefix=diff" \
      -- "${PYTEST[@]}" tests/differential
    run_step "sqla compliance on rome+etcd" "$PYTHON" tests/etcd_cluster.py \
      -- "${PYTEST[@]}" tests/sqla --dburi "$ETCD_URL&prefix=sqla"
    ROME_CONCURRENCY_BACKENDS=etcd run_step "concurrency on rome+etcd" "$PYTHON" tests/etcd_cluster.py \
      --env "ROME_CONC_ETCD_URL=$ETCD_URL" -- "${PYTEST[@]}" tests/concurrency -rxXs
  else
    skip_step "rome+etcd suites" "etcd or the etcd3gw client is not installed"
  fi

  run_step "concurrency" "${PYTEST[@]}" tests/concurrency -rxXs

  if [[ -d tests/sqla ]]; then
    run_step "sqla compliance (SQLAlchemy + alembic suites)" "${PYTEST[@]}" tests/sqla "${XDIST[@]}"
  else
    skip_step "sqla compliance (SQLAlchemy + alembic suites)" "tests/sqla does not exist yet"
  fi

  # ---- Glance suites (issue 3): Glance's DB suite on rome+memory and rome+lmdb, its v2 API suite on
  # rome+lmdb, and tests/glance (rome glance serve with real clients), in the peers venv that
  # scripts/glance_suites.sh builds from ../shared/checks/peers-venv.sh.
  if [[ -x scripts/glance_suites.sh ]]; then
    run_step "glance suites" scripts/glance_suites.sh
  else
    skip_step "glance suites" "scripts/glance_suites.sh is missing"
  fi

  # ---- Keystone and Nova (issue 8): their SQL suites on sqlite, rome+memory and rome+lmdb, and
  # tests/openstack, in the venv scripts/openstack_suites.sh builds (.openstack-venv)
  run_step "openstack suites" scripts/openstack_suites.sh
fi

echo
echo "################ summary"
for i in "${!NAMES[@]}"; do
  printf '  %-48s %-18s %5ss  %s\n' "${NAMES[$i]}" "${STATUS[$i]}" "${TIMES[$i]}" "${LINES[$i]}"
done
ok=0
for s in "${STATUS[@]}"; do [[ $s == FAILED* ]] || ok=$((ok + 1)); done
total=$((SECONDS - START))
line="test.sh$([[ $QUICK == 1 ]] && echo ' --quick'): ${#NAMES[@]} steps, $ok ok, $FAILED failed in ${total}s"
echo "======================== $line ========================"
rm -rf "$LOGDIR"
[[ $FAILED == 0 ]]
