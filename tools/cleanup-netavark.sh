#!/bin/bash
# netavark leaves its NETAVARK* iptables chains behind when the last podman network of ours
# is removed. Once no container and no network but podman's default remain, remove those
# chains and the rules that jump to them; otherwise do nothing.
set -euo pipefail
[ -z "$(podman ps -aq)" ] || exit 0
[ -z "$(podman network ls --format '{{.Name}}' | grep -vx podman)" ] || exit 0
command -v iptables >/dev/null || exit 0
for table in nat filter; do
  # rules in built-in chains that jump to a NETAVARK chain
  # (eval: the rules come from iptables itself and quote their comments)
  rules=$(iptables -t "$table" -S | grep -E '^-A [A-Z]+ .*-j NETAVARK' | sed 's/^-A/-D/' || true)
  while read -r rule; do
    [ -n "$rule" ] && eval "iptables -t $table $rule"
  done <<< "$rules"
  for chain in $(iptables -t "$table" -S | awk '$1 == "-N" && $2 ~ /^NETAVARK/ {print $2}'); do
    iptables -t "$table" -F "$chain"
  done
  for chain in $(iptables -t "$table" -S | awk '$1 == "-N" && $2 ~ /^NETAVARK/ {print $2}'); do
    iptables -t "$table" -X "$chain"
  done
done
