#!/bin/bash
# The test suite of ntier.django, as CI runs it (.ci/run calls this).
#
#   tools/test.sh                      # default suite: lint, unit tests, collection build,
#                                      #   bad input, Molecule scenarios (see DEFAULT_SCENARIOS)
#   NTIER_EXTENDED=1 tools/test.sh     # also the extended scenarios (see README)
#   NTIER_SCENARIOS="single modwsgi:trixie" tools/test.sh   # only these scenarios
#   NTIER_SCENARIOS="grow | deploy" tools/test.sh           # in two lanes side by side
#   NTIER_LANES=1 tools/test.sh        # every step one after the other (to time one alone)
#
# A scenario is NAME or NAME:SUITE (Debian suite of its hosts, default bookworm).
#
# Lanes: "|" splits a list into lanes that run side by side, each lane's steps one after
# the other. The checks (lint ... relay) are steps too: the default lanes place them (about
# as long each); a list without them gets them first in its last lane. Two lanes on this
# machine kind's two cores: a converge keeps the controller and its hosts about half busy
# (Ansible waits on each task's round trip), so a second lane's Molecule scenario uses
# what the first leaves idle. Scenarios never share hosts, networks or state directories.
#
# Sets the machine up first (step "setup", tools/setup-controller.sh: packages, podman, the
# package caches, the test images the scenarios use, venv). Each step's output goes to a
# log that is printed whole when the step ends; then every step's time; ends with one line
# "suite: N passed, N failed"; exits non-zero when anything failed.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
DEFAULT_SCENARIOS="bad-input relay grow | lint unit collection modwsgi:trixie deploy"
EXTENDED_SCENARIOS="single single:trixie split modwsgi backup backup:trixie backup-cluster:trixie | cluster wagtail:trixie replicas backup-cluster"
CHECKS="lint unit collection bad-input relay"
# phases run one after the other; the lanes of a phase side by side
PHASES=("${NTIER_SCENARIOS:-$DEFAULT_SCENARIOS}")
[ -n "${NTIER_SCENARIOS:-}" ] || [ -z "${NTIER_EXTENDED:-}" ] || PHASES+=("$EXTENDED_SCENARIOS")
is_check() { [[ " $CHECKS " == *" $1 "* ]]; }
# has_check "STEPS": true when one of the steps is a check
has_check() { local s; for s in $1; do is_check "$s" && return 0; done; return 1; }
SCENARIOS=$(for s in $(printf '%s ' "${PHASES[@]}" | tr '|' ' '); do is_check "$s" || echo "$s"; done)
# The images the scenarios start their hosts from: SUITE (bare) or SUITE-preloaded (the
# scenario's molecule.yml names localhost/ntier-debian-preloaded)
IMAGES=$(for s in $SCENARIOS; do
  name=${s%%:*}; suite=bookworm; case $s in *:*) suite=${s#*:};; esac
  if grep -q 'ntier-debian-preloaded' "molecule/$name/molecule.yml"; then echo "$suite-preloaded"; else echo "$suite"; fi
done | sort -u | tr '\n' ' ')

