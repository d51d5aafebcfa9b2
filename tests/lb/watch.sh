#!/bin/bash
# Watch HAProxy on a test load balancer drain web nodes: the checks that a rolling switch
# or a leaving node drained a node first read what HAProxy itself did, not a task's name.
#
#   watch.sh start CONTAINER OUT   samples "show servers state" every 0.2 s inside the
#                                  container (podman exec; the sampler of haproxy_state.py),
#                                  in the background, for at most 15 minutes
#   watch.sh stop CONTAINER OUT    stops it; OUT then has a line "EPOCH BACKEND/SERVER" for
#                                  each sample that found a server drained through the API
#                                  (parsed by the haproxy_server module's own parser)
#
# A load balancer without HAProxy yet gives no line (the sampler finds no socket).
set -euo pipefail
action=$1 container=$2 out=$3
HERE=$(cd "$(dirname "$0")" && pwd)
flag=/run/ntier-test-lb-watch.stop
case $action in
  start)
    podman exec "$container" rm -f "$flag"
    rm -f "$out"
    python3 "$HERE/haproxy_state.py" sampler > "$out.sampler.py"
    podman exec -i "$container" python3 - "$flag" < "$out.sampler.py" > "$out.raw" 2>/dev/null &
    echo $! > "$out.pid"
    ;;
  stop)
    podman exec "$container" touch "$flag" || true
    pid=$(cat "$out.pid" 2>/dev/null || true)
    [ -z "$pid" ] || { wait "$pid" 2>/dev/null || timeout 10 tail --pid="$pid" -f /dev/null || kill "$pid" 2>/dev/null || true; }
    python3 "$HERE/haproxy_state.py" drains "$out.raw" > "$out"
    rm -f "$out.pid" "$out.raw" "$out.sampler.py"
    ;;
  *) echo "usage: $0 start|stop CONTAINER OUT" >&2; exit 2 ;;
esac
