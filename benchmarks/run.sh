#!/bin/bash
# Run the benchmarks on this machine against a test host of the project's own, and write
# results (Markdown, CSV, PNG) under benchmarks/results/ (ignored by git). Bounded in time
# (about 5 minutes after setup) and in traffic: wrk targets only the benchmark host.
#
#   benchmarks/run.sh            # converge times + served stack, then remove the host
#   KEEP=1 benchmarks/run.sh     # leave the host running afterwards
#   benchmarks/run.sh down       # remove a kept host
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/benchmarks/results
export NTIER_HOST=ntier-bench
STATE=$TOP/.cache/$NTIER_HOST
cd "$TOP"
mkdir -p "$OUT"
[ "${1:-}" = down ] && { tools/demo.sh down; exit 0; }
command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }
[ -n "${KEEP:-}" ] || trap 'tools/demo.sh down >/dev/null' EXIT

# cold converge: a new host, the single topology, from nothing
tools/demo.sh down >/dev/null
tools/demo.sh > "$OUT/cold-converge.log" 2>&1
# shellcheck disable=SC1091
. .venv/bin/activate
IP=$(tools/podman-ip.sh "$NTIER_HOST")
cold=$(awk '{print $3}' "$STATE/converge-time")

# warm re-converge (nothing to change) and Ansible's own round trip, side by side, 3 rounds
timeit() { local s; s=$(date +%s.%N); "$@" >/dev/null; awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}'; }
warm=() ping=()
for _ in 1 2 3; do
  ping+=("$(timeit ansible all -i "$STATE/inventory" -m ansible.builtin.ping)")
  warm+=("$(timeit ansible-playbook site.yml -i "$STATE/inventory")")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
mw=$(median "${warm[@]}") mp=$(median "${ping[@]}")
changed=$(ansible-playbook site.yml -i "$STATE/inventory" | awk '/changed=/{for(i=1;i<=NF;i++) if ($i ~ /^changed=/) print substr($i, 9)}')
{
  echo "# Converge time (single topology, 1 host)"
  echo
  echo "| measure | seconds |"
  echo "|---|---|"
  echo "| cold converge (new host) | $cold |"
  echo "| warm re-converge, median of 3 (${warm[*]}) | $mw |"
  echo "| ansible -m ping round, median of 3 (${ping[*]}) | $mp |"
  echo "| warm re-converge / ping round | $(awk -v a="$mw" -v b="$mp" 'BEGIN {printf "%.1fx", a / b}') |"
  echo "| changed tasks in a further re-converge | $changed |"
  echo
  echo "Growth with the host count (1, 3, 5 hosts): benchmarks/growth.sh."
} > "$OUT/converge.md"
printf 'measure,seconds\ncold,%s\nwarm_median,%s\nping_median,%s\n' "$cold" "$mw" "$mp" > "$OUT/converge.csv"
cat "$OUT/converge.md"

python benchmarks/served.py --topology single --front "$IP" --container "$NTIER_HOST" \
  --server-name demo.example.test --project demo --out "$OUT"
echo "results in $OUT"