LOGS=$(mktemp -d /tmp/ntier-test.XXXXXX)
touch "$LOGS/results"
lane_pids=()
# stopped (Ctrl-C, CI's time limit): stop the lanes (each in a process group of its own),
# and show what the unfinished steps had written (their logs are printed only at the end)
stopped() {
  trap - INT TERM
  local pid f name
  for pid in "${lane_pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  for f in "$LOGS"/*.log; do
    [ -e "$f" ] || continue
    name=${f##*/}; name=${name%.log}
    # a finished step has its line in the results (and its log was printed)
    grep -q "^$name " "$LOGS/results" && continue
    echo "=== unfinished: $name"; tail -100 "$f"
  done
  rm -rf "$LOGS"
  exit 130
}
trap stopped INT TERM
trap 'rm -rf "$LOGS"' EXIT
# step NAME CMD...: runs it, its output in its log, printed whole when it ends; records
# "NAME passed|FAILED SECONDS" in the results file
step() {
  local name=$1; shift
  local start=$SECONDS status=passed
  echo "=== $name: started: $*" | flock "$LOGS/.out" cat
  "$@" > "$LOGS/$name.log" 2>&1 || status=FAILED
  { echo "=== $name: $*"; cat "$LOGS/$name.log"; echo "=== $name: $status in $((SECONDS - start)) s"; } | flock "$LOGS/.out" cat
  echo "$name $status $((SECONDS - start))" >> "$LOGS/results"
  [ "$status" = passed ]
}
run_step() {
  local s=$1 name suite
  case $s in
    lint) step lint ansible-lint;;
    unit) step unit python -m pytest -q -p no:cacheprovider tests/unit;;
    collection) step collection tools/check-collection.sh;;
    bad-input) step bad-input tests/bad_input.sh;;
    relay) step relay tests/relay/relay.sh;;
    *) name=${s%%:*}; suite=bookworm; case $s in *:*) suite=${s#*:};; esac
       step "molecule-$name-$suite" env NTIER_SUITE="$suite" molecule test -s "$name";;
  esac
}
lane() { local s; for s in "$@"; do run_step "$s"; done; }

# the package caches are stopped at the end if this run started them
cache_was_up=$(tools/package-cache.sh url apt 2>/dev/null || true)
if ! step setup env NTIER_IMAGES="$IMAGES" tools/setup-controller.sh; then
  echo "suite: 0 passed, 1 failed"; exit 1
fi
# shellcheck disable=SC1091
. .venv/bin/activate

first=1
for phase in "${PHASES[@]}"; do
  IFS='|' read -ra lanes <<< "$phase"
  steps=${phase//|/ }
  # lanes side by side must not share a scenario (its hosts, network and state are named
  # after it, whatever the suite)
  repeated=$(for s in $steps; do echo "${s%%:*}"; done | sort | uniq -d | tr '\n' ' ')
  if [ -n "$repeated" ] && [ "${NTIER_LANES:-2}" -gt 1 ] && [ "${#lanes[@]}" -gt 1 ]; then
    echo "scenarios in lanes side by side share hosts and state: $repeated- put them in one lane" >&2; exit 2
  fi
  # the checks first, in the last lane of the first phase, unless the lanes place them
  if [ -n "$first" ] && ! has_check "$steps"; then
    lanes[-1]="$CHECKS ${lanes[-1]}"
  fi
  first=
  if [ "${NTIER_LANES:-2}" -le 1 ]; then
    # one after the other, the lane with the checks first
    # shellcheck disable=SC2086
    lane ${lanes[-1]} ${lanes[@]:0:${#lanes[@]}-1}
  else
    lane_pids=()
    set -m   # each lane in a process group of its own (stopped() stops it whole)
    # shellcheck disable=SC2086
    for l in "${lanes[@]}"; do lane $l & lane_pids+=($!); done
    set +m
    wait "${lane_pids[@]}"
    lane_pids=()
  fi
done

tools/cleanup-netavark.sh || true
[ -n "$cache_was_up" ] || tools/package-cache.sh stop
passed=$(grep -c ' passed ' "$LOGS/results")
failed=$(grep -c ' FAILED ' "$LOGS/results")
# a failed step's log was printed whole when it ended, maybe far above; the lines that say
# why come again here, where a log cut to its end still shows them
for name in $(awk '$2 == "FAILED" { print $1 }' "$LOGS/results"); do
  echo "=== why $name failed (the lines that say so, from its log)"
  grep -E -A6 'fatal: |FAILED! |^E  |Error:|AssertionError|failed=[1-9]' "$LOGS/$name.log" | tail -n 60
done
echo "=== times (whole run: $SECONDS s; steps in lanes overlap)"
awk '{ printf "%-32s %s %5d s\n", $1, $2, $3 }' "$LOGS/results"
[ "$failed" -eq 0 ] || echo "failed steps: $(awk '$2 == "FAILED" { printf "%s ", $1 }' "$LOGS/results")"
echo "suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
