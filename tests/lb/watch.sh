#!/bin/bash
# Watch HAProxy on a test load balancer drain web nodes: the checks that a rolling switch
# or a leaving node drained a node first read what HAProxy itself did, not a task's name.
#
#   watch.sh start CONTAINER OUT   samples "show servers state" every 0.2 s inside the
#                                  container (podman exec), in the background; each sample
#                                  that finds a server drained through the API adds a line
#                                  "EPOCH BACKEND/SERVER" to OUT (at most 15 minutes)
#   watch.sh stop CONTAINER OUT    stops it and waits for it
#
# A load balancer without HAProxy yet gives no line (socat fails quietly until it starts).
set -euo pipefail
action=$1 container=$2 out=$3
flag=/run/ntier-test-lb-watch.stop
case $action in
  start)
    podman exec "$container" rm -f "$flag"
    podman exec "$container" bash -c '
      end=$((SECONDS + 900))
      while [ ! -e '"$flag"' ] && [ $SECONDS -lt $end ]; do
        now=$(date +%s.%N)
        # srv_admin_state (field 7): bit 0x8 is "drain set from the API"
        echo "show servers state" | socat stdio UNIX-CONNECT:/run/haproxy/admin.sock 2>/dev/null \
          | awk -v t="$now" '"'"'$1 ~ /^[0-9]+$/ && NF > 7 && int($7 / 8) % 2 == 1 { print t, $2 "/" $4 }'"'"' || true
        sleep 0.2
      done' > "$out" 2>/dev/null &
    echo $! > "$out.pid"
    ;;
  stop)
    podman exec "$container" touch "$flag" || true
    pid=$(cat "$out.pid" 2>/dev/null || true)
    [ -z "$pid" ] || { wait "$pid" 2>/dev/null || timeout 10 tail --pid="$pid" -f /dev/null || kill "$pid" 2>/dev/null || true; }
    rm -f "$out.pid"
    ;;
  *) echo "usage: $0 start|stop CONTAINER OUT" >&2; exit 2 ;;
esac
