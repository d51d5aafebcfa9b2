#!/bin/bash
# The warm re-converge (a run of site.yml with nothing to change) of the single topology
# at two versions of the collection, side by side on one host of its own, with Ansible's
# ping round between them: what a change that touches every converge costs or saves.
#
#   benchmarks/ab.sh BASE          # a git commit against the working tree
#   KEEP=1 benchmarks/ab.sh BASE   # leave the host running; benchmarks/ab.sh down removes it
#
# The host (ntier-bab) is deployed with the working tree; then 3 rounds of: ping, BASE, the
# working tree (each run
# must report changed=0, or the figures are not of a no-change run and the script fails).
# Results: benchmarks/results/ab.md and ab.csv (medians of the 3 rounds).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/benchmarks/results
export NTIER_HOST=ntier-bab
STATE=$TOP/.cache/$NTIER_HOST
WORK=$TOP/.cache/ab
cd "$TOP"
[ "${1:-}" = down ] && { tools/demo.sh down; exit 0; }
[ -n "${1:-}" ] || { echo "usage: $0 BASE | down" >&2; exit 2; }
BASE=$(git rev-parse --short "$1")
mkdir -p "$OUT"
# a copy of the collection at BASE (with its own collections/ link and ansible.cfg)
rm -rf "$WORK"; mkdir -p "$WORK/base"
git archive "$BASE" | tar -x -C "$WORK/base"
[ -n "${KEEP:-}" ] || trap 'tools/demo.sh down >/dev/null' EXIT

tools/demo.sh down >/dev/null
tools/demo.sh > "$OUT/ab-deploy.log" 2>&1
INV=$STATE/inventory
# shellcheck disable=SC1091
. .venv/bin/activate

timeit() { local s; s=$(date +%s.%N); "$@" >/dev/null || return 1; awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}'; }
noop_run() {  # noop_run DIR: site.yml from that checkout; fails unless changed=0
  local log; log=$(cd "$1" && ansible-playbook site.yml -i "$INV" 2>&1) || { echo "$log" | tail -30 >&2; return 1; }
  grep -Eq "^$NTIER_HOST +: ok=[0-9]+ +changed=0 " <<<"$log" || { echo "$log" | grep -B3 '^changed:' | tail -30 >&2; return 1; }
}
ping=() base=() new=()
for _ in 1 2 3; do
  ping+=("$(timeit ansible all -i "$INV" -m ansible.builtin.ping)")
  base+=("$(timeit noop_run "$WORK/base")")
  new+=("$(timeit noop_run "$TOP")")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
mp=$(median "${ping[@]}") mb=$(median "${base[@]}") mn=$(median "${new[@]}")
{
  echo "# Warm re-converge, single topology: $BASE against the working tree"
  echo
  echo "| run | median (s) | / ping round | rounds (s) |"
  echo "|---|---|---|---|"
  echo "| ping round | $mp | 1.0x | ${ping[*]} |"
  awk -v n="base $BASE" -v m="$mb" -v p="$mp" -v r="${base[*]}" 'BEGIN {printf "| %s | %s | %.1fx | %s |\n", n, m, m / p, r}'
  awk -v n="working tree" -v m="$mn" -v p="$mp" -v r="${new[*]}" 'BEGIN {printf "| %s | %s | %.1fx | %s |\n", n, m, m / p, r}'
  echo
  awk -v b="$mb" -v n="$mn" 'BEGIN {printf "new / base: %.3f\n", n / b}'
} | tee "$OUT/ab.md"
printf 'run,median_s\nping,%s\nbase,%s\nnew,%s\n' "$mp" "$mb" "$mn" > "$OUT/ab.csv"
