#!/bin/bash
# Remove what tools/setup-controller.sh built, so that the next tools/test.sh starts as on a
# fresh machine: the test images (bare and preloaded), the Debian package cache
# (apt-cacher-ng, stopped first), the Python package cache (proxpi, stopped first, and its
# venv), and the controller's venv.
# Installed Debian packages and /etc/containers/containers.conf stay.
#
#   tools/clean-testbed.sh            # all of the above
#   tools/clean-testbed.sh --keep-venv
#
# Test hosts still running keep their images: remove them first (molecule destroy, or
# tools/demo.sh down / benchmarks/<script> down); an image in use is reported, not forced.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
keep_venv=
[ "${1:-}" != --keep-venv ] || keep_venv=1

status=0
if command -v podman >/dev/null; then
  for image in $(podman images --format '{{.Repository}}:{{.Tag}}' |
                 grep -E '^localhost/ntier-debian(-preloaded)?:' || true); do
    if podman image rm "$image" >/dev/null 2>&1; then
      echo "removed image $image"
    else
      echo "kept image $image: a container still uses it" >&2; status=1
    fi
  done
  podman rm -f ntier-image-build-bookworm ntier-image-build-trixie >/dev/null 2>&1 || true
fi
"$TOP/tools/package-cache.sh" stop
rm -rf /var/cache/ntier-django/apt /var/cache/ntier-django/pip /var/lib/ntier-django/proxpi /var/lib/ntier-django/rootfs-*
echo "removed the package caches (/var/cache/ntier-django/apt and pip, proxpi's venv)"
if [ -z "$keep_venv" ]; then
  rm -rf "${NTIER_VENV:-$TOP/.venv}"
  echo "removed the venv"
fi
exit "$status"
