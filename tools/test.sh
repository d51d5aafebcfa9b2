#!/bin/bash
# The test suite of ntier.django, as CI runs it (.ci/run calls this).
#
#   tools/test.sh                      # default suite: lint, unit tests, collection build,
#                                      #   bad input, Molecule scenarios (see DEFAULT_SCENARIOS)
#   NTIER_EXTENDED=1 tools/test.sh     # also the extended scenarios (see README)
#   NTIER_SCENARIOS="single modwsgi:trixie" tools/test.sh   # only these scenarios
#
# A scenario is NAME or NAME:SUITE (Debian suite of its hosts, default bookworm).
#
# Sets the machine up first (step "setup", tools/setup-controller.sh: packages, podman, the
# package caches, the test images the scenarios use, venv). Prints each step's time, then
# all of them; ends with one line "suite: N passed, N failed"; exits non-zero when anything
# failed.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
DEFAULT_SCENARIOS="grow modwsgi:trixie deploy"
EXTENDED_SCENARIOS="single single:trixie split cluster modwsgi wagtail:trixie"
SCENARIOS=${NTIER_SCENARIOS:-$DEFAULT_SCENARIOS${NTIER_EXTENDED:+ $EXTENDED_SCENARIOS}}
# The images the scenarios start their hosts from: SUITE (bare) or SUITE-preloaded (the
# scenario's molecule.yml names localhost/ntier-debian-preloaded)
IMAGES=$(for s in $SCENARIOS; do
  name=${s%%:*}; suite=bookworm; case $s in *:*) suite=${s#*:};; esac
  if grep -q 'ntier-debian-preloaded' "molecule/$name/molecule.yml"; then echo "$suite-preloaded"; else echo "$suite"; fi
done | sort -u | tr '\n' ' ')

passed=0 failed=0 failures=() times=()
step() {
  local name=$1; shift
  echo "=== $name: $*"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: passed in $((SECONDS - start)) s"
    times+=("$(printf '%-32s passed %5d s' "$name" $((SECONDS - start)))")
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED after $((SECONDS - start)) s"
    times+=("$(printf '%-32s FAILED %5d s' "$name" $((SECONDS - start)))")
  fi
}

# the package caches are stopped at the end if this run started them
cache_was_up=$(tools/package-cache.sh url apt 2>/dev/null || true)
step setup env NTIER_IMAGES="$IMAGES" tools/setup-controller.sh
[ "$failed" -eq 0 ] || { echo "suite: 0 passed, 1 failed"; exit 1; }
# shellcheck disable=SC1091
. .venv/bin/activate

step lint ansible-lint
step unit python -m pytest -q -p no:cacheprovider tests/unit
step collection tools/check-collection.sh
step bad-input tests/bad_input.sh
step relay tests/relay/relay.sh
for s in $SCENARIOS; do
  name=${s%%:*}; suite=bookworm; case $s in *:*) suite=${s#*:};; esac
  step "molecule-$name-$suite" env NTIER_SUITE="$suite" molecule test -s "$name"
done

tools/cleanup-netavark.sh || true
[ -n "$cache_was_up" ] || tools/package-cache.sh stop
echo "=== times (whole run: $SECONDS s)"
printf '%s\n' "${times[@]}"
[ ${#failures[@]} -eq 0 ] || echo "failed steps: ${failures[*]}"
echo "suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
