#!/bin/bash
# Prepare this machine (Debian 12, root) as the test controller: podman with the settings
# this machine kind needs, the package caches the test hosts share, the Debian test-host
# images, and a Python venv with Ansible, Molecule and testinfra. Idempotent: a second run
# only checks.
#
#   tools/setup-controller.sh            # the bare Debian 12 image only
#   NTIER_IMAGES="bookworm bookworm-preloaded trixie" tools/setup-controller.sh
#   NTIER_SUITES="bookworm trixie" ...   # the bare images of these suites
#
# tools/clean-testbed.sh undoes what this builds (images, caches, venv).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
export DEBIAN_FRONTEND=noninteractive
IMAGES=${NTIER_IMAGES:-${NTIER_SUITES:-bookworm}}

need=()
for p in debootstrap podman runc netavark aardvark-dns iptables python3-venv openssl curl apt-cacher-ng testssl.sh; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# --- podman: settings this machine kind needs (each learned from a failure) ----------
NOFILE=$(ulimit -Hn)
mkdir -p /etc/containers
conf=$(cat <<CONF
# written by ntier.django tools/setup-controller.sh
[containers]
# podman's defaults (nofile=1048576) need CAP_SYS_RESOURCE, which this machine lacks:
# containers may not exceed the hard limits of the machine.
default_ulimits = ["nofile=${NOFILE}:${NOFILE}", "nproc=32768:32768"]

[engine]
# crun refuses the hybrid cgroup layout of this machine; runc copes.
runtime = "runc"

[network]
# netavark + aardvark-dns: containers on one network find each other by name
network_backend = "netavark"
# networks created without --subnet (molecule's) get a /24 from this private pool
default_subnet_pools = [{"base" = "10.77.0.0/16", "size" = 24}]
CONF
)
if [ ! -f /etc/containers/containers.conf ] || [ "$(cat /etc/containers/containers.conf)" != "$conf" ]; then
  printf '%s\n' "$conf" > /etc/containers/containers.conf
fi

# --- Python tooling (in the background: it downloads while the images are built) ---
VENV=${NTIER_VENV:-$TOP/.venv}
venv_log=$(mktemp)
(
  if [ ! -x "$VENV/bin/molecule" ] || ! cmp -s "$TOP/requirements-dev.txt" "$VENV/.requirements"; then
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -r "$TOP/requirements-dev.txt"
    cp "$TOP/requirements-dev.txt" "$VENV/.requirements"
  fi
) > "$venv_log" 2>&1 &
venv_pid=$!

# --- the package caches (Debian: apt-cacher-ng; Python: proxpi), then the images ---
# The bare images are built side by side (each mostly waits on debootstrap's downloads and
# unpacking); a preloaded image starts from its bare one.
"$HERE/package-cache.sh" start
# the test key, made once before the builds that run side by side (build-image.sh makes it
# itself when run alone)
install -d -m700 /root/.ssh
[ -f /root/.ssh/ntier_test_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -C ntier-test -f /root/.ssh/ntier_test_ed25519
pids=()
for image in $IMAGES; do
  case $image in *-preloaded) ;; *) "$HERE/build-image.sh" "$image" & pids+=($!);; esac
done
for pid in "${pids[@]}"; do wait "$pid"; done
for image in $IMAGES; do
  case $image in *-preloaded) "$HERE/build-image.sh" "${image%-preloaded}" preloaded;; esac
done

wait "$venv_pid" || { cat "$venv_log"; rm -f "$venv_log"; echo "the venv could not be made" >&2; exit 1; }
rm -f "$venv_log"
version=$("$VENV/bin/ansible" --version)   # (not piped into head: a closed pipe fails it)
echo "${version%%$'\n'*}"
