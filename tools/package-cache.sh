#!/bin/bash
# The test bed's package caches, so that every test host (and the image builds) fetch a
# package once per machine, not once per host:
#   - Debian packages: Debian's apt-cacher-ng, port 3142;
#   - Python packages: proxpi (a caching mirror of the Python package index, from PyPI, in a
#     venv of its own: /var/lib/ntier-django/proxpi), port 3141. Registries' own cache headers are not relied on: proxpi keeps every file
#     it has served, and lists a project's files again after PROXPI_INDEX_TTL.
# The test images use them while they answer (host.containers.internal inside a container)
# and go to the registries directly otherwise (tools/build-image.sh).
#
#   tools/package-cache.sh start       # start both unless they answer already (no systemd needed)
#   tools/package-cache.sh stop        # stop the instances started here
#   tools/package-cache.sh url apt|pip # print the address for this machine; fail if down
#
# They listen on every address of this machine (the podman bridges' gateways change with
# each network). Caches: /var/cache/ntier-django/{apt,pip}; tools/clean-testbed.sh removes them.
set -euo pipefail
VENV=/var/lib/ntier-django/proxpi
APT_PORT=3142
PIP_PORT=3141
CONF=/etc/ntier-django/apt-cacher-ng
CACHE=/var/cache/ntier-django
LOGS=/var/log/ntier-django
APT_PID=/run/ntier-django-apt-cacher-ng.pid
PIP_PID=/run/ntier-django-proxpi.pid

answers() { timeout 2 bash -c ": < /dev/tcp/127.0.0.1/$1" 2>/dev/null; }
wait_for() {
  for _ in $(seq 1 100); do answers "$1" && return 0; sleep 0.1; done
  echo "$2 did not start (see $LOGS)" >&2; return 1
}

start_apt() {
  answers "$APT_PORT" && return 0
  command -v apt-cacher-ng >/dev/null || { echo "apt-cacher-ng is not installed" >&2; return 1; }
  install -d "$CONF" "$LOGS" "$CACHE/apt"
  # a plain caching proxy: no remapping of mirrors, the URL the host asked for is fetched
  cat > "$CONF/acng.conf" <<CONFIG
# written by ntier.django tools/package-cache.sh
CacheDir: $CACHE/apt
LogDir: $LOGS/apt-cacher-ng
SupportDir: /usr/lib/apt-cacher-ng
Port: $APT_PORT
PidFile: $APT_PID
ExThreshold: 4
CONFIG
  install -d "$LOGS/apt-cacher-ng"
  /usr/sbin/apt-cacher-ng -c "$CONF" ForeGround=0
  wait_for "$APT_PORT" apt-cacher-ng
}

start_pip() {
  answers "$PIP_PORT" && return 0
  install -d "$LOGS" "$CACHE/pip"
  if ! "$VENV/bin/python" -c 'import proxpi' 2>/dev/null; then
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'proxpi>=1.2,<2' > "$LOGS/proxpi-install.log" 2>&1 ||
      { cat "$LOGS/proxpi-install.log" >&2; return 1; }
  fi
  # the machine's CA bundle (it may include an egress proxy's CA), not the venv's certifi
  REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt PROXPI_CACHE_DIR=$CACHE/pip \
    FLASK_APP=proxpi.server setsid "$VENV/bin/flask" run --host 0.0.0.0 --port "$PIP_PORT" \
    > "$LOGS/proxpi.log" 2>&1 < /dev/null &
  echo $! > "$PIP_PID"
  wait_for "$PIP_PORT" proxpi
}

stop() {
  local pidfile
  for pidfile in "$APT_PID" "$PIP_PID"; do
    [ -f "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

case ${1:-} in
  start) start_apt; start_pip ;;
  stop) stop ;;
  url)
    case ${2:-} in
      apt) answers "$APT_PORT" && echo "http://127.0.0.1:$APT_PORT" ;;
      pip) answers "$PIP_PORT" && echo "http://127.0.0.1:$PIP_PORT/index/" ;;
      *) echo "usage: $0 url apt|pip" >&2; exit 2 ;;
    esac
    ;;
  *) echo "usage: $0 start|stop|url apt|pip" >&2; exit 2 ;;
esac
