#!/usr/bin/env bash
# The stress suite (`make stress`; not part of `make test`, which runs a reduced version of each
# part through the defaults): crash points, a conflict storm, the domain properties under the
# Hypothesis `stress` profile, and the controller integration suite run again and again.
#
# Sizes come from the environment so a quick check can shrink them:
#   FERRYMAN_CRASH_RUNS (1000)   seeded crash-point runs (tests/unit/controller/test_crash_points.py)
#   FERRYMAN_CONFLICT_RUNS (10000) seeded 30%-409 interleavings (tests/unit/controller/test_conflicts.py)
#   FERRYMAN_GIT_CRASH_RUNS (200) seeded crash-point runs over real Git
#                                  (tests/integration/git/test_controller_crash_points.py)
#   FERRYMAN_CRASH_MATRIX (full)   every checkpoint x n in {1,2,3} as a real SIGKILL of
#                                  `ferryman controller` (tests/integration/processes/test_crash_points.py;
#                                  `make test` runs a sample)
#   FUZZ_EXAMPLES (25000)          examples per fuzz property, 4 properties, straight into the ASGI
#                                  app (tests/unit/server/test_fuzz.py; the promotion hook's rate limit
#                                  is off there); the counted tally is printed
#   HTTP_FUZZ_EXAMPLES (4000)      examples per property over real HTTP to `ferryman controller`,
#                                  5 properties (tests/integration/server/test_fuzz_http.py)
#   STRESS_INTEGRATION_RUNS (100)  runs of tests/integration/controller, each with its own
#                                  PYTHONHASHSEED (set and dict iteration orders, hence the order
#                                  in which informers deliver and workers pick keys, change per run)
#   STRESS_HYPOTHESIS_PROFILE (stress)  Hypothesis profile of tests/unit/domain/test_properties.py
# Each part prints its wall time; the first failure stops the suite.
set -euo pipefail

BIN=${BIN:-.venv/bin}
PYTEST=("$BIN/python" -m pytest -q -p no:cacheprovider)
export FERRYMAN_CRASH_RUNS=${FERRYMAN_CRASH_RUNS:-1000}
export FERRYMAN_CONFLICT_RUNS=${FERRYMAN_CONFLICT_RUNS:-10000}
export FERRYMAN_GIT_CRASH_RUNS=${FERRYMAN_GIT_CRASH_RUNS:-200}
FUZZ_EXAMPLES=${FUZZ_EXAMPLES:-25000}
HTTP_FUZZ_EXAMPLES=${HTTP_FUZZ_EXAMPLES:-4000}
INTEGRATION_RUNS=${STRESS_INTEGRATION_RUNS:-100}
HYPOTHESIS_PROFILE=${STRESS_HYPOTHESIS_PROFILE:-stress}

part() {
  local name=$1
  shift
  local started=$SECONDS
  echo "== $name"
  "$@"
  echo "== $name: passed in $((SECONDS - started))s"
}

part "crash points x${FERRYMAN_CRASH_RUNS}" "${PYTEST[@]}" tests/unit/controller/test_crash_points.py
part "conflict storm x${FERRYMAN_CONFLICT_RUNS}" "${PYTEST[@]}" tests/unit/controller/test_conflicts.py
part "crash points over real Git x${FERRYMAN_GIT_CRASH_RUNS}" \
  "${PYTEST[@]}" tests/integration/git/test_controller_crash_points.py
part "crash points in real processes: every checkpoint x {1,2,3}, SIGKILL and restart" \
  env FERRYMAN_CRASH_MATRIX="${FERRYMAN_CRASH_MATRIX:-full}" \
  "${PYTEST[@]}" tests/integration/processes/test_crash_points.py
part "webhook and approval fuzzing, 4 x ${FUZZ_EXAMPLES} examples (ASGI)" \
  env FERRYMAN_FUZZ_EXAMPLES="$FUZZ_EXAMPLES" "${PYTEST[@]}" tests/unit/server/test_fuzz.py
part "fuzzing over real HTTP, 5 x ${HTTP_FUZZ_EXAMPLES} examples" \
  env FERRYMAN_HTTP_FUZZ_EXAMPLES="$HTTP_FUZZ_EXAMPLES" "${PYTEST[@]}" \
  tests/integration/server/test_fuzz_http.py
part "domain properties (HYPOTHESIS_PROFILE=$HYPOTHESIS_PROFILE)" \
  env HYPOTHESIS_PROFILE="$HYPOTHESIS_PROFILE" "${PYTEST[@]}" tests/unit/domain/test_properties.py

integration() {
  local seed log
  log=$(mktemp)
  for seed in $(seq "$INTEGRATION_RUNS"); do
    if ! PYTHONHASHSEED=$seed "${PYTEST[@]}" -x tests/integration/controller >"$log" 2>&1; then
      cat "$log"
      echo "controller integration suite failed with PYTHONHASHSEED=$seed" >&2
      rm -f "$log"
      return 1
    fi
    echo "run $seed/$INTEGRATION_RUNS: $(tail -n 1 "$log")"
  done
  rm -f "$log"
}
part "controller integration suite x${INTEGRATION_RUNS}" integration
